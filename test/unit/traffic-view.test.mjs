// What `nsnet stats` prints: Docker's size units, rates between two samples,
// and the rows of a container on several networks, of one that joined
// another's namespace, and of one in host mode.
import { expect } from 'chai';

import { containerTraffic, trafficRows } from '../../dist/cli/traffic.js';
import { humanBytes, humanRate } from '../../dist/cli/units.js';

const counters = (rxBytes, txBytes) => ({ rxBytes, txBytes, rxPackets: 1, txPackets: 1, rxErrors: 0, txErrors: 0, rxDropped: 0, txDropped: 0, multicast: 0 });
const netns = { path: '/run/netns/web', inode: 4026532000 };
const targets = [
  { id: 'web', mode: 'network', netns, interfaces: [{ ifname: 'eth0', network: 'front', endpoint: 'e1-eth0' }, { ifname: 'eth1', network: 'back', endpoint: 'e1-eth1' }] },
  { id: 'side', mode: 'container', joined: 'web', netns, interfaces: [{ ifname: 'eth0', network: 'front', endpoint: 'e1-eth0' }] },
  { id: 'tool', mode: 'host', interfaces: [] },
  { id: 'quiet', mode: 'none', netns: { path: '/run/netns/quiet', inode: 4026532001 }, interfaces: [] },
];

function sample(at, web, endpoint = 'e1') {
  const ifaces = (list) => list.map(([ifname, network, rx, tx]) => ({ ifname, network, endpoint: `${endpoint}-${ifname}`, stats: counters(rx, tx) }));
  return {
    at,
    counters: new Map([
      ['web', ifaces(web)],
      ['side', ifaces(web.slice(0, 1))],
      ['tool', []],
      ['quiet', []],
    ]),
  };
}

describe('nsnet stats output', () => {
  it('prints sizes as Docker does: decimal units, three significant digits', () => {
    const cases = {
      0: '0B',
      648: '648B',
      999: '999B',
      1000: '1kB',
      1234: '1.23kB',
      12345: '12.3kB',
      999499: '999kB',
      1e6: '1MB',
      45.6e6: '45.6MB',
      1.5e9: '1.5GB',
      2e12: '2TB',
      [2 ** 53]: '9.01PB',
    };
    for (const [bytes, text] of Object.entries(cases)) expect(humanBytes(Number(bytes)), bytes).to.equal(text);
    // Where Docker's %.3g prints 1e+03B, the next unit.
    expect(humanBytes(999.7)).to.equal('1kB');
    expect(humanBytes(999_999)).to.equal('1MB');
    expect(humanRate(1500)).to.equal('1.5kB/s');
    expect(humanRate(null)).to.equal('-');
  });

  it('gives rates over the interval between two samples, none for the first', () => {
    const first = sample(1000, [['eth0', 'front', 1000, 500], ['eth1', 'back', 0, 0]]);
    const second = sample(3000, [['eth0', 'front', 5000, 2500], ['eth1', 'back', 600, 0]]);
    const [web] = containerTraffic(targets, first);
    expect(web).to.include({ rxBytes: 1000, txBytes: 500, rxRate: null, txRate: null });
    const [later] = containerTraffic(targets, second, first);
    expect(later).to.include({ rxBytes: 5600, txBytes: 2500, rxRate: 2300, txRate: 1000 });
    expect(later.networks).to.deep.equal(['front', 'back']);
    expect(later.interfaces.map((i) => [i.ifname, i.rxRate, i.txRate])).to.deep.equal([['eth0', 2000, 1000], ['eth1', 300, 0]]);
  });

  it('gives no rate for counters that went back (an interface made anew)', () => {
    const first = sample(0, [['eth0', 'front', 9000, 9000], ['eth1', 'back', 0, 0]]);
    const second = sample(1000, [['eth0', 'front', 100, 100], ['eth1', 'back', 50, 0]]);
    const [web] = containerTraffic(targets, second, first);
    expect(web.interfaces[0]).to.include({ rxRate: null, txRate: null });
    expect(web).to.include({ rxRate: null, txRate: null });
  });

  it('gives no rate for an interface of the same name of a container made anew, though its counters are higher', () => {
    const first = sample(0, [['eth0', 'front', 100, 100], ['eth1', 'back', 0, 0]]);
    const second = sample(1000, [['eth0', 'front', 5000, 5000], ['eth1', 'back', 50, 0]], 'e2');
    const [web] = containerTraffic(targets, second, first);
    expect(web.interfaces.map((i) => [i.rxRate, i.txRate])).to.deep.equal([[null, null], [null, null]]);
    expect(web).to.include({ rxBytes: 5050, rxRate: null, txRate: null });
  });

  it('leaves out a container whose namespace went away', () => {
    const gone = sample(0, [['eth0', 'front', 1, 1]]);
    gone.counters.delete('web');
    expect(containerTraffic(targets, gone).map((c) => c.id)).to.deep.equal(['side', 'tool', 'quiet']);
  });

  it('shows a row per interface under a container on several networks, a joiner with its namespace, host mode without figures', () => {
    const first = sample(0, [['eth0', 'front', 1000, 2000], ['eth1', 'back', 1_500_000, 0]]);
    const second = sample(1000, [['eth0', 'front', 2000, 2000], ['eth1', 'back', 1_500_000, 0]]);
    const entries = containerTraffic(targets, second, first);
    expect(entries.find((c) => c.id === 'tool')).to.include({ rxBytes: null, txBytes: null, rxRate: null });
    expect(entries.find((c) => c.id === 'side')).to.include({ joined: 'web', rxBytes: 2000 });
    expect(trafficRows(entries)).to.deep.equal([
      ['web', 'front,back', '1.5MB / 2kB', '1kB/s', '0B/s'],
      ['  eth0', 'front', '2kB / 2kB', '1kB/s', '0B/s'],
      ['  eth1', 'back', '1.5MB / 0B', '0B/s', '0B/s'],
      ['side', 'container:web', '2kB / 2kB', '1kB/s', '0B/s'],
      ['tool', 'host', '-', '-', '-'],
      ['quiet', 'none', '0B / 0B', '0B/s', '0B/s'],
    ]);
  });
});
