// The overlay dataplane on simulated hosts (test/hosts.mjs), without a store:
// on each host a bridge network of one subnet and gateway with a VXLAN port,
// containers on each, and the other hosts' containers programmed with
// applyRemotes. iproute2 (`ip -j neigh`, `bridge -j fdb`, `ip -d -j link`)
// is the oracle of what the kernel holds; TCP between containers of two hosts
// is the proof that the tunnel carries it.
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { createHosts } from '../hosts.mjs';
import { applyOn, execIn, serveTcp, setUpHost, tcpFrom, tearDownHost } from '../overlay-steps.mjs';

const REMOTES_BATCH = fileURLToPath(new URL('../workers/remotes-batch.mjs', import.meta.url));
const GATEWAY = '10.214.0.1';
const VNI = 4242;
const ZERO_MAC = '00:00:00:00:00:00';

/** In a host's worker: listRemotes(vxlan). */
async function listOn(nsnet, { vxlan }) {
  const { listRemotes } = require('../../dist/network/overlay-dataplane.js');
  return listRemotes(vxlan);
}

/** The container setUpHost makes at `ip`. */
const containerAt = (ip) => `c-${ip.replaceAll('.', '-')}`;
const byIp = (a, b) => a.ipv4.localeCompare(b.ipv4, 'en', { numeric: true });

