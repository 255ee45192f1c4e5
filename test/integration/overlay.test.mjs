// Overlay networks on three simulated hosts (test/hosts.mjs) with one etcd on
// the underlay (test/etcd.mjs): createOverlayNetwork on each, containers set
// up on each, and what must hold across them. The oracles: TCP between
// containers of two hosts, iproute2 in each host (`ip -j`, `bridge -j fdb`),
// and etcdctl for what the store holds.
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { startEtcd } from '../etcd.mjs';
import { eventually, startWhoAmIServer, stop, tcpRequest } from '../helpers.mjs';
import { createHosts } from '../hosts.mjs';
import { killByPidFile, serveTcp, tcpFrom } from '../overlay-steps.mjs';

const NETWORK = 'ovl';
const SUBNET = '10.215.0.0/16';
const SUBNET6 = 'fd00:215::/64';
const BRIDGE = 'nsbr-ovl';
const VXLAN = 'nsvx-ovl';
const LEASE_TTL = 3;
const PREFIX = '/nsnet/v1';
const NSNET = fileURLToPath(new URL('../../bin/nsnet.js', import.meta.url));

// Steps run in a host's worker (host.run(step, arg)): their source is sent, so they name nothing of this module.

/** createOverlayNetwork with `options`; resolves to the record, or to the refusal's code and details. */
async function createOn(nsnet, options) {
  try {
    return { record: (await nsnet.createOverlayNetwork(options)).options };
  } catch (error) {
    return { code: error.code, details: error.details ?? null, message: error.message };
  }
}

/** setupContainer on the network; its endpoint's addresses and MAC, or the refusal's code. */
async function setUp(nsnet, { id, network, publish = [], ...asked }) {
  try {
    const { endpoint } = await nsnet.setupContainer(id, { network, publish, ...asked });
    return { id, ipv4: endpoint.ipv4, ipv6: endpoint.ipv6, mac: endpoint.mac, netns: endpoint.netns.path, ports: endpoint.ports };
  } catch (error) {
    return { id, code: error.code, message: error.message };
  }
}

/** Many setUps at once in one process. */
async function setUpMany(nsnet, { ids, network }) {
  return Promise.all(
    ids.map(async (id) => {
      const { endpoint } = await nsnet.setupContainer(id, { network });
      return { id, ipv4: endpoint.ipv4, mac: endpoint.mac, netns: endpoint.netns.path };
    }),
  );
}

async function tearDown(nsnet, { ids }, keep) {
  for (const id of ids) {
    keep.servers?.[id]?.kill();
    await nsnet.teardownContainer(id);
  }
}

/** What the host's state directory holds: its endpoint and lease records. */
async function stateOf(nsnet, { network }) {
  const { readdirSync, readFileSync } = require('node:fs');
  const dir = process.env.NSNET_STATE_DIR;
  const list = (kind) => {
    try {
      return readdirSync(`${dir}/${kind}`).filter((f) => f.endsWith('.json')).sort();
    } catch {
      return [];
    }
  };
  let leases = null;
  try {
    leases = readFileSync(`${dir}/leases/${network}.json`, 'utf8');
  } catch {}
  return { endpoints: list('endpoints'), containers: list('containers'), leases };
}

/** The network's agent on this host, as its file says: { pid, leaseId }, or null. */
async function agentOf(nsnet, { network }) {
  try {
    return JSON.parse(require('node:fs').readFileSync(`${process.env.NSNET_STATE_DIR}/overlay/${network}.json`, 'utf8'));
  } catch {
    return null;
  }
}

/** The MTU of eth0 in container `id`, as the kernel has it. */
async function eth0Mtu(nsnet, { id }) {
  const ns = await nsnet.NetNamespace.open(id);
  const result = await ns.exec('ip', ['-j', 'link', 'show', 'dev', 'eth0']);
  return JSON.parse(result.stdout)[0].mtu;
}

