// `nsnet monitor`'s lines: one per event, in ip monitor's words, naming
// what is there and leaving out what is not.
import { expect } from 'chai';

import { eventLine } from '../../dist/cli/event-line.js';

describe('nsnet monitor lines', () => {
  it('words each kind of event, new and deleted', () => {
    const link = { type: 'link', action: 'new', index: 2, name: 'br9', kind: 'bridge', mtu: 1500, mac: '02:00:00:00:00:01', up: true, carrier: false, operState: 'unknown' };
    expect(eventLine(link)).to.equal('link new 2: br9 kind bridge mtu 1500 mac 02:00:00:00:00:01 up state unknown');
    expect(eventLine({ ...link, action: 'del', up: false, master: 4 })).to.equal('link deleted 2: br9 kind bridge mtu 1500 mac 02:00:00:00:00:01 master 4 state unknown');
    expect(eventLine({ type: 'address', action: 'del', dev: 'br9', index: 2, address: '10.9.0.1', prefixLength: 24, family: 4, cidr: '10.9.0.1/24' }))
      .to.equal('address deleted 10.9.0.1/24 dev br9');
    expect(eventLine({ type: 'route', action: 'new', routeType: 'unicast', dst: '10.6.0.0/24', family: 4, gateway: '10.5.0.1', dev: 'a0', table: 254, scope: 'universe' }))
      .to.equal('route new 10.6.0.0/24 via 10.5.0.1 dev a0 table 254 scope universe');
    expect(eventLine({ type: 'route', action: 'new', routeType: 'local', dst: '10.9.0.1/32', family: 4, dev: 'br9', table: 255, scope: 'host', src: '10.9.0.1' }))
      .to.equal('route new local 10.9.0.1/32 dev br9 table 255 scope host src 10.9.0.1');
    expect(eventLine({ type: 'neighbour', action: 'new', family: 6, dev: 'br0', address: 'fd00::9', mac: '02:00:00:00:00:0a', state: 'stale', router: true }))
      .to.equal('neighbour new fd00::9 dev br0 lladdr 02:00:00:00:00:0a router state stale');
    expect(eventLine({ type: 'neighbour', action: 'del', family: 4, dev: 'br0', address: '10.0.0.9', state: 'failed' }))
      .to.equal('neighbour deleted 10.0.0.9 dev br0 state failed');
    expect(eventLine({ type: 'neighbour', action: 'new', family: 'bridge', dev: 'vx0', mac: '00:00:00:00:00:00', self: true, dst: '10.0.0.2', permanent: true, state: 'permanent' }))
      .to.equal('neighbour new fdb 00:00:00:00:00:00 dev vx0 dst 10.0.0.2 self state permanent');
    expect(eventLine({ type: 'overrun' })).to.match(/^overrun: .*list again/);
  });
});