describe('overlay dataplane on simulated hosts', function () {
  this.timeout(120000);
  let hosts;
  let a;
  let b;
  let c;
  const network = 'ovnet';
  const bridge = 'nsbr-ov';
  const vxlan = 'nsvx-ov';
  // Each host's containers, as the others must know them.
  const endpoints = {};
  const ipsOf = { hostA: ['10.214.0.10', '10.214.0.11'], hostB: ['10.214.0.20'], hostC: ['10.214.0.30'] };

  before(async function () {
    hosts = await createHosts(3);
    [a, b, c] = hosts.list;
    for (const host of hosts.list) {
      endpoints[host.name] = await host.run(setUpHost, { network, bridge, vxlan, vni: VNI, underlay: host.address, ips: ipsOf[host.name] });
    }
    for (const host of hosts.list) {
      const others = hosts.list.filter((other) => other !== host).flatMap((other) => endpoints[other.name]);
      await host.run(applyOn, { vxlan, change: { add: others, remove: [] } });
    }
  });

  after(async function () {
    await hosts?.close();
  });

  it('makes the VXLAN device as asked: no learning, proxy, local, dstport, MTU, on the bridge, up; no flood entry', async () => {
    for (const host of hosts.list) {
      const [link] = await host.json(['ip', '-d', '-j', 'link', 'show', 'dev', vxlan]);
      expect(link.linkinfo.info_kind).to.equal('vxlan');
      expect(link.linkinfo.info_data).to.include({ id: VNI, local: host.address, port: 4789, learning: false, proxy: true });
      expect(link.mtu).to.equal(1450);
      expect(link.master).to.equal(bridge);
      expect(link.operstate).to.not.equal('DOWN');
      const [bridgeLink] = await host.json(['ip', '-j', 'link', 'show', 'dev', bridge]);
      expect(bridgeLink.mtu).to.equal(1450);
      const fdb = await host.json(['bridge', '-j', 'fdb', 'show', 'dev', vxlan]);
      expect(fdb.filter((entry) => entry.mac === ZERO_MAC)).to.deep.equal([]);
    }
  });

  it('finds the underlay address the kernel picks to reach a store, and its device MTU', async () => {
    const found = await a.run(
      async (nsnet, { service }) => {
        const { resolveUnderlay, underlayMtu } = require('../../dist/network/overlay-underlay.js');
        const underlay = await resolveUnderlay(`http://${service}:2379`);
        let code;
        await underlayMtu('10.99.99.99').catch((error) => (code = error.code));
        return { underlay, mtu: await underlayMtu(underlay), code };
      },
      { service: hosts.serviceAddress },
    );
    expect(found).to.deep.equal({ underlay: a.address, mtu: 1500, code: 'ADDRESS_NOT_LOCAL' });
  });

  it("programs every remote container: an FDB entry to its host and neighbour entries, as iproute2 reads them", async () => {
    for (const host of hosts.list) {
      const remotes = hosts.list.filter((other) => other !== host).flatMap((other) => endpoints[other.name]);
      const fdb = (await host.json(['bridge', '-j', 'fdb', 'show', 'dev', vxlan])).filter((entry) => entry.dst);
      expect(fdb.map(({ mac, dst, state, flags }) => ({ mac, dst, state, self: flags.includes('self') })).sort((x, y) => x.mac.localeCompare(y.mac))).to.deep.equal(
        remotes.map(({ mac, host: dst }) => ({ mac, dst, state: 'permanent', self: true })).sort((x, y) => x.mac.localeCompare(y.mac)),
      );
      const neighbours = await host.json(['ip', '-j', 'neigh', 'show', 'dev', vxlan]);
      const expected = remotes.flatMap(({ mac, ipv4, ipv6 }) => [{ dst: ipv4, lladdr: mac }, { dst: ipv6, lladdr: mac }]);
      expect(neighbours.map(({ dst, lladdr, state }) => ({ dst, lladdr, state })).sort((x, y) => x.dst.localeCompare(y.dst))).to.deep.equal(
        expected.map((entry) => ({ ...entry, state: ['PERMANENT'] })).sort((x, y) => x.dst.localeCompare(y.dst)),
      );
      expect((await host.run(listOn, { vxlan })).sort(byIp)).to.deep.equal([...remotes].sort(byIp));
    }
  });

  it('carries TCP both ways between containers of two hosts, and to a third', async () => {
    await a.run(serveTcp, { id: containerAt('10.214.0.10'), port: 7000 });
    await b.run(serveTcp, { id: containerAt('10.214.0.20'), port: 7000 });
    await c.run(serveTcp, { id: containerAt('10.214.0.30'), port: 7000 });
    expect(await b.run(tcpFrom, { from: containerAt('10.214.0.20'), to: '10.214.0.10', port: 7000 })).to.equal(`${containerAt('10.214.0.10')}:hello`);
    expect(await a.run(tcpFrom, { from: containerAt('10.214.0.11'), to: '10.214.0.20', port: 7000 })).to.equal(`${containerAt('10.214.0.20')}:hello`);
    expect(await c.run(tcpFrom, { from: containerAt('10.214.0.30'), to: '10.214.0.10', port: 7000 })).to.equal(`${containerAt('10.214.0.10')}:hello`);
    expect(await a.run(tcpFrom, { from: containerAt('10.214.0.10'), to: '10.214.0.30', port: 7000 })).to.equal(`${containerAt('10.214.0.30')}:hello`);
    // IPv6 too: the VXLAN device answers the neighbour solicitation from its table.
    const [b6] = endpoints.hostB.map((endpoint) => endpoint.ipv6);
    expect(await a.run(tcpFrom, { from: containerAt('10.214.0.10'), to: b6, port: 7000 })).to.equal(`${containerAt('10.214.0.20')}:hello`);
  });

  it("answers ARP for the shared gateway with the container's own host's bridge, and sends none of it across", async () => {
    const rxBefore = await Promise.all([b, c].map((host) => vxlanRx(host)));
    const [bridgeLink] = await a.json(['ip', '-j', 'link', 'show', 'dev', bridge]);
    await a.run(execIn, { ip: '10.214.0.10', argv: ['ip', 'neigh', 'flush', 'all'] });
    // A connection to a closed port of the gateway: refused by A, after ARP.
    expect(await a.run(tcpFrom, { from: containerAt('10.214.0.10'), to: GATEWAY, port: 9 })).to.equal('failed: ECONNREFUSED');
    const { stdout } = await a.run(execIn, { ip: '10.214.0.10', argv: ['ip', '-j', 'neigh', 'show', GATEWAY] });
    expect(JSON.parse(stdout).map(({ dst, lladdr }) => ({ dst, lladdr }))).to.deep.equal([{ dst: GATEWAY, lladdr: bridgeLink.address }]);
    expect(await Promise.all([b, c].map((host) => vxlanRx(host)))).to.deep.equal(rxBefore);
  });

  it('applyRemotes remove: TCP to the container fails, and its entries are gone from the kernel', async () => {
    const [removed] = endpoints.hostB;
    await a.run(applyOn, { vxlan, change: { add: [], remove: [removed] } });
    expect(await a.run(tcpFrom, { from: containerAt('10.214.0.10'), to: removed.ipv4, port: 7000, timeoutMs: 1000 })).to.match(/^failed/);
    const fdb = await a.json(['bridge', '-j', 'fdb', 'show', 'dev', vxlan]);
    expect(fdb.filter((entry) => entry.mac === removed.mac && entry.dst)).to.deep.equal([]);
    const neighbours = await a.json(['ip', '-j', 'neigh', 'show', 'dev', vxlan]);
    expect(neighbours.filter((entry) => entry.dst === removed.ipv4 || entry.dst === removed.ipv6)).to.deep.equal([]);
    // C still reaches it, and removing it again is done.
    expect(await c.run(tcpFrom, { from: containerAt('10.214.0.30'), to: removed.ipv4, port: 7000 })).to.equal(`${containerAt('10.214.0.20')}:hello`);
    await a.run(applyOn, { vxlan, change: { add: [], remove: [removed] } });
    // Added back (twice: a replace), it is reached again.
    await a.run(applyOn, { vxlan, change: { add: [removed, removed], remove: [] } });
    expect(await a.run(tcpFrom, { from: containerAt('10.214.0.10'), to: removed.ipv4, port: 7000 })).to.equal(`${containerAt('10.214.0.20')}:hello`);
  });

  it('refuses a bad remote, all-zeros MAC included, before anything is sent', async () => {
    const good = { mac: '02:42:0a:d6:00:63', ipv4: '10.214.0.99', host: b.address };
    for (const bad of [{ ...good, mac: ZERO_MAC }, { ...good, mac: 'ff:ff:ff:ff:ff:ff' }, { ...good, mac: '01:00:5e:00:00:01' }, { ...good, ipv4: 'fd00::1' }, { ...good, host: 'b' }, { ...good, mac: 'nope' }]) {
      const code = await a.run(
        async (nsnet, { vxlan: dev, change }) => {
          const { applyRemotes } = require('../../dist/network/overlay-dataplane.js');
          return applyRemotes(dev, change).then(() => 'no error', (error) => error.code);
        },
        { vxlan, change: { add: [good, bad], remove: [] } },
      );
      expect(code).to.equal('INVALID_ARGUMENT');
    }
    const fdb = await a.json(['bridge', '-j', 'fdb', 'show', 'dev', vxlan]);
    expect(fdb.filter((entry) => entry.mac === good.mac)).to.deep.equal([]);
  });

  it('puts 1,000 remote containers in in one batch: a few dozen netlink sends, not 2,000 requests', async () => {
    const traced = async (mode, op) => {
      const trace = `${a.root}/strace-${mode}-${op}`;
      const out = await a.exec(['strace', '-f', '-qq', '-yy', '-e', 'trace=sendmsg,sendto', '-o', trace, process.execPath, REMOTES_BATCH, vxlan, '1000', mode, op]);
      const sends = (await a.exec(['grep', '-c', 'NETLINK:\\[ROUTE', trace])).trim();
      return { ms: JSON.parse(out).ms, sends: Number(sends) };
    };
    const batch = await traced('batch', 'add');
    const fdb = (await a.json(['bridge', '-j', 'fdb', 'show', 'dev', vxlan])).filter((entry) => entry.mac.startsWith('02:42:0a:d7:'));
    expect(fdb).to.have.length(1000);
    const neighbours = (await a.json(['ip', '-j', '-4', 'neigh', 'show', 'dev', vxlan])).filter((entry) => entry.dst.startsWith('10.215.'));
    expect(neighbours).to.have.length(1000);
    const batchRemove = await traced('batch', 'remove');
    expect((await a.json(['bridge', '-j', 'fdb', 'show', 'dev', vxlan])).filter((entry) => entry.mac.startsWith('02:42:0a:d7:'))).to.deep.equal([]);
    const single = await traced('single', 'add');
    await traced('single', 'remove');
    // 2,000 requests at 64 a send, and the few gets and dumps of a start.
    expect(batch.sends).to.be.below(60);
    expect(batchRemove.sends).to.be.below(60);
    expect(single.sends).to.be.at.least(2000);
    console.log(`      1,000 remotes: one batch ${batch.ms.toFixed(1)} ms in ${batch.sends} sends; 2,000 single requests ${single.ms.toFixed(1)} ms in ${single.sends} sends`);
  });

  it('deletes the VXLAN port and the network on every host', async () => {
    for (const host of hosts.list) await host.run(tearDownHost, { network, vxlan });
    // Deleted again: gone is fine.
    await a.run(async (nsnet, { vxlan: dev }) => require('../../dist/network/overlay-dataplane.js').deleteVxlanPort(dev), { vxlan });
    for (const host of hosts.list) {
      const links = (await host.json(['ip', '-j', 'link', 'show'])).map((link) => link.ifname);
      expect(links).to.not.include(vxlan);
      expect(links).to.not.include(bridge);
    }
  });
});

/** The packets the host's VXLAN device has taken in. */
async function vxlanRx(host) {
  const [link] = await host.json(['ip', '-s', '-j', 'link', 'show', 'dev', 'nsvx-ov']);
  return link.stats64.rx.packets;
}