/** The global addresses of eth0 in container `id`, as the kernel has them. */
async function eth0Addresses(nsnet, { id }) {
  const ns = await nsnet.NetNamespace.open(id);
  const result = await ns.exec('ip', ['-j', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
  // iproute2 prints some lifetimes as entries of their own, without an address.
  return JSON.parse(result.stdout)[0].addr_info.filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`);
}

/** The names of the links in a container's namespace. */
async function linkNames(nsnet, { id }) {
  const ns = await nsnet.NetNamespace.open(id);
  return JSON.parse((await ns.exec('ip', ['-j', 'link'])).stdout).map((link) => link.ifname).sort();
}

async function reconcileOn(nsnet) {
  const { repaired, failures } = await nsnet.reconcile();
  return { repaired, failures };
}

async function removeOn(nsnet, { network }) {
  await nsnet.removeNetwork(network, { force: true });
}

/** The remote entries of the host's VXLAN device, as iproute2 reads them: FDB MACs with their dst, neighbour IPs. */
async function remoteEntries(host) {
  const fdb = (await host.json(['bridge', '-j', 'fdb', 'show', 'dev', VXLAN])).filter((e) => e.dst).map((e) => `${e.mac} ${e.dst}`);
  const neigh = (await host.json(['ip', '-j', 'neigh', 'show', 'dev', VXLAN])).map((e) => `${e.dst} ${e.lladdr}`);
  return { fdb: fdb.sort(), neigh: neigh.sort() };
}

/** The host's view of `endpoint` (a container elsewhere) is there, or gone. */
async function knows(host, endpoint) {
  const { fdb, neigh } = await remoteEntries(host);
  return fdb.includes(`${endpoint.mac} ${endpoint.host}`) && neigh.includes(`${endpoint.ipv4} ${endpoint.mac}`);
}

async function forgot(host, endpoint) {
  const { fdb, neigh } = await remoteEntries(host);
  return !fdb.some((e) => e.startsWith(`${endpoint.mac} `)) && !neigh.some((e) => e.startsWith(`${endpoint.ipv4} `));
}

describe('overlay networks across three hosts', function () {
  this.timeout(180000);
  let hosts;
  let etcd;
  let a;
  let b;
  let c;
  const options = () => ({ name: NETWORK, subnet: SUBNET, ipv6: { subnet: SUBNET6 }, store: etcd.url, leaseTtl: LEASE_TTL });
  /** Container id -> { id, ipv4, mac, host } of each container made. */
  const made = {};

  async function setUpOn(host, id, extra = {}) {
    const result = await host.run(setUp, { id, network: NETWORK, ...extra });
    if (result.code) throw new Error(`${host.name}: setupContainer ${id}: ${result.code}: ${result.message}`);
    made[id] = { ...result, host: host.address };
    return made[id];
  }

  const addressKeys = () => etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/networks/${NETWORK}/addresses/`]).split('\n').filter(Boolean);

  before(async function () {
    hosts = await createHosts(3);
    [a, b, c] = hosts.list;
    etcd = await startEtcd({ host: hosts.serviceAddress });
    for (const host of [a, b]) {
      const created = await host.run(createOn, options());
      if (created.code) throw new Error(`${host.name}: ${created.code}: ${created.message}`);
    }
    // Host C by the command, with Docker's option for the VNI: the same network.
    await c.exec([process.execPath, NSNET, 'network', 'create', NETWORK, '--driver', 'overlay', '--subnet', SUBNET, '--ipv6-subnet', SUBNET6, '--store', etcd.url, '--lease-ttl', String(LEASE_TTL), '-o', 'com.docker.network.driver.overlay.vxlanid_list=4096']);
  });

  after(async function () {
    await hosts?.close();
    await etcd?.stop();
  });

  it('makes the network on each host: the bridge with the shared gateway, a VXLAN port (no learning, proxy, local = its underlay address, MTU underlay - 50), one definition in the store', async () => {
    for (const host of hosts.list) {
      const [vxlan] = await host.json(['ip', '-d', '-j', 'link', 'show', 'dev', VXLAN]);
      const data = vxlan.linkinfo.info_data;
      expect(data).to.include({ id: 4096, local: host.address, port: 4789, learning: false, proxy: true });
      expect(vxlan.master).to.equal(BRIDGE);
      expect(vxlan.mtu).to.equal(1450);
      const [bridge] = await host.json(['ip', '-j', 'address', 'show', 'dev', BRIDGE]);
      expect(bridge.mtu).to.equal(1450);
      expect(bridge.addr_info.map((x) => `${x.local}/${x.prefixlen}`)).to.include('10.215.0.1/16');
      // No flood entry: broadcasts stay on the host.
      expect((await host.json(['bridge', '-j', 'fdb', 'show', 'dev', VXLAN])).filter((e) => e.mac === '00:00:00:00:00:00')).to.deep.equal([]);
    }
    const definition = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${NETWORK}/definition`]));
    expect(definition).to.deep.include({ subnet: SUBNET, gateway: '10.215.0.1', vni: 4096, port: 4789 });
    const registered = etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/networks/${NETWORK}/hosts/`]).split('\n').filter(Boolean);
    expect(registered.sort()).to.deep.equal(hosts.list.map((h) => `${PREFIX}/networks/${NETWORK}/hosts/${h.address}`).sort());
  });

  it('shows the driver, VNI, underlay and store in network ls and inspect, and the VNI in ps', async () => {
    const [inspected] = JSON.parse(await c.exec([process.execPath, NSNET, 'network', 'inspect', '--json', NETWORK]));
    expect(inspected).to.deep.include({ driver: 'overlay', bridge: BRIDGE, subnet: SUBNET, mtu: 1450, dns: true });
    expect(inspected.overlay).to.deep.equal({ vni: 4096, port: 4789, vxlan: VXLAN, underlay: c.address, store: { endpoints: [etcd.url], prefix: PREFIX }, leaseTtl: LEASE_TTL });
    expect(await c.exec([process.execPath, NSNET, 'network', 'ls'])).to.match(new RegExp(`^${NETWORK}\\s+overlay\\s+${BRIDGE}\\s+${SUBNET.replaceAll('.', '\\.')}`, 'm'));
    expect(await c.exec([process.execPath, NSNET, 'network', 'inspect', NETWORK])).to.match(/^overlay:\n  vni: 4096\n/m);
    await setUpOn(c, 'listed-c');
    expect(await c.exec([process.execPath, NSNET, 'ps'])).to.match(new RegExp(`^listed-c\\s+network\\s+${NETWORK} \\(overlay vni 4096\\)\\s+10\\.215\\.`, 'm'));
    await c.run(tearDown, { ids: ['listed-c'] });
  });

  it('carries TCP both ways between a container on host A and one on host B', async () => {
    const onA = await setUpOn(a, 'web-a');
    const onB = await setUpOn(b, 'web-b');
    expect(onA.ipv4).to.not.equal(onB.ipv4);
    await a.run(serveTcp, { id: 'web-a', port: 7000 });
    await b.run(serveTcp, { id: 'web-b', port: 7000 });
    expect(await eventually(() => knows(a, onB), 5000)).to.equal(true);
    expect(await eventually(() => knows(b, onA), 5000)).to.equal(true);
    expect(await a.run(tcpFrom, { from: 'web-a', to: onB.ipv4, port: 7000 })).to.equal('web-b:hello');
    expect(await b.run(tcpFrom, { from: 'web-b', to: onA.ipv4, port: 7000 })).to.equal('web-a:hello');
    // IPv6 too: its address claimed with the IPv4 one, answered by B's VXLAN device from its neighbour table.
    expect(onA.ipv6).to.not.equal(onB.ipv6);
    expect(await a.run(tcpFrom, { from: 'web-a', to: onB.ipv6, port: 7000 })).to.equal('web-b:hello');
    expect(await b.run(tcpFrom, { from: 'web-b', to: onA.ipv6, port: 7000 })).to.equal('web-a:hello');
    expect(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${NETWORK}/addresses6/${onB.ipv6}`]).trim()).to.equal(onB.ipv4);
  });

  it('hands out no address twice: 3 hosts x 20 concurrent setups, checked in each container and in etcd', async () => {
    const before = addressKeys().length;
    const ids = (host) => Array.from({ length: 20 }, (_, i) => `m${host.name.slice(-1)}${i}`);
    const results = await Promise.all(hosts.list.map((host) => host.run(setUpMany, { ids: ids(host), network: NETWORK })));
    const all = results.flat();
    expect(all).to.have.length(60);
    expect(new Set(all.map((e) => e.ipv4)).size).to.equal(60);
    // The kernel: each container's eth0 holds the address it was given, and the 60 are distinct.
    const inKernel = [];
    for (const [i, host] of hosts.list.entries()) {
      for (const endpoint of results[i]) {
        const [link] = await host.json(['nsenter', `--net=${endpoint.netns}`, 'ip', '-j', '-4', 'address', 'show', 'dev', 'eth0']);
        inKernel.push(...link.addr_info.map((x) => x.local));
      }
    }
    expect(new Set(inKernel).size).to.equal(60);
    expect(inKernel.sort()).to.deep.equal(all.map((e) => e.ipv4).sort());
    // The store: one key per address, each naming its container's host.
    const keys = addressKeys();
    expect(keys.length - before).to.equal(60);
    for (const [i, host] of hosts.list.entries()) {
      for (const endpoint of results[i]) {
        const entry = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${NETWORK}/addresses/${endpoint.ipv4}`]));
        expect(entry).to.include({ ipv4: endpoint.ipv4, mac: endpoint.mac, host: host.address });
      }
    }
    await Promise.all(hosts.list.map((host) => host.run(tearDown, { ids: ids(host) })));
    expect(addressKeys().length).to.equal(before);
  });

  it("forgets a container removed on A: gone from B's FDB and neighbour tables, its key gone from etcd", async () => {
    const gone = await setUpOn(a, 'leaving-a');
    expect(await eventually(() => knows(b, gone), 5000)).to.equal(true);
    await a.run(tearDown, { ids: ['leaving-a'] });
    expect(await eventually(() => forgot(b, gone), 5000)).to.equal(true);
    expect(await eventually(() => forgot(c, gone), 5000)).to.equal(true);
    expect(addressKeys()).to.not.include(`${PREFIX}/networks/${NETWORK}/addresses/${gone.ipv4}`);
  });

  it('with etcd stopped, a connect fails with STORE_UNAVAILABLE and changes nothing, while running containers keep their traffic; with etcd back, everything resumes', async () => {
    await etcd.stop();
    try {
      const stateBefore = await a.run(stateOf, { network: NETWORK });
      const linksBefore = (await a.json(['ip', '-j', 'link'])).map((l) => l.ifname).sort();
      const started = Date.now();
      const refused = await a.run(setUp, { id: 'during-outage', network: NETWORK });
      expect(refused.code).to.equal('STORE_UNAVAILABLE');
      expect(Date.now() - started).to.be.below(3000);
      expect(await a.run(stateOf, { network: NETWORK })).to.deep.equal(stateBefore);
      expect((await a.json(['ip', '-j', 'link'])).map((l) => l.ifname).sort()).to.deep.equal(linksBefore);
      expect(await a.run(tcpFrom, { from: 'web-a', to: made['web-b'].ipv4, port: 7000 })).to.equal('web-b:hello');
      expect(await b.run(tcpFrom, { from: 'web-b', to: made['web-a'].ipv4, port: 7000 })).to.equal('web-a:hello');
    } finally {
      await etcd.restart();
    }
    const after = await setUpOn(a, 'after-outage');
    expect(await eventually(() => knows(b, after), 10000)).to.equal(true);
    await a.run(serveTcp, { id: 'after-outage', port: 7000 });
    expect(await b.run(tcpFrom, { from: 'web-b', to: after.ipv4, port: 7000 })).to.equal('after-outage:hello');
  });

  it('refuses bad store URLs (INVALID_STORE), an unreachable store (STORE_UNAVAILABLE), a differing definition (NETWORK_CONFLICT naming the fields) and an overlapping subnet (SUBNET_OVERLAP), making nothing', async () => {
    const linksBefore = (await b.json(['ip', '-j', 'link'])).map((l) => l.ifname).sort();
    // Other networks, without IPv6 (the network's IPv6 subnet is taken on these hosts); once the network itself, with another lease TTL.
    for (const store of ['ftp://10.213.0.254:2379', 'http://', 'not a url', '']) {
      expect((await b.run(createOn, { ...options(), ipv6: undefined, name: 'ovl2', subnet: '10.218.0.0/16', store })).code, store).to.equal('INVALID_STORE');
    }
    expect((await b.run(createOn, { ...options(), ipv6: undefined, name: 'ovl2', subnet: '10.218.0.0/16', store: `http://${hosts.serviceAddress}:1` })).code).to.equal('STORE_UNAVAILABLE');
    const differing = await b.run(createOn, { ...options(), ipv6: undefined, name: 'ovl3', subnet: '10.216.0.0/16' });
    expect(differing.code).to.equal(undefined);
    const conflict = await c.run(createOn, { ...options(), ipv6: undefined, name: 'ovl3', subnet: '10.217.0.0/16' });
    expect(conflict.code).to.equal('NETWORK_CONFLICT');
    expect(conflict.details.differing).to.deep.equal(['subnet', 'gateway']);
    expect((await c.run(createOn, { ...options(), ipv6: undefined, name: 'ovl3', subnet: '10.216.0.0/16', port: 8472 })).details.differing).to.deep.equal(['port']);
    // On this host already, with other options.
    expect((await b.run(createOn, { ...options(), leaseTtl: 5 })).details.differing).to.deep.equal(['leaseTtl']);
    // A subnet of this host's underlay.
    expect((await c.run(createOn, { ...options(), ipv6: undefined, name: 'ovl4', subnet: '10.213.0.0/24' })).code).to.equal('SUBNET_OVERLAP');
    expect(etcd.etcdctl(['get', '--keys-only', `${PREFIX}/networks/ovl4/definition`]).trim()).to.equal('');
    expect(etcd.etcdctl(['get', '--keys-only', `${PREFIX}/networks/ovl2/definition`]).trim()).to.equal('');
    await b.run(removeOn, { network: 'ovl3' });
    expect(etcd.etcdctl(['get', '--keys-only', `${PREFIX}/networks/ovl3/definition`]).trim()).to.equal('');
    expect((await b.json(['ip', '-j', 'link'])).map((l) => l.ifname).sort()).to.deep.equal(linksBefore);
  });

  it("masquerades a container's traffic to the outside as its own host's underlay address", async () => {
    const wan = await NetNamespace.open(hosts.wan);
    const server = await startWhoAmIServer(wan, 7100);
    try {
      const seenFromA = await a.run(tcpFrom, { from: 'web-a', to: hosts.wanAddress, port: 7100 });
      const seenFromB = await b.run(tcpFrom, { from: 'web-b', to: hosts.wanAddress, port: 7100 });
      expect([seenFromA, seenFromB]).to.deep.equal([a.address, b.address]);
    } finally {
      await stop(server);
      wan.close();
    }
  });

  it('publishes a port on the host that runs the container: reached from the outside at that host\'s address', async () => {
    await setUpOn(b, 'published-b', { publish: ['8080:7000'] });
    await b.run(serveTcp, { id: 'published-b', port: 7000 });
    const wan = await NetNamespace.open(hosts.wan);
    try {
      expect(await tcpRequest(wan, b.address, 8080, 'hello')).to.equal('published-b:hello');
    } finally {
      wan.close();
    }
  });

  it("reconcile() on a host whose agent died and whose VXLAN device was deleted makes the device again and starts the agent, which programs the other hosts' containers again", async () => {
    const killedPid = await a.run(killByPidFile, { path: `$NSNET_STATE_DIR/overlay/${NETWORK}.json` });
    await a.exec(['ip', 'link', 'delete', VXLAN]);
    expect(await a.run(tcpFrom, { from: 'web-a', to: made['web-b'].ipv4, port: 7000, timeoutMs: 1000 })).to.match(/^failed/);
    const { repaired, failures } = await a.run(reconcileOn);
    expect(failures).to.deep.equal([]);
    expect(repaired).to.include.members([`network "${NETWORK}": VXLAN device ${VXLAN} made again on bridge ${BRIDGE} (its agent restarted)`, `network "${NETWORK}": agent started`]);
    const agent = await a.run(agentOf, { network: NETWORK });
    expect(agent.pid).to.not.equal(killedPid);
    expect(await eventually(() => knows(a, made['web-b']), 5000)).to.equal(true);
    expect(await a.run(tcpFrom, { from: 'web-a', to: made['web-b'].ipv4, port: 7000 })).to.equal('web-b:hello');
    expect(await b.run(tcpFrom, { from: 'web-b', to: made['web-a'].ipv4, port: 7000 })).to.equal('web-a:hello');
    // Nothing left to do: a second reconcile repairs nothing of the network's.
    expect((await a.run(reconcileOn)).repaired.filter((line) => line.startsWith(`network "${NETWORK}"`))).to.deep.equal([]);
  });

  it("the VXLAN device deleted while the agent runs: reconcile() makes it again and restarts the agent, which programs the other hosts' containers again", async () => {
    const runningPid = (await a.run(agentOf, { network: NETWORK })).pid;
    expect(await knows(a, made['web-b'])).to.equal(true);
    await a.exec(['ip', 'link', 'delete', VXLAN]);
    const { repaired, failures } = await a.run(reconcileOn);
    expect(failures).to.deep.equal([]);
    expect(repaired).to.include.members([`network "${NETWORK}": VXLAN device ${VXLAN} made again on bridge ${BRIDGE} (its agent restarted)`, `network "${NETWORK}": agent started`]);
    expect((await a.run(agentOf, { network: NETWORK })).pid).to.not.equal(runningPid);
    expect(await eventually(() => knows(a, made['web-b']), 5000)).to.equal(true);
    expect(await a.run(tcpFrom, { from: 'web-a', to: made['web-b'].ipv4, port: 7000 })).to.equal('web-b:hello');
    // Its own containers' keys were taken back by the new agent.
    expect(addressKeys()).to.include(`${PREFIX}/networks/${NETWORK}/addresses/${made['web-a'].ipv4}`);
  });

  it("gives a container's eth0 the network's MTU (underlay - 50)", async () => {
    expect(await a.run(eth0Mtu, { id: 'web-a' })).to.equal(1450);
    expect(await b.run(eth0Mtu, { id: 'web-b' })).to.equal(1450);
  });

  it('creating the network again with the same options on a host changes nothing (same agent, same VXLAN device)', async () => {
    const agentBefore = await a.run(agentOf, { network: NETWORK });
    const [vxlanBefore] = await a.json(['ip', '-j', 'link', 'show', 'dev', VXLAN]);
    const again = await a.run(createOn, options());
    expect(again.code).to.equal(undefined);
    expect(await a.run(agentOf, { network: NETWORK })).to.deep.equal(agentBefore);
    expect((await a.json(['ip', '-j', 'link', 'show', 'dev', VXLAN]))[0].ifindex).to.equal(vxlanBefore.ifindex);
    expect(await eventually(() => knows(a, made['web-b']), 1000)).to.equal(true);
  });

  it('refuses an existing network whose definition in the store differs (another host made it again), and defines it again when the store lost it', async () => {
    const key = `${PREFIX}/networks/${NETWORK}/definition`;
    const original = etcd.etcdctl(['get', '--print-value-only', key]).trim();
    const { vni } = JSON.parse(original);
    etcd.etcdctl(['put', key, JSON.stringify({ ...JSON.parse(original), subnet: '10.99.0.0/16', gateway: '10.99.0.1' })]);
    try {
      const refused = await a.run(createOn, options());
      expect(refused.code).to.equal('NETWORK_CONFLICT');
      expect(refused.details.differing).to.include.members(['subnet', 'gateway']);
    } finally {
      etcd.etcdctl(['put', key, original]);
    }
    // Gone, as removeDefinitionIfUnused leaves it: this host's definition goes back.
    etcd.etcdctl(['del', key]);
    etcd.etcdctl(['del', `${PREFIX}/vnis/${vni}`]);
    expect((await a.run(createOn, options())).code).to.equal(undefined);
    expect(JSON.parse(etcd.etcdctl(['get', '--print-value-only', key]))).to.deep.equal(JSON.parse(original));
    expect(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/vnis/${vni}`]).trim()).to.equal(NETWORK);
  });

  it('refuses an explicit ip another host holds with ADDRESS_IN_USE, changing nothing', async () => {
    const stateBefore = await b.run(stateOf, { network: NETWORK });
    const keysBefore = addressKeys();
    const refused = await b.run(setUp, { id: 'taken-b', network: NETWORK, ip: made['web-a'].ipv4 });
    expect(refused.code).to.equal('ADDRESS_IN_USE');
    expect(await b.run(stateOf, { network: NETWORK })).to.deep.equal(stateBefore);
    expect(addressKeys()).to.deep.equal(keysBefore);
    const entry = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${NETWORK}/addresses/${made['web-a'].ipv4}`]));
    expect(entry).to.include({ host: a.address, mac: made['web-a'].mac });
  });

  it('refuses a mac on an overlay network with NOT_SUPPORTED_BY_DRIVER (it would be checked on one host only)', async () => {
    const keysBefore = addressKeys();
    const refused = await b.run(setUp, { id: 'mac-b', network: NETWORK, mac: made['web-a'].mac });
    expect(refused.code).to.equal('NOT_SUPPORTED_BY_DRIVER');
    expect(addressKeys()).to.deep.equal(keysBefore);
  });

  it('a setup that fails after its addresses are picked (a host port in use) leaves no key in etcd', async () => {
    const keysBefore = addressKeys();
    const stateBefore = await b.run(stateOf, { network: NETWORK });
    const refused = await b.run(setUp, { id: 'port-b', network: NETWORK, publish: ['8080:7000'] });
    expect(refused.code).to.equal('PORT_IN_USE');
    expect(addressKeys()).to.deep.equal(keysBefore);
    expect(await b.run(stateOf, { network: NETWORK })).to.deep.equal(stateBefore);
  });

  describe('a second overlay network on a /29', function () {
    const SMALL = 'ovs';
    const small = (extra = {}) => ({ name: SMALL, subnet: '10.216.0.0/29', ipv6: { subnet: 'fd00:216::/64' }, store: etcd.url, leaseTtl: LEASE_TTL, ...extra });

    after(async () => {
      for (const host of [a, b]) await host.run(removeOn, { network: SMALL });
    });

    it('refuses an mtu larger than the underlay carries inside VXLAN with INVALID_ARGUMENT, making nothing', async () => {
      const refused = await a.run(createOn, small({ mtu: 1500 }));
      expect(refused.code).to.equal('INVALID_ARGUMENT');
      expect(etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/networks/${SMALL}/`]).trim()).to.equal('');
      expect((await a.json(['ip', '-j', 'link'])).map((l) => l.ifname)).to.not.include('nsbr-ovs');
    });

    it('refuses icc: false on one host when the network was defined with icc on (NETWORK_CONFLICT naming icc), making nothing', async () => {
      expect((await a.run(createOn, small())).code).to.equal(undefined);
      const refused = await b.run(createOn, small({ icc: false }));
      expect(refused.code).to.equal('NETWORK_CONFLICT');
      expect(refused.details.differing).to.deep.equal(['icc']);
      expect((await b.json(['ip', '-j', 'link'])).map((l) => l.ifname)).to.not.include('nsbr-ovs');
      expect((await b.run(createOn, small())).code).to.equal(undefined);
    });

    it('refuses a warm pool with NOT_SUPPORTED_BY_DRIVER, as a LAN network does', async () => {
      const refused = await a.run(async (nsnet, { network }) => {
        try {
          (await nsnet.getNetwork(network)).pool(1);
          return null;
        } catch (error) {
          return error.code;
        }
      }, { network: SMALL });
      expect(refused).to.equal('NOT_SUPPORTED_BY_DRIVER');
    });

    it('an address picked automatically that another host holds is skipped for the next free one; an ipv6 asked for stays', async () => {
      // The /29's addresses in the order a host's search walks them (.1 is the gateway).
      const after = (address) => `10.216.0.${((Number(address.split('.')[3]) - 1) % 5) + 2}`;
      // Where B's search stands: after its first pick, which a probe takes and gives back.
      const probe = await b.run(setUp, { id: 'small-probe', network: SMALL });
      await b.run(tearDown, { ids: ['small-probe'] });
      const first = await a.run(setUp, { id: 'small-a', network: SMALL, ip: after(probe.ipv4) });
      expect(first.code).to.equal(undefined);
      // B's IPAM knows nothing of A's container: it picks A's address, which the store refuses
      // while B makes the veth; that connect is undone and B picks again.
      const linksBefore = (await b.json(['ip', '-j', 'link'])).map((link) => link.ifname);
      const onB = await b.run(setUp, { id: 'small-b', network: SMALL, ipv6: 'fd00:216::99' });
      expect(onB.code, onB.message).to.equal(undefined);
      // One link more on B (the container's host end), none left of the connect undone.
      const added = (await b.json(['ip', '-j', 'link'])).filter((link) => !linksBefore.includes(link.ifname));
      expect(added, 'links B gained').to.have.length(1);
      expect(added[0].master, 'the host end is on the bridge').to.be.a('string');
      expect(await b.run(linkNames, { id: 'small-b' })).to.deep.equal(['eth0', 'lo']);
      expect(onB.ipv6).to.equal('fd00:216::99');
      expect(onB.ipv4).to.equal(after(first.ipv4));
      // The container holds its addresses alone, B records one endpoint.
      expect(await b.run(eth0Addresses, { id: 'small-b' })).to.deep.equal([`${onB.ipv4}/29`, 'fd00:216::99/64']);
      expect((await b.run(stateOf, { network: SMALL })).endpoints).to.have.length(1);
      // Each container's keys (IPv4 and IPv6), none of the address refused.
      expect(etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/networks/${SMALL}/addresses`]).split('\n').filter(Boolean)).to.have.length(4);
      // The IPv6 address asked for held by another host: refused.
      const refused = await a.run(setUp, { id: 'small-a2', network: SMALL, ipv6: 'fd00:216::99' });
      expect(refused.code).to.equal('ADDRESS_IN_USE');
      await a.run(tearDown, { ids: ['small-a'] });
      await b.run(tearDown, { ids: ['small-b'] });
    });
  });

  describe('an overlay network with icc: false', function () {
    const ISOLATED = 'ovi';
    const ISOLATED_VXLAN = 'nsvx-ovi';

    after(async () => {
      for (const host of [a, b]) await host.run(removeOn, { network: ISOLATED });
    });

    it('keeps its containers apart on one host and across hosts, while each still reaches its own host', async () => {
      for (const host of [a, b]) {
        const created = await host.run(createOn, { name: ISOLATED, subnet: '10.218.0.0/24', store: etcd.url, leaseTtl: LEASE_TTL, icc: false });
        expect(created.code, created.message).to.equal(undefined);
      }
      const up = async (host, id) => {
        const result = await host.run(setUp, { id, network: ISOLATED });
        expect(result.code, result.message).to.equal(undefined);
        return result;
      };
      const [a1, a2, b1] = [await up(a, 'iso-a1'), await up(a, 'iso-a2'), await up(b, 'iso-b1')];
      for (const [host, id] of [[a, 'iso-a2'], [b, 'iso-b1'], [a, 'iso-a1']]) await host.run(serveTcp, { id, port: 7000 });
      // The entries are there, so a refusal below is the filter's, not a missing route.
      const holds = async (host, ipv4) => (await host.json(['ip', '-j', 'neigh', 'show', 'dev', ISOLATED_VXLAN])).some((entry) => entry.dst === ipv4);
      expect(await eventually(() => holds(b, a2.ipv4), 5000), "B's entry of A's container").to.equal(true);
      expect(await eventually(() => holds(a, b1.ipv4), 5000), "A's entry of B's container").to.equal(true);
      expect(await a.run(tcpFrom, { from: 'iso-a1', to: a2.ipv4, port: 7000, timeoutMs: 1000 }), 'same host').to.match(/^failed/);
      expect(await a.run(tcpFrom, { from: 'iso-a1', to: b1.ipv4, port: 7000, timeoutMs: 1000 }), 'A to B').to.match(/^failed/);
      expect(await b.run(tcpFrom, { from: 'iso-b1', to: a1.ipv4, port: 7000, timeoutMs: 1000 }), 'B to A').to.match(/^failed/);
      // Its own host (the gateway) is no other container: reached.
      expect(await a.run(tcpFrom, { from: 'iso-a1', to: '10.218.0.1', port: 7001, timeoutMs: 1000 })).to.match(/ECONNREFUSED/);
      await a.run(tearDown, { ids: ['iso-a1', 'iso-a2'] });
      await b.run(tearDown, { ids: ['iso-b1'] });
    });
  });

  it('forgets host C once it is killed (its processes and its namespace): its containers vanish from A and B within the lease TTL', async () => {
    const onC = await setUpOn(c, 'doomed-c');
    expect(await eventually(() => knows(a, onC), 5000)).to.equal(true);
    expect(await eventually(() => knows(b, onC), 5000)).to.equal(true);
    await c.kill();
    c.removeNamespace();
    const killed = Date.now();
    // The lease's TTL, plus etcd's expiry check (up to a second) and the watch's delivery.
    const within = (LEASE_TTL + 2) * 1000;
    expect(await eventually(async () => (await forgot(a, onC)) && (await forgot(b, onC)), within)).to.equal(true);
    expect(Date.now() - killed).to.be.below(within);
    expect(addressKeys()).to.not.include(`${PREFIX}/networks/${NETWORK}/addresses/${onC.ipv4}`);
    expect(etcd.etcdctl(['get', '--keys-only', `${PREFIX}/networks/${NETWORK}/hosts/${c.address}`]).trim()).to.equal('');
    // A and B still reach each other.
    expect(await a.run(tcpFrom, { from: 'web-a', to: made['web-b'].ipv4, port: 7000 })).to.equal('web-b:hello');
  });

  it('removeNetwork on the remaining hosts: agents stopped, VXLAN devices and bridges gone, the definition and its VNI gone with the last host', async () => {
    const agents = await Promise.all([a, b].map((host) => host.run(agentOf, { network: NETWORK })));
    await a.run(removeOn, { network: NETWORK });
    // B is still on it: the definition stays.
    expect(etcd.etcdctl(['get', '--keys-only', `${PREFIX}/networks/${NETWORK}/definition`]).trim()).to.not.equal('');
    await b.run(removeOn, { network: NETWORK });
    for (const [i, host] of [a, b].entries()) {
      const names = (await host.json(['ip', '-j', 'link'])).map((l) => l.ifname);
      expect(names).to.not.include(VXLAN);
      expect(names).to.not.include(BRIDGE);
      expect(await host.run(agentOf, { network: NETWORK })).to.equal(null);
      expect((await host.exec(['sh', '-c', `kill -0 ${agents[i].pid} 2>/dev/null && echo alive || echo gone`])).trim()).to.equal('gone');
    }
    expect(etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/`]).trim()).to.equal('');
  });
});
