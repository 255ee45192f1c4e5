import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { expectReject, ipJson, uniqueName } from '../helpers.mjs';

describe('ns.routes', () => {
  let ns;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('rt'));
    await ns.links.add({ kind: 'bridge', name: 'eth0', up: true });
    await ns.links.add({ kind: 'bridge', name: 'eth1', up: true });
    await ns.addresses.add('eth0', '10.60.0.2/24');
    await ns.addresses.add('eth1', '10.61.0.2/24');
    await ns.addresses.add('eth0', 'fd00:60::2/64', { nodad: true });
  });
  afterEach(async () => {
    await ns.delete();
  });

  const ipRoutes = (args = []) => ipJson(['route', 'show', ...args], ns.name);
  const ip6Routes = (args = []) => ipJson(['-6', 'route', 'show', ...args], ns.name);

  it('adds a default route via a gateway and a prefix route on a device', async () => {
    await ns.routes.add({ dst: 'default', gateway: '10.60.0.1' });
    await ns.routes.add({ dst: '192.168.50.0/24', dev: 'eth1', metric: 20, src: '10.61.0.2' });
    const routes = ipRoutes();
    expect(routes.find((r) => r.dst === 'default')).to.include({ gateway: '10.60.0.1', dev: 'eth0' });
    expect(routes.find((r) => r.dst === '192.168.50.0/24')).to.include({
      dev: 'eth1',
      metric: 20,
      scope: 'link',
      prefsrc: '10.61.0.2',
    });
  });

  it('adds routes in another table and with an explicit scope', async () => {
    await ns.routes.add({ dst: '172.30.0.0/16', gateway: '10.60.0.1', table: 100 });
    await ns.routes.add({ dst: '10.62.0.9/32', dev: 'eth0', scope: 'host' });
    expect(ipRoutes(['table', '100']).find((r) => r.dst === '172.30.0.0/16')).to.include({ gateway: '10.60.0.1', dev: 'eth0' });
    expect(ipRoutes().find((r) => r.dst === '10.62.0.9')).to.include({ scope: 'host' });
    expect(await ns.routes.list({ table: 100 })).to.deep.equal([
      { dst: '172.30.0.0/16', family: 4, gateway: '10.60.0.1', dev: 'eth0', table: 100, scope: 'universe', type: 'unicast' },
    ]);
  });

  it('replaces a route in place and deletes it', async () => {
    await ns.routes.add({ dst: '172.31.0.0/16', gateway: '10.60.0.1' });
    await ns.routes.replace({ dst: '172.31.0.0/16', gateway: '10.61.0.1' });
    const matching = ipRoutes().filter((r) => r.dst === '172.31.0.0/16');
    expect(matching).to.have.length(1);
    expect(matching[0]).to.include({ gateway: '10.61.0.1', dev: 'eth1' });
    await ns.routes.delete({ dst: '172.31.0.0/16' });
    expect(ipRoutes().filter((r) => r.dst === '172.31.0.0/16')).to.deep.equal([]);
    await expectReject(ns.routes.delete({ dst: '172.31.0.0/16' }), 'NetlinkError', 'ESRCH');
  });

  it('handles IPv6 default and prefix routes', async () => {
    await ns.routes.add({ dst: 'default', gateway: 'fd00:60::1' });
    await ns.routes.add({ dst: 'fd00:99::/48', dev: 'eth0', metric: 512 });
    const routes = ip6Routes();
    expect(routes.find((r) => r.dst === 'default')).to.include({ gateway: 'fd00:60::1', dev: 'eth0' });
    expect(routes.find((r) => r.dst === 'fd00:99::/48')).to.include({ dev: 'eth0', metric: 512 });
    const ours = await ns.routes.list({ family: 6 });
    expect(ours.find((r) => r.dst === 'default')).to.include({ gateway: 'fd00:60::1', dev: 'eth0', family: 6 });
    await ns.routes.delete({ dst: 'fd00:99::/48', dev: 'eth0' });
    expect(ip6Routes().find((r) => r.dst === 'fd00:99::/48')).to.equal(undefined);
  });

  it('lists the main table as ip does, and filters by device', async () => {
    await ns.routes.add({ dst: 'default', gateway: '10.60.0.1', metric: 100 });
    await ns.routes.add({ dst: '192.168.51.0/24', dev: 'eth1' });
    const ours = (await ns.routes.list({ family: 4 })).map((r) => `${r.dst} ${r.gateway ?? '-'} ${r.dev}`).sort();
    const theirs = ipRoutes()
      .map((r) => `${r.dst === 'default' || r.dst.includes('/') ? r.dst : `${r.dst}/32`} ${r.gateway ?? '-'} ${r.dev}`)
      .sort();
    expect(ours).to.deep.equal(theirs);
    const onEth1 = await ns.routes.list({ family: 4, dev: 'eth1' });
    expect(onEth1.map((r) => r.dst).sort()).to.deep.equal(['10.61.0.0/24', '192.168.51.0/24']);
  });

  it('reports kernel refusals: unreachable gateway, duplicate route', async () => {
    await expectReject(ns.routes.add({ dst: '172.29.0.0/16', gateway: '203.0.113.1' }), 'NetlinkError', 'ENETUNREACH');
    await ns.routes.add({ dst: '172.28.0.0/16', gateway: '10.60.0.1' });
    await expectReject(ns.routes.add({ dst: '172.28.0.0/16', gateway: '10.60.0.1' }), 'NetlinkError', 'EEXIST');
  });

  it('refuses malformed routes before touching the kernel', async () => {
    const before = ipRoutes();
    const bad = [
      { dst: '10.70.0.1/24', dev: 'eth0' }, // host bits set
      { dst: '10.70.0.0/24', gateway: 'fd00::1' }, // mixed families
      { dst: 'default' }, // nowhere to go
      { dst: 'nowhere', dev: 'eth0' },
      { dst: '10.70.0.0/24', dev: 'eth0', scope: 'galaxy' },
      { dst: '10.70.0.0/24', dev: 'eth0', metric: -1 },
      { dst: '10.70.0.0/24', dev: 'bad name' },
    ];
    for (const route of bad) await expectReject(ns.routes.add(route), 'NsnetError', 'INVALID_ARGUMENT');
    expect(ipRoutes()).to.deep.equal(before);
  });
});
