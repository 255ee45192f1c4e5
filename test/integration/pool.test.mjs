// Warm pools: a pooled container is the same as an unpooled one, as `ip -j`
// and the sysctls read them and as traffic shows; a pool's entries wait
// unnamed, held by their owner alone, and go with it; a pool's owner killed
// leaves records that reconcile removes, and only those; removeNetwork
// drains; a burst past the pool's size falls back to the normal path and
// tops up.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, listContainers, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { currentStore } from '../../dist/state/store.js';
import { createWan, eventually, expectReject, ip, ipJson, runNode, runWithFault, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const HOST = '192.0.2.1';
const WAN = '192.0.2.2';
const POOL_PREFIX = '_nsnet-pool-';
const OWNER = join(process.cwd(), 'test', 'integration', 'workers', 'pool-owner.mjs');
const SETUP = join(process.cwd(), 'test', 'integration', 'workers', 'pool-setup.mjs');

const poolRecords = () => currentStore().list('pool');
/** Namespaces mounted under a pool's name (by releases that did so): none, ever. */
const poolNamespaces = () => ipJson(['netns', 'list']).map((ns) => ns.name).filter((name) => name.startsWith(POOL_PREFIX));
const hostLinks = () => ipJson(['link']).map((link) => link.ifname);

/** The network namespaces (inode numbers) that descriptors of process `pid` hold, other than the sandbox's own. */
function heldNamespaces(pid) {
  const own = readlinkSync('/proc/self/ns/net');
  const held = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (link.startsWith('net:[') && link !== own) held.add(Number(link.slice(5, -1)));
  }
  return held;
}

/** The namespaces the pool records name, as their paths open them (inode numbers). */
const recordedNamespaces = async () => (await poolRecords()).map((entry) => statSync(entry.netnsPath).ino);

/** Descriptors of this process on sysctl directories (each open namespace handle with a netlink socket holds two). */
const sysctlDescriptors = () => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('/proc/sys/');
  } catch {
    return false;
  }
}).length;

/** The link as `ip -j -d` reads it, less what differs between any two endpoints (indexes, MAC, ids, bridge port numbers). */
function linkShape(link) {
  const { ifindex: _i, link_index: _l, address: _a, link_netnsid: _n, ifalias, ...rest } = link;
  const slave = rest.linkinfo?.info_slave_data;
  if (slave) {
    const { id: _id, no: _no, designated_port: _dp, forward_delay_timer: _f, hold_timer: _h, message_age_timer: _m, ...kept } = slave;
    rest.linkinfo = { ...rest.linkinfo, info_slave_data: kept };
  }
  return { ...rest, alias: ifalias?.replace(/:[0-9a-f]{16}$/, ':<id>') };
}

/** The addresses of a namespace, its own addresses given as placeholders. */
function addressShape(netns, own) {
  return ipJson(['-d', 'addr'], netns).map((link) => ({
    ...linkShape(link),
    addr_info: link.addr_info.map((a) => ({ ...a, local: own[a.local] ?? (a.local.startsWith('fe80:') ? '<link-local>' : a.local) })),
  }));
}

/** Every route of a namespace (the local table too), its own addresses given as placeholders. */
function routeShape(netns, own, family) {
  const shown = (address) => own[address] ?? (address?.startsWith('fe80::') && address !== 'fe80::/64' ? '<link-local>' : address);
  return ipJson([family, 'route', 'show', 'table', 'all'], netns).map((route) => ({ ...route, dst: shown(route.dst), prefsrc: shown(route.prefsrc) }));
}

/** Every readable sysctl of the namespace's interfaces (net.ipv4.conf.*, net.ipv6.conf.*, neighbour tables). */
async function sysctls(netns) {
  const ns = await NetNamespace.open(netns);
  try {
    const out = await runNode(ns, `
      const fs = require('node:fs');
      const found = {};
      const walk = (dir) => { for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = dir + '/' + entry.name;
        if (entry.isDirectory()) walk(file);
        else try { found[file] = fs.readFileSync(file, 'utf8').trim(); } catch {}
      } };
      for (const dir of ['/proc/sys/net/ipv4/conf', '/proc/sys/net/ipv6/conf', '/proc/sys/net/ipv4/neigh', '/proc/sys/net/ipv6/neigh']) walk(dir);
      process.stdout.write(JSON.stringify(found));
    `);
    return JSON.parse(out);
  } finally {
    ns.close();
  }
}

