import { execFileSync } from 'node:child_process';
import { closeSync } from 'node:fs';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { forgetNeighbourRequest } from '../../dist/rtnl/neighbours.js';
import { ipJson, uniqueName } from '../helpers.mjs';

/** A file of the namespace as `ip netns exec` + cat reads it. */
function catIn(ns, file) {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'cat', file], { encoding: 'utf8' }).trim();
}

describe('RtnlConnection.chain', () => {
  const host = NetNamespace.host();
  let ns;
  let hostEnd;
  // Descriptors the requests name, closed once they have settled.
  let held;
  beforeEach(async () => {
    held = [];
    ns = await NetNamespace.create(uniqueName('ch'));
    hostEnd = uniqueName('vc').slice(0, 15);
  });
  afterEach(async () => {
    for (const fd of held) closeSync(fd);
    await host.links.delete(hostEnd).catch(() => undefined);
    await ns.delete();
  });

  async function vethRequest() {
    return host.links.addRequest({ kind: 'veth', name: hostEnd, up: true, peer: { name: 'eth0', netns: ns } }, held);
  }

  it('makes a veth, then in the same job writes a sysctl and configures the peer by the index the kernel gives the first link of a namespace', async () => {
    const conn = await host.connection();
    const results = await conn.chain(
      [await vethRequest()],
      [
        ns.sysctlStage('net/ipv6/conf/eth0/disable_ipv6', 1, held),
        { connection: await ns.connection(), requests: [await ns.links.changeRequest(2, { up: true }, held), ns.addresses.addRequest(2, '10.77.0.2/24')] },
        { connection: conn, requests: [await host.links.changeRequest(hostEnd, { alias: 'chained' }, held)] },
      ],
    );
    expect(results.map((stage) => stage.map((r) => r.ok))).to.deep.equal([[true], [true], [true, true], [true]]);
    const [eth0] = ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], ns.name);
    expect(eth0.ifindex).to.equal(2);
    expect(eth0.addr_info.map((a) => a.local)).to.deep.equal(['10.77.0.2']);
    expect(catIn(ns, '/proc/sys/net/ipv6/conf/eth0/disable_ipv6')).to.equal('1');
    expect(ipJson(['link', 'show', 'dev', hostEnd])[0].ifalias).to.equal('chained');
  });

  it('sends no stage after a request that failed: those report ECANCELED and change nothing', async () => {
    await host.links.add({ kind: 'bridge', name: hostEnd }); // the veth's name is taken
    const conn = await host.connection();
    const [[created], [up]] = await conn.chain([await vethRequest()], [{ connection: await ns.connection(), requests: [await ns.links.changeRequest('lo', { up: true }, held)] }]);
    expect(created.ok).to.equal(false);
    expect(created.error.code).to.equal('EEXIST');
    expect(up.ok).to.equal(false);
    expect(up.error.code).to.equal('ECANCELED');
    expect(ipJson(['link', 'show', 'dev', 'lo'], ns.name)[0].operstate).to.equal('DOWN');
    expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.deep.equal(['lo']);
  });

  it('chains made together share one job; one whose namespace was closed meanwhile fails alone', async () => {
    const other = await NetNamespace.create(uniqueName('ch'));
    try {
      const conn = await host.connection();
      const good = conn.chain([await vethRequest()], [{ connection: await ns.connection(), requests: [await ns.links.changeRequest('lo', { up: true }, held)] }]);
      const lost = conn
        .chain([await host.links.getRequest('lo')], [{ connection: await other.connection(), requests: [await other.links.changeRequest('lo', { up: true }, held)] }])
        .then(() => undefined, (e) => e);
      other.close(); // before the job is sent
      const [[created], [up]] = await good;
      expect([created.ok, up.ok]).to.deep.equal([true, true]);
      const error = await lost;
      expect(error?.code).to.equal('NAMESPACE_CLOSED');
    } finally {
      await other.delete();
    }
  });

  it('a request that finds nothing to remove, marked so, counts as done and lets the stages after it go', async () => {
    const conn = await host.connection();
    const nothing = forgetNeighbourRequest(host, 1, '192.0.2.77'); // no such entry on lo
    const [[forgotten], [up]] = await conn.chain([nothing], [{ connection: await ns.connection(), requests: [await ns.links.changeRequest('lo', { up: true }, held)] }]);
    expect([forgotten.ok, up.ok]).to.deep.equal([true, true]);
    expect(ipJson(['link', 'show', 'dev', 'lo'], ns.name)[0].flags).to.include('UP');
  });

  it('a request that finds its object there already, marked so, counts as done and lets the stages after it go; unmarked, it stops the chain', async () => {
    const conn = await ns.connection();
    await ns.links.add({ kind: 'bridge', name: 'd0', up: true });
    await ns.addresses.add('d0', '192.0.2.1/24');
    await ns.routes.add({ dst: 'default', gateway: '192.0.2.254' });
    const route = await ns.routes.addRequest({ dst: 'default', gateway: '192.0.2.253' }); // a default route exists
    const bridge = async (name) => [await ns.links.addRequest({ kind: 'bridge', name }, held)];
    const [[unmarked], [notSent]] = await conn.chain([route], [{ connection: conn, requests: await bridge('d1') }]);
    expect(unmarked.ok).to.equal(false);
    expect(unmarked.error.code).to.equal('EEXIST');
    expect(notSent.error.code).to.equal('ECANCELED');
    const [[marked], [made]] = await conn.chain([{ ...route, existsIsDone: true }], [{ connection: conn, requests: await bridge('d2') }]);
    expect([marked.ok, made.ok]).to.deep.equal([true, true]);
    const names = ipJson(['link'], ns.name).map((link) => link.ifname);
    expect(names).to.include('d2');
    expect(names).not.to.include('d1');
    // The route that was there stays, alone.
    expect(ipJson(['route', 'show', 'default'], ns.name).map((r) => r.gateway)).to.deep.equal(['192.0.2.254']);
  });
});