/** Everything `ip -j` and the sysctls say of a container's network, less what differs between any two endpoints. */
async function shapeOf(container) {
  const { id, endpoint } = container;
  const own = { [endpoint.ipv4]: '<ipv4>' };
  if (endpoint.ipv6) own[endpoint.ipv6] = '<ipv6>';
  return {
    links: ipJson(['-d', 'link'], id).map(linkShape),
    addresses: addressShape(id, own),
    routes4: routeShape(id, own, '-4'),
    routes6: routeShape(id, own, '-6'),
    // Named after the endpoint's id, as every host end is.
    hostEnd: { ...linkShape(ipJson(['-d', 'link', 'show', 'dev', endpoint.hostIfname])[0]), ifname: endpoint.hostIfname.replace(`veth${endpoint.id.slice(0, 7)}`, 'veth<id>') },
    sysctls: await sysctls(id),
  };
}

describe('warm pool', function () {
  this.timeout(60000);

  for (const stack of ['IPv4-only', 'dual-stack']) {
    describe(`a pooled container on a ${stack} network`, () => {
      let name;
      let network;
      let wan;
      let removeWan;
      let pooled;
      let plain;
      let servers = [];

      before(async () => {
        name = uniqueName('pl');
        const ipv6 = stack === 'dual-stack' ? { subnet: 'fd00:183::/64' } : undefined;
        network = await createBridgeNetwork({ name, subnet: '10.183.0.0/24', ipv6, pool: { size: 1 } });
        ({ netns: wan, remove: removeWan } = await createWan(uniqueName('plw'), { host: HOST, wan: WAN }));
        await network.pool().filled();
        const waiting = (await poolRecords()).map((r) => r.id);
        pooled = await setupContainer(uniqueName('plp'), { network: name, publish: ['18301:80'] });
        expect(waiting, 'the pooled container is the pool entry').to.include(pooled.endpoint.id);
        await network.pool(0).drain();
        plain = await setupContainer(uniqueName('plu'), { network: name, publish: ['18302:80'] });
        expect(waiting).not.to.include(plain.endpoint.id);
        // Lets the dual-stack link-local addresses finish DAD on both.
        await new Promise((resolve) => setTimeout(resolve, 200));
      });

      after(async () => {
        for (const server of servers) await stop(server);
        await teardownContainer(pooled.id);
        await teardownContainer(plain.id);
        await removeNetwork(name);
        await removeWan();
      });

      it('is named after its id, with nothing of the pool left', async () => {
        const names = ipJson(['netns', 'list']).map((ns) => ns.name);
        expect(names).to.include.members([pooled.id, plain.id]);
        expect(poolNamespaces()).to.deep.equal([]);
        expect(await poolRecords()).to.deep.equal([]);
        expect(pooled.netns.path).to.equal(join(process.env.NSNET_NETNS_DIR, pooled.id));
        const listed = (await listContainers()).filter((c) => c.network === name);
        expect(listed.map((c) => [c.id, c.status])).to.have.deep.members([[pooled.id, 'ready'], [plain.id, 'ready']]);
        expect(listed.map((c) => c.netnsPath)).to.have.members([pooled.netns.path, plain.netns.path]);
      });

      it('has the links, addresses, routes, host end and sysctls of an unpooled one', async () => {
        const [a, b] = [await shapeOf(pooled), await shapeOf(plain)];
        expect(a.links).to.deep.equal(b.links);
        expect(a.addresses).to.deep.equal(b.addresses);
        expect(a.routes4).to.deep.equal(b.routes4);
        expect(a.routes6).to.deep.equal(b.routes6);
        expect(a.hostEnd).to.deep.equal(b.hostEnd);
        expect(a.sysctls).to.deep.equal(b.sysctls);
        // What the comparison stands on.
        const key = '/proc/sys/net/ipv6/conf/eth0/disable_ipv6';
        expect(a.sysctls[key]).to.equal(stack === 'IPv4-only' ? '1' : '0');
        expect(a.hostEnd.alias).to.equal(`nsnet:endpoint:${name}:<id>`);
        expect(a.hostEnd.master).to.equal(network.bridge);
        expect(ipJson(['link', 'show', 'dev', 'eth0'], pooled.id)[0].address).to.equal(pooled.endpoint.mac);
        const ipv6 = a.addresses.find((l) => l.ifname === 'eth0').addr_info.filter((x) => x.family === 'inet6').map((x) => x.local);
        expect(ipv6).to.deep.equal(stack === 'IPv4-only' ? [] : ['<ipv6>', '<link-local>']);
      });

      it('talks to an unpooled one on the bridge, and answers on its published port from wan', async () => {
        servers = [await startTcpServer(pooled.netns, 80, 'pooled'), await startTcpServer(plain.netns, 80, 'plain')];
        expect(await tcpRequest(plain.netns, pooled.endpoint.ipv4, 80, 'hi')).to.equal('pooled:hi');
        expect(await tcpRequest(pooled.netns, plain.endpoint.ipv4, 80, 'hi')).to.equal('plain:hi');
        expect(await tcpRequest(wan, HOST, 18301, 'from wan')).to.equal('pooled:from wan');
        expect(await tcpRequest(wan, HOST, 18302, 'from wan')).to.equal('plain:from wan');
      });
    });
  }

  describe('a pool', () => {
    let name;
    let network;

    beforeEach(async () => {
      name = uniqueName('pl');
      network = await createBridgeNetwork({ name, subnet: '10.184.0.0/24' });
    });

    afterEach(async () => {
      for (const c of await listContainers()) if (c.network === name) await teardownContainer(c.id);
      await removeNetwork(name).catch(() => undefined);
    });

    it('is drained by removeNetwork: its namespaces, veths and records go', async () => {
      await network.pool(3).filled();
      const entries = await poolRecords();
      expect(entries).to.have.lengthOf(3);
      const waiting = await recordedNamespaces();
      expect(new Set(waiting).size, 'three namespaces').to.equal(3);
      expect([...heldNamespaces(process.pid)]).to.include.members(waiting);
      expect(poolNamespaces(), 'none mounted').to.deep.equal([]);
      expect(hostLinks()).to.include.members(entries.map((e) => e.hostIfname));
      await removeNetwork(name);
      expect(await poolRecords()).to.deep.equal([]);
      expect([...heldNamespaces(process.pid)].filter((inode) => waiting.includes(inode)), 'no longer held').to.deep.equal([]);
      expect(await eventually(() => !entries.some((e) => hostLinks().includes(e.hostIfname))), 'pool veths gone').to.equal(true);
      expect(hostLinks()).not.to.include(network.bridge);
    });

    it('keeps its entries unnamed, held by its owner alone: in no listing, and gone with their veths when the owner dies, before any reconcile', async () => {
      const other = uniqueName('plh');
      const owner = spawn(process.execPath, [OWNER, other, '10.188.0.0/24', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        const [line] = await once(owner.stdout, 'data');
        expect(String(line).trim()).to.equal('ready');
        const entries = (await poolRecords()).filter((e) => e.pid === owner.pid);
        const { bridge } = await currentStore().read('networks', other);
        expect(entries.map((e) => e.netnsPath.startsWith(`/proc/${owner.pid}/fd/`))).to.deep.equal([true, true]);
        expect([...heldNamespaces(owner.pid)]).to.have.members(entries.map((e) => statSync(e.netnsPath).ino));
        expect(poolNamespaces()).to.deep.equal([]);
        expect(ipJson(['netns', 'list']).map((ns) => ns.name)).not.to.include.members(entries.map((e) => e.id));
        // A prepared entry: eth0 up with carrier in it, its host end on the bridge.
        for (const entry of entries) {
          const ns = await NetNamespace.open(entry.netnsPath);
          try {
            const eth0 = (await ns.links.list()).find((link) => link.name === 'eth0');
            expect(eth0, entry.netnsPath).to.include({ up: true, carrier: true });
          } finally {
            ns.close();
          }
          expect(ipJson(['link', 'show', 'dev', entry.hostIfname])[0].master).to.equal(bridge);
        }
        const exited = once(owner, 'exit');
        process.kill(owner.pid, 'SIGKILL');
        await exited;
        expect(await eventually(() => !entries.some((e) => hostLinks().includes(e.hostIfname))), 'veths gone with the owner').to.equal(true);
        // What is left is the records, for reconcile.
        expect((await poolRecords()).map((e) => e.id)).to.include.members(entries.map((e) => e.id));
        const report = await reconcile();
        expect(report.pool).to.have.members(entries.map((e) => e.netnsPath));
        expect(report.failures).to.deep.equal([]);
        expect((await poolRecords()).filter((e) => e.pid === owner.pid)).to.deep.equal([]);
      } finally {
        if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
        await removeNetwork(other, { force: true }).catch(() => undefined);
      }
    });

    it('gives a claimed entry\'s descriptors to its container, which lets them go at rest: none left per setup', async () => {
      const pool = network.pool(1);
      await pool.filled();
      const before = sysctlDescriptors();
      for (let i = 0; i < 4; i++) {
        const c = await setupContainer(uniqueName('pld'), { network: name });
        await teardownContainer(c.id);
        await pool.filled();
      }
      expect(sysctlDescriptors()).to.equal(before);
    });

    it('under a burst past its size, falls back to the normal path, then tops up', async () => {
      const pool = network.pool(2);
      await pool.filled();
      const first = (await poolRecords()).map((e) => e.id);
      const ids = Array.from({ length: 6 }, () => uniqueName('plb'));
      const containers = await Promise.all(ids.map((id) => setupContainer(id, { network: name })));
      const fromPool = containers.filter((c) => first.includes(c.endpoint.id));
      expect(fromPool, 'two from the pool, four made on the spot').to.have.lengthOf(2);
      for (const c of containers) {
        const [eth0] = ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], c.id);
        expect(eth0.addr_info.map((a) => a.local)).to.deep.equal([c.endpoint.ipv4]);
        expect(ipJson(['route', 'show', 'default'], c.id)[0].gateway).to.equal(network.gateway);
      }
      expect(new Set(containers.map((c) => c.endpoint.ipv4)).size).to.equal(6);
      await pool.filled();
      expect(pool.available).to.equal(2);
      const now = await poolRecords();
      expect(now).to.have.lengthOf(2);
      expect(now.map((e) => e.id)).not.to.include.members(first);
      expect(new Set(await recordedNamespaces()).size).to.equal(2);
    });

    it('is not used for what an entry cannot give (another ifname, a given MAC), and keeps its entry', async () => {
      const pool = network.pool(1);
      await pool.filled();
      const [entry] = await poolRecords();
      const named = await setupContainer(uniqueName('pln'), { network: name, ifname: 'eth1' });
      const mac = '02:42:ac:11:00:99';
      const withMac = await setupContainer(uniqueName('plm'), { network: name, mac });
      expect([named.endpoint.id, withMac.endpoint.id]).not.to.include(entry.id);
      expect(ipJson(['link', 'show', 'dev', 'eth1'], named.id)).to.have.lengthOf(1);
      expect(ipJson(['link', 'show', 'dev', 'eth0'], withMac.id)[0].address).to.equal(mac);
      expect((await poolRecords()).map((e) => e.id)).to.deep.equal([entry.id]);
      expect(pool.available).to.equal(1);
    });

    it('follows its network made again by another process: the old entries go, a setup takes the normal path, the pool tops up on the new bridge', async () => {
      const pool = network.pool(2);
      await pool.filled();
      const old = await poolRecords();
      const oldNamespaces = await recordedNamespaces();
      const index = (dev) => ipJson(['link', 'show', 'dev', dev])[0].ifindex;
      const oldBridge = index(network.bridge);
      const script = `const { createBridgeNetwork, removeNetwork } = await import(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
        await removeNetwork('${name}', { force: true });
        await createBridgeNetwork({ name: '${name}', subnet: '10.184.0.0/24' });`;
      const other = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      expect((await once(other, 'exit'))[0]).to.equal(0);
      expect(index(network.bridge)).not.to.equal(oldBridge);
      const c = await setupContainer(uniqueName('plr'), { network: name });
      expect(old.map((e) => e.id)).not.to.include(c.endpoint.id);
      expect(ipJson(['link', 'show', 'dev', c.endpoint.hostIfname])[0].master).to.equal(network.bridge);
      const renewed = network.pool();
      expect(renewed).not.to.equal(pool);
      expect(renewed.size).to.equal(2);
      await renewed.filled();
      const oldHeld = () => [...heldNamespaces(process.pid)].filter((inode) => oldNamespaces.includes(inode));
      expect(await eventually(() => oldHeld().length === 0), 'the old entries gone').to.equal(true);
      const entries = await poolRecords();
      expect(entries.map((e) => e.id)).not.to.include.members(old.map((e) => e.id));
      for (const entry of entries) expect(ipJson(['link', 'show', 'dev', entry.hostIfname])[0].master).to.equal(network.bridge);
    });

    it('refuses a size that is no size, with nothing changed', async () => {
      await expectReject(createBridgeNetwork({ name: uniqueName('pl'), subnet: '10.185.0.0/24', pool: { size: -1 } }), 'NsnetError', 'INVALID_ARGUMENT');
      expect(() => network.pool(1024)).to.throw().with.property('code', 'INVALID_ARGUMENT');
      expect(() => network.pool(1.5)).to.throw().with.property('code', 'INVALID_ARGUMENT');
      expect(network.pool().size).to.equal(0);
      expect(await poolRecords()).to.deep.equal([]);
      expect((await currentStore().list('networks')).map((n) => n.subnet)).not.to.include('10.185.0.0/24');
    });

    it('of a program that ends with its event loop empty is drained', async () => {
      const other = uniqueName('ple');
      const owner = spawn(process.execPath, [OWNER, other, '10.187.0.0/24', '2', 'end'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const output = [];
      owner.stdout.on('data', (chunk) => output.push(String(chunk)));
      const [code] = await once(owner, 'exit');
      expect([code, output.join('').trim()]).to.deep.equal([0, 'ready']);
      expect(poolNamespaces()).to.deep.equal([]);
      expect(await poolRecords()).to.deep.equal([]);
      await removeNetwork(other);
    });

    it('a setup from it failed or killed at each of its steps leaves what reconcile removes, and then nothing', async function () {
      this.timeout(300000);
      const store = currentStore();
      const tagged = () => ipJson(['-d', 'link']).filter((link) => link.ifalias?.startsWith(`nsnet:endpoint:${name}:`)).map((link) => link.ifname);
      const namespaces = () => ipJson(['netns', 'list']).map((ns) => ns.name);
      const walked = {};
      for (const mode of ['fail', 'kill']) {
        for (let step = 1; ; step++) {
          const id = uniqueName('plf');
          const { code, signal, stderr, injected, outcome } = await runWithFault(SETUP, [name, id, '18391'], `setupContainer:${step}:${mode}`);
          const context = `${mode} at step ${step} (${injected ?? 'past the last step'})`;
          if (outcome?.ok) {
            // Past the last step, or a step of the pool topping up behind the setup: a whole setup, from the pool.
            expect(await store.read('containers', id), context).to.include({ status: 'ready' });
            await teardownContainer(id);
            if (!injected) walked[mode] = step - 1;
          } else if (mode === 'fail') {
            expect([code, outcome?.code], context).to.deep.equal([0, 'FAULT_INJECTED']);
            // Undone by the setup itself: nothing of the container is left.
            expect(await store.read('containers', id), context).to.equal(undefined);
            expect((await store.list('endpoints')).filter((e) => e.network === name), context).to.deep.equal([]);
            expect(namespaces(), context).not.to.include(id);
          } else {
            expect(signal, `${context}: ${stderr}`).to.equal('SIGKILL');
            // Killed at a step of the top-up after the setup was done: a whole container, torn down as any.
            if ((await store.read('containers', id))?.status === 'ready') await teardownContainer(id);
          }
          const report = await reconcile();
          expect(report.failures, context).to.deep.equal([]);
          expect(poolNamespaces(), context).to.deep.equal([]);
          expect(await poolRecords(), context).to.deep.equal([]);
          expect(namespaces(), context).not.to.include(id);
          expect(await store.read('containers', id), context).to.equal(undefined);
          expect((await store.list('endpoints')).filter((e) => e.network === name), context).to.deep.equal([]);
          expect(await eventually(() => tagged().length === 0), `${context}: veths left ${tagged()}`).to.equal(true);
          if (!injected) break;
        }
      }
      // The setup's own steps, and those of the pool's top-up behind it (their order varies).
      expect(walked.fail, 'steps walked').to.be.greaterThan(5);
      expect(walked.kill, 'steps walked').to.be.greaterThan(5);
    });

    it("removes an older release's entry of a dead owner, mounted under a pool name: its namespace, veth and record", async () => {
      const exited = spawn(process.execPath, ['-e', '0']);
      await once(exited, 'exit');
      const id = '00c0ffee00c0ffee';
      const ns = await NetNamespace.create(`${POOL_PREFIX}${id}`);
      const record = { id, network: name, netnsPath: ns.path, hostIfname: `veth${id.slice(0, 7)}`, pid: exited.pid, created: new Date().toISOString() };
      await currentStore().write('pool', id, record);
      await NetNamespace.host().links.add({ kind: 'veth', name: record.hostIfname, peer: { name: 'eth0', netns: ns } });
      await NetNamespace.host().links.set(record.hostIfname, { alias: `nsnet:endpoint:${name}:${id}` });
      ns.close();
      expect(poolNamespaces()).to.deep.equal([`${POOL_PREFIX}${id}`]);
      const report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.pool).to.deep.equal([record.netnsPath]);
      expect(poolNamespaces()).to.deep.equal([]);
      expect(await poolRecords()).to.deep.equal([]);
      expect(await eventually(() => !hostLinks().includes(record.hostIfname)), 'its veth gone').to.equal(true);
    });

    it("after its owner is killed, reconcile removes the pool's namespaces and veths, and nothing else", async () => {
      // What must stay: a container, and this process's own pool entry.
      const kept = await setupContainer(uniqueName('plk'), { network: name });
      const ownPool = network.pool(1);
      await ownPool.filled();
      const [own] = await poolRecords();
      const other = uniqueName('plo');
      const owner = spawn(process.execPath, [OWNER, other, '10.186.0.0/24', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const [line] = await once(owner.stdout, 'data');
      expect(String(line).trim()).to.equal('ready');
      const dead = (await poolRecords()).filter((e) => e.pid === owner.pid);
      expect(dead).to.have.lengthOf(3);
      expect(heldNamespaces(owner.pid).size, "the owner's entries, held by it").to.equal(3);
      const exited = once(owner, 'exit');
      process.kill(owner.pid, 'SIGKILL');
      await exited;
      // The kernel takes the dead owner's namespaces, and their veths with them, on its own
      // schedule: some may be gone already, so the list is not checked for them here.
      const linksBefore = hostLinks();

      const report = await reconcile();
      expect(report.pool).to.have.members(dead.map((e) => e.netnsPath));
      expect(report.links.every((link) => dead.some((e) => e.hostIfname === link)), `links removed: ${report.links}`).to.equal(true);
      expect(report.containers).to.deep.equal([]);
      expect(report.endpoints).to.deep.equal([]);
      expect(report.leases).to.deep.equal([]);
      expect(report.failures).to.deep.equal([]);
      expect((await poolRecords()).map((e) => e.id)).to.deep.equal([own.id]);
      expect(heldNamespaces(process.pid)).to.include(statSync(own.netnsPath).ino);
      expect(await eventually(() => !dead.some((e) => hostLinks().includes(e.hostIfname))), 'dead pool veths gone').to.equal(true);
      // Nothing else went: the container, this process's entry, and every other link.
      const expected = linksBefore.filter((link) => !dead.some((e) => e.hostIfname === link));
      expect(hostLinks()).to.have.members(expected);
      expect(hostLinks()).to.include.members([kept.endpoint.hostIfname, own.hostIfname]);
      expect(ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], kept.id)[0].addr_info[0].local).to.equal(kept.endpoint.ipv4);
      // The entry that stayed still serves a setup.
      const next = await setupContainer(uniqueName('plx'), { network: name });
      expect(next.endpoint.id).to.equal(own.id);
      const again = await reconcile();
      expect(again.pool).to.deep.equal([]);
      expect(again.links).to.deep.equal([]);
      await removeNetwork(other, { force: true });
    });
  });
});
