// macvlan and ipvlan networks on a LAN made in the sandbox (test/lan.mjs):
// containers as machines of the LAN, reaching each other, another machine
// of it and, through the LAN's router, beyond; ipRange and auxAddresses
// (on a bridge network too); VLAN parents; refusals; reconcile after a
// crash; CNI ADD/DEL. Real traffic; `ip -d -j link` as the oracle.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { expect } from 'chai';

import { attachmentSweep } from '../../dist/cni/attachments.js';
import {
  createBridgeNetwork,
  createIpvlanNetwork,
  createMacvlanNetwork,
  getNetwork,
  listNetworks,
  NetNamespace,
  reconcile,
  removeNetwork,
  setupContainer,
  teardownContainer,
} from '../../dist/index.js';
import { CniRuntime } from '../cni-runtime.mjs';
import { startCniService } from '../cni-service.mjs';
import { eventually, expectReject, fails, ip, ipJson, runWithFault, startTcpServer, stateRecords, stop, tcpRequest, uniqueName } from '../helpers.mjs';
import { BEYOND_ROUTER, createLan } from '../lan.mjs';

const root = process.cwd();
const WORKER = join(root, 'test', 'integration', 'workers', 'fault-operation.mjs');

/** Whether the running kernel makes links of `kind` (`ip link add ... type KIND ARGS`), tried in a scratch namespace. */
async function kernelHas(kind, args = []) {
  const scratch = await NetNamespace.create(uniqueName('probe'));
  try {
    ip(['-n', scratch.name, 'link', 'add', 'base', 'type', 'veth', 'peer', 'name', 'other']);
    execFileSync('ip', ['-n', scratch.name, 'link', 'add', 'link', 'base', 'name', 'child', 'type', kind, ...args], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    await scratch.delete();
  }
}

/** The state directory's records and the host's links, to show that a refusal changed nothing. */
function hostState() {
  const records = ['networks', 'endpoints', 'leases', 'containers'].flatMap((kind) => stateRecords(kind).map((r) => `${kind}:${JSON.stringify(r)}`)).sort();
  const links = ipJson(['-d', 'link']).map((l) => `${l.ifname} ${l.operstate} ${l.linkinfo?.info_kind ?? ''}`).sort();
  return { records, links };
}

/** The child in a container's namespace, as `ip -d -j link` reads it. */
const childOf = (container, ifname = 'eth0') => ipJson(['-d', 'link', 'show', ifname], container.netns.name)[0];
const defaultRoute = (container) => ipJson(['route', 'show', 'default'], container.netns.name)[0];

describe('macvlan and ipvlan networks', function () {
  this.timeout(120000);
  let lan;
  let ipvlanInKernel;
  let vlanInKernel;
  const networks = [];
  const containers = [];
  let octet = 0;
  /** A subnet of its own for a network not on the LAN's. */
  const otherSubnet = () => `10.${150 + (process.pid % 40)}.${octet++}.0/24`;

  before(async () => {
    lan = await createLan(`${110 + (process.pid % 40)}.7`);
    ipvlanInKernel = await kernelHas('ipvlan', ['mode', 'l2']);
    vlanInKernel = await kernelHas('vlan', ['id', '10']);
  });
  after(async () => {
    await lan?.remove();
  });
  afterEach(async () => {
    for (const id of containers.splice(0)) await teardownContainer(id).catch(() => undefined);
    for (const name of networks.splice(0)) await removeNetwork(name, { force: true }).catch(() => undefined);
    await lan.uplinkHairpin(false);
  });

  async function macvlan(options = {}) {
    const name = options.name ?? uniqueName('mv');
    networks.push(name);
    return createMacvlanNetwork({ parent: lan.parent, subnet: lan.subnet, gateway: lan.gateway, ...options, name });
  }
  async function container(network, options = {}) {
    const id = uniqueName('c');
    containers.push(id);
    return setupContainer(id, { network, ...options });
  }
  /** A TCP server in `server`'s namespace (a container or a NetNamespace) reached from `client`'s at `address`. */
  async function reaches(client, server, address, port = 7100) {
    const [from, to] = [client.netns ?? client, server.netns ?? server];
    const listening = await startTcpServer(to, port, 'lan');
    try {
      expect(await tcpRequest(from, address, port, 'hello')).to.equal('lan:hello');
    } finally {
      await stop(listening);
    }
  }

  describe('macvlan', () => {
    it('bridge mode: children made in the namespace, reaching each other, the peer on the LAN and, through the router, beyond it', async () => {
      const net = await macvlan();
      expect(net.driver).to.equal('macvlan');
      const [a, b] = [await container(net.name), await container(net.name)];
      const child = childOf(a);
      expect(child.linkinfo.info_kind).to.equal('macvlan');
      expect(child.linkinfo.info_data.mode).to.equal('bridge');
      expect(child.mtu).to.equal(ipJson(['link', 'show', lan.parent])[0].mtu);
      expect(child.address).to.equal(a.endpoint.mac);
      expect(child.ifalias).to.equal(`nsnet:endpoint:${net.name}:${a.endpoint.id}`);
      expect(a.endpoint).to.include({ link: 'macvlan', hostIfname: lan.parent, gateway: lan.gateway });
      expect(defaultRoute(a)).to.include({ gateway: lan.gateway, dev: 'eth0' });
      // Up with arp_notify: the LAN learns the child's MAC for its address at once (a reused address may be cached with another's).
      expect(execFileSync('ip', ['netns', 'exec', a.netns.name, 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify'], { encoding: 'utf8' }).trim()).to.equal('1');
      // The gateway is the LAN's router: the host has no address on the network, and nothing in its namespace is the child.
      expect(ipJson(['addr', 'show', 'dev', lan.parent])[0].addr_info.filter((x) => x.family === 'inet')).to.deep.equal([]);
      expect(ipJson(['-d', 'link']).filter((l) => l.linkinfo?.info_kind === 'macvlan')).to.deep.equal([]);
      await reaches(a, b, b.endpoint.ipv4);
      await reaches(a, lan.peer, lan.peerIp);
      await reaches(lan.peer, a, a.endpoint.ipv4);
      await reaches(a, lan.router, BEYOND_ROUTER);

      await teardownContainer(containers.shift());
      expect(stateRecords('leases').find((l) => l.ipv4.addresses[a.endpoint.ipv4])).to.equal(undefined);
      expect(ipJson(['link', 'show', lan.parent])[0].flags).to.include('UP');
      await reaches(lan.peer, b, b.endpoint.ipv4);
    });

    it('connects a namespace that exists already, with the ifname asked, and disconnects it: the child goes, the namespace stays', async () => {
      const net = await macvlan({ mtu: 1400 });
      const ns = await NetNamespace.create(uniqueName('ns'));
      try {
        const endpoint = await net.connect(ns, { ifname: 'lan0', ip: lan.subnet.replace('0/24', '77') });
        const child = ipJson(['-d', 'link', 'show', 'lan0'], ns.name)[0];
        expect(child).to.include({ mtu: 1400 });
        expect(endpoint.ipv4).to.equal(lan.subnet.replace('0/24', '77'));
        await reaches(ns, lan.peer, lan.peerIp);
        await net.disconnect(ns);
        expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.deep.equal(['lo']);
        expect(await net.endpoints()).to.deep.equal([]);
      } finally {
        await ns.delete();
      }
    });

    it('dual stack: the child has its IPv6 address (no DAD) and default route via the router, and reaches the peer over IPv6', async () => {
      const net = await macvlan({ ipv6: { subnet: lan.subnet6, gateway: lan.gateway6 } });
      const a = await container(net.name);
      expect(a.endpoint).to.include({ gateway6: lan.gateway6 });
      const inet6 = ipJson(['addr', 'show', 'dev', 'eth0'], a.netns.name)[0].addr_info.filter((x) => x.family === 'inet6' && x.scope === 'global');
      expect(inet6.map((x) => x.local)).to.deep.equal([a.endpoint.ipv6]);
      expect(ipJson(['-6', 'route', 'show', 'default'], a.netns.name)[0]).to.include({ gateway: lan.gateway6 });
      await reaches(a, lan.peer, lan.peerIp6);
      await reaches(lan.peer, a, a.endpoint.ipv6);
    });

    /** Tears down the last container made while a process keeps its namespace alive: the links left inside, as the kernel lists them. */
    async function teardownWhileHeld(a) {
      const sleeper = a.netns.spawn('sleep', ['60'], { stdio: 'ignore' });
      try {
        await new Promise((resolve) => sleeper.once('spawn', resolve));
        // Spawned, and then into the namespace: counted only once it is there.
        expect(await eventually(() => readlinkSync(`/proc/${sleeper.pid}/ns/net`) === `net:[${a.netns.inode}]`)).to.equal(true);
        const { leftRunning } = await teardownContainer(containers.pop());
        expect(leftRunning).to.include(sleeper.pid);
        const inside = JSON.parse(execFileSync('nsenter', [`--net=/proc/${sleeper.pid}/ns/net`, 'ip', '-j', 'link'], { encoding: 'utf8' }));
        return inside.map((l) => l.ifname);
      } finally {
        await stop(sleeper);
      }
    }

    it('a teardown with processes left in the namespace removes the child at once: its address goes with its lease', async () => {
      const net = await macvlan();
      expect(await teardownWhileHeld(await container(net.name))).to.deep.equal(['lo']);
    });

    it('the same for a macvlan network connected to the namespace since: its child goes too', async () => {
      const bridge = uniqueName('mvb');
      networks.push(bridge);
      await createBridgeNetwork({ name: bridge, subnet: otherSubnet() });
      const a = await container(bridge);
      const net = await macvlan();
      await net.connect(a.netns, { ifname: 'eth1' });
      expect(await teardownWhileHeld(a)).to.deep.equal(['lo']);
      expect(await net.endpoints()).to.deep.equal([]);
    });

    it('reconcile puts back the default route a macvlan network gives a namespace on a bridge network too', async () => {
      const bridge = uniqueName('mvb');
      networks.push(bridge);
      await createBridgeNetwork({ name: bridge, subnet: otherSubnet() });
      const a = await container(bridge);
      const net = await macvlan();
      await net.connect(a.netns, { ifname: 'eth1', gwPriority: 1 });
      expect(defaultRoute(a)).to.include({ gateway: lan.gateway, dev: 'eth1' });
      ip(['-n', a.netns.name, '-4', 'route', 'del', 'default']);
      const report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.repaired).to.include(`container "${containers[containers.length - 1]}": IPv4 default route via ${lan.gateway} (network "${net.name}") put back`);
      expect(defaultRoute(a)).to.include({ gateway: lan.gateway, dev: 'eth1' });
      await reaches(a, lan.router, BEYOND_ROUTER);
    });

    it('a macvlan network made under the name of a dual-stack bridge network its process used: the child still has arp_notify', async () => {
      const name = uniqueName('mvg');
      await createBridgeNetwork({ name, subnet: otherSubnet(), ipv6: { subnet: 'fd00:151::/64' } });
      // Twice: the second namespace is made without its sysctl directories (a dual-stack bridge network writes none inside).
      for (let i = 0; i < 2; i++) await container(name);
      for (const id of containers.splice(0)) await teardownContainer(id);
      await removeNetwork(name);
      await macvlan({ name });
      const a = await container(name);
      expect(execFileSync('ip', ['netns', 'exec', a.netns.name, 'cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify'], { encoding: 'utf8' }).trim()).to.equal('1');
    });

    it('private and vepa modes as `ip -d` reports them: with a hairpinning switch, vepa children meet and private ones do not', async () => {
      await lan.uplinkHairpin(true);
      const vepa = await macvlan({ mode: 'vepa' });
      const [a, b] = [await container(vepa.name), await container(vepa.name)];
      expect(childOf(a).linkinfo.info_data.mode).to.equal('vepa');
      await reaches(a, b, b.endpoint.ipv4);
      for (const id of containers.splice(0)) await teardownContainer(id);
      await removeNetwork(vepa.name);

      const isolated = await macvlan({ mode: 'private' });
      const [c, d] = [await container(isolated.name), await container(isolated.name)];
      expect(childOf(c).linkinfo.info_data.mode).to.equal('private');
      const listening = await startTcpServer(d.netns, 7101);
      try {
        await fails(tcpRequest(c.netns, d.endpoint.ipv4, 7101, 'x', 1000));
      } finally {
        await stop(listening);
      }
      await reaches(c, lan.peer, lan.peerIp);
    });

    it('passthru mode takes the whole parent: no other network may share it', async () => {
      // A LAN of its own: the children of namespaces deleted by other tests may linger on the parent a moment (the kernel
      // removes them in its batched cleanup), and the kernel makes a passthru child only on a parent that has none.
      const own = await createLan(`${110 + (process.pid % 40)}.8`);
      try {
        const name = uniqueName('mvp');
        networks.push(name);
        const net = await createMacvlanNetwork({ name, parent: own.parent, subnet: own.subnet, gateway: own.gateway, mode: 'passthru' });
        const a = await container(net.name);
        expect(childOf(a).linkinfo.info_data.mode).to.equal('passthru');
        await reaches(a, own.peer, own.peerIp);
        const before = hostState();
        const error = await expectReject(createMacvlanNetwork({ name: uniqueName('mv'), parent: own.parent, subnet: otherSubnet() }), 'NsnetError', 'PARENT_IN_USE');
        expect(error.message).to.match(/passthru/);
        expect(hostState()).to.deep.equal(before);
        await teardownContainer(containers.pop());
        await removeNetwork(name);
      } finally {
        await own.remove();
      }
    });

    it('internal: a dummy parent of its own (an ifb where the kernel has no dummies), no default route, removed with the network', async () => {
      const name = uniqueName('mvi');
      networks.push(name);
      const net = await createMacvlanNetwork({ name, internal: true, subnet: otherSubnet() });
      const parent = ipJson(['-d', 'link', 'show', net.bridge])[0];
      expect(['dummy', 'ifb']).to.include(parent.linkinfo.info_kind);
      expect(parent).to.include({ ifalias: `nsnet:network:${name}`, address: net.options.bridgeMac });
      expect(net.options).to.include({ parentCreated: true, internal: true });
      const [a, b] = [await container(name), await container(name)];
      expect(defaultRoute(a)).to.equal(undefined);
      await reaches(a, b, b.endpoint.ipv4);
      await removeNetwork(name, { force: true });
      expect(ipJson(['link']).map((l) => l.ifname)).to.not.include(net.bridge);
    });

    it('hostInterface: the host reaches its own children through a macvlan of its own, made and removed with the network', async () => {
      const address = lan.subnet.replace('0/24', '250');
      const net = await macvlan({ ipRange: lan.subnet.replace('0/24', '64/27'), hostInterface: { name: uniqueName('mvh'), address } });
      const shim = ipJson(['-d', 'addr', 'show', 'dev', net.options.hostInterface.name])[0];
      expect(shim.linkinfo).to.deep.include({ info_kind: 'macvlan' });
      expect(shim.linkinfo.info_data.mode).to.equal('bridge');
      expect(shim.addr_info.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`)).to.deep.equal([`${address}/32`]);
      expect(ipJson(['route', 'show', net.options.ipRange]).map((r) => r.dev)).to.deep.equal([net.options.hostInterface.name]);
      const a = await container(net.name);
      await reaches(NetNamespace.host(), a, a.endpoint.ipv4);
      // Taken away by hand, put back by reconcile.
      ip(['addr', 'flush', 'dev', net.options.hostInterface.name]);
      ip(['link', 'set', net.options.hostInterface.name, 'down']);
      const report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.repaired.filter((line) => line.startsWith(`network "${net.name}"`))).to.have.length(3);
      await reaches(NetNamespace.host(), a, a.endpoint.ipv4);
      // Never handed out: asking for it is refused.
      await expectReject(container(net.name, { ip: address }), 'NsnetError', 'ADDRESS_IN_USE');
      await removeNetwork(net.name, { force: true });
      expect(ipJson(['link']).map((l) => l.ifname)).to.not.include(net.options.hostInterface.name);
      expect(ipJson(['route', 'show', net.options.ipRange])).to.deep.equal([]);
    });

    it('a VLAN parent `NIC.10`: made when missing and removed with the network (a kernel without 8021q refuses it, changing nothing)', async () => {
      const parent = `${lan.parent}.10`;
      const before = hostState();
      if (!vlanInKernel) {
        const error = await expectReject(macvlan({ parent, subnet: otherSubnet(), gateway: undefined }), 'NsnetError', 'KERNEL_UNSUPPORTED');
        expect(error.message).to.match(/8021q/);
        expect(hostState()).to.deep.equal(before);
        return;
      }
      const net = await macvlan({ parent, subnet: otherSubnet(), gateway: undefined });
      const vlan = ipJson(['-d', 'link', 'show', parent])[0];
      expect(vlan.linkinfo.info_kind).to.equal('vlan');
      expect(vlan.linkinfo.info_data.id).to.equal(10);
      expect(vlan.link).to.equal(lan.parent);
      expect(net.options.parentCreated).to.equal(true);
      await container(net.name);
      await removeNetwork(net.name, { force: true });
      expect(ipJson(['link']).map((l) => l.ifname)).to.not.include(parent);
    });

    it('a parent named as a VLAN that exists already is used as it is, and left alone when the network goes', async () => {
      const parent = `${lan.parent}.20`;
      if (vlanInKernel) ip(['link', 'add', 'link', lan.parent, 'name', parent, 'type', 'vlan', 'id', '20']);
      else ip(['link', 'add', parent, 'type', 'veth', 'peer', 'name', uniqueName('pv')]);
      ip(['link', 'set', parent, 'up']);
      try {
        const net = await macvlan({ parent, subnet: otherSubnet(), gateway: undefined });
        expect(net.options.parentCreated).to.equal(undefined);
        await container(net.name);
        await removeNetwork(net.name, { force: true });
        expect(ipJson(['link', 'show', parent])[0].flags).to.include('UP');
      } finally {
        ip(['link', 'delete', parent]);
      }
    });

    it('refuses bad parents, overlapping subnets on a parent, published ports, a pool, names and limits, with codes, changing nothing', async () => {
      const net = await macvlan();
      const a = await container(net.name);
      const spare = uniqueName('spare');
      ip(['link', 'add', spare, 'type', 'veth', 'peer', 'name', `${spare}p`]);
      const before = hostState();
      const refusals = [
        [() => macvlan({ parent: 'nosuchnic0', subnet: otherSubnet(), gateway: undefined }), 'PARENT_INVALID', /does not exist/],
        [() => macvlan({ parent: 'nosuchnic0.10', subnet: otherSubnet(), gateway: undefined }), 'PARENT_INVALID', /nor does nosuchnic0/],
        [() => macvlan({ parent: 'lo', subnet: otherSubnet(), gateway: undefined }), 'PARENT_INVALID', /loopback/],
        [() => macvlan({ subnet: lan.subnet.replace('0/24', '128/25'), gateway: undefined }), 'SUBNET_OVERLAP', /on the same parent/],
        [() => macvlan({ dns: true, subnet: otherSubnet(), gateway: undefined }), 'NOT_SUPPORTED_BY_DRIVER', /resolves no names/],
        [() => macvlan({ ipRange: '10.250.0.0/24' }), 'INVALID_ARGUMENT', /ipRange/],
        [() => macvlan({ auxAddresses: { router: lan.gateway } }), 'INVALID_ARGUMENT', /gateway/],
        [() => createMacvlanNetwork({ name: net.name, parent: lan.parent, subnet: lan.subnet, mode: 'vepa' }), 'NETWORK_CONFLICT', /macvlanMode/],
        [() => container(net.name, { publish: ['8080:80'] }), 'NOT_SUPPORTED_BY_DRIVER', /publishes no ports/],
        [() => container(net.name, { bandwidth: { egress: { rate: '1mbit' } } }), 'NOT_SUPPORTED_BY_DRIVER', /bandwidth/],
        [() => container(net.name, { ip: a.endpoint.ipv4 }), 'ADDRESS_IN_USE', /in use/],
        [async () => net.pool(2), 'NOT_SUPPORTED_BY_DRIVER', /warm pool/],
        [() => macvlan({ pool: { size: 2 }, subnet: otherSubnet(), gateway: undefined }), 'NOT_SUPPORTED_BY_DRIVER', /warm pool is for bridge networks/],
      ];
      refusals.push([() => createIpvlanNetwork({ name: uniqueName('iv'), parent: lan.parent, subnet: otherSubnet() }), 'PARENT_IN_USE', /one kind of child/]);
      // Known before anything is recorded: the kernel's own say, on a parent nothing uses.
      if (!ipvlanInKernel) refusals.push([() => createIpvlanNetwork({ name: uniqueName('iv'), parent: spare, subnet: otherSubnet() }), 'KERNEL_UNSUPPORTED', /no ipvlan/]);
      try {
        for (const [attempt, code, message] of refusals) {
          const error = await expectReject(attempt(), 'NsnetError', code);
          expect(error.message).to.match(message);
          expect(hostState(), `after ${code}: ${error.message}`).to.deep.equal(before);
        }
      } finally {
        ip(['link', 'delete', spare]);
      }
      // The network's own name space: a container on it keeps working.
      await reaches(lan.peer, a, a.endpoint.ipv4);
    });
  });

  describe('ipRange and auxAddresses', () => {
    /** Every address handed out unasked until SUBNET_FULL. */
    async function drain(network) {
      const handed = [];
      const namespaces = [];
      try {
        for (;;) {
          const ns = await NetNamespace.create(uniqueName('ns'));
          namespaces.push(ns);
          try {
            handed.push((await network.connect(ns)).ipv4);
          } catch (error) {
            expect(error.code).to.equal('SUBNET_FULL');
            return handed.sort();
          }
        }
      } finally {
        for (const ns of namespaces) await ns.delete();
      }
    }

    for (const driver of ['macvlan', 'bridge']) {
      it(`${driver}: unasked addresses come from the range and never are aux addresses; asked ones may be anywhere in the subnet but those`, async () => {
        const subnet = driver === 'macvlan' ? lan.subnet : otherSubnet();
        const prefix = subnet.replace('0/24', '');
        const options = { subnet, ipRange: `${prefix}16/29`, auxAddresses: { dhcp: `${prefix}18`, nas: `${prefix}100` } };
        const name = uniqueName('rg');
        networks.push(name);
        const net = driver === 'macvlan' ? await createMacvlanNetwork({ ...options, name, parent: lan.parent }) : await createBridgeNetwork({ ...options, name });
        expect(net.options).to.include({ ipRange: `${prefix}16/29` });
        expect(net.options.auxAddresses).to.deep.equal(options.auxAddresses);
        expect(await drain(net)).to.deep.equal([16, 17, 19, 20, 21, 22, 23].map((n) => `${prefix}${n}`).sort());
        const ns = await NetNamespace.create(uniqueName('ns'));
        try {
          const error = await expectReject(net.connect(ns, { ip: `${prefix}100` }), 'NsnetError', 'ADDRESS_IN_USE');
          expect(error.message).to.match(/aux address nas/);
          expect((await net.connect(ns, { ip: `${prefix}200` })).ipv4).to.equal(`${prefix}200`);
        } finally {
          await ns.delete();
        }
        const again = driver === 'macvlan' ? createMacvlanNetwork({ ...options, name, parent: lan.parent, ipRange: `${prefix}16/28` }) : createBridgeNetwork({ ...options, name, ipRange: `${prefix}16/28` });
        expect((await expectReject(again, 'NsnetError', 'NETWORK_CONFLICT')).details.differing).to.deep.equal(['ipRange']);
      });
    }
  });

  describe('ipvlan', () => {
    beforeEach(function () {
      if (!ipvlanInKernel) this.skip(); // this kernel has no ipvlan: its refusal is shown among the macvlan refusals
    });

    it('l2 (flag bridge): children share the parent MAC, reach each other, the peer and beyond the router', async () => {
      const name = uniqueName('iv');
      networks.push(name);
      const net = await createIpvlanNetwork({ name, parent: lan.parent, subnet: lan.subnet, gateway: lan.gateway, mode: 'l2' });
      const [a, b] = [await container(name), await container(name)];
      const child = childOf(a);
      expect(child.linkinfo.info_kind).to.equal('ipvlan');
      expect(child.linkinfo.info_data.mode).to.equal('l2');
      expect(child.address).to.equal(ipJson(['link', 'show', lan.parent])[0].address);
      expect(a.endpoint.mac).to.equal(child.address);
      expect(defaultRoute(a)).to.include({ gateway: lan.gateway });
      await reaches(a, b, b.endpoint.ipv4);
      await reaches(a, lan.peer, lan.peerIp);
      await reaches(a, lan.router, BEYOND_ROUTER);
      expect(net.options).to.include({ ipvlanMode: 'l2', ipvlanFlag: 'bridge' });
    });

    it('l3 (flag private as `ip -d` reports it): routed by the host, a device default route, reached by the peer through the host', async () => {
      const name = uniqueName('iv');
      networks.push(name);
      const subnet = otherSubnet();
      const hostAddress = lan.subnet.replace('0/24', '2');
      ip(['addr', 'add', `${hostAddress}/24`, 'dev', lan.parent]);
      await lan.peer.routes.add({ dst: subnet, gateway: hostAddress });
      try {
        await createIpvlanNetwork({ name, parent: lan.parent, subnet, mode: 'l3', flag: 'private' });
        const a = await container(name);
        expect(childOf(a).linkinfo.info_data).to.include({ mode: 'l3' });
        expect(JSON.stringify(childOf(a).linkinfo.info_data)).to.match(/private/);
        expect(defaultRoute(a)).to.include({ dev: 'eth0' });
        expect(defaultRoute(a).gateway).to.equal(undefined);
        await reaches(a, lan.peer, lan.peerIp);
        await reaches(lan.peer, a, a.endpoint.ipv4);
      } finally {
        await lan.peer.routes.delete({ dst: subnet, gateway: hostAddress }).catch(() => undefined);
        ip(['addr', 'del', `${hostAddress}/24`, 'dev', lan.parent]);
      }
    });

    it('refuses another mode on a parent an ipvlan network uses', async () => {
      const name = uniqueName('iv');
      networks.push(name);
      await createIpvlanNetwork({ name, parent: lan.parent, subnet: lan.subnet, mode: 'l2' });
      const before = hostState();
      await expectReject(createIpvlanNetwork({ name: uniqueName('iv'), parent: lan.parent, subnet: otherSubnet(), mode: 'l3' }), 'NsnetError', 'PARENT_IN_USE');
      await expectReject(macvlan({ subnet: otherSubnet(), gateway: undefined }), 'NsnetError', 'PARENT_IN_USE');
      expect(hostState()).to.deep.equal(before);
    });
  });

  describe('reconcile', () => {
    it('makes an internal network\'s parent again, and removes the parent of a network whose record is gone', async () => {
      const name = uniqueName('mvi');
      networks.push(name);
      const net = await createMacvlanNetwork({ name, internal: true, subnet: otherSubnet() });
      ip(['link', 'delete', net.bridge]);
      const report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.repaired).to.include(`network "${name}": parent ${net.bridge} (dummy) made again`);
      expect(ipJson(['link', 'show', net.bridge])[0]).to.include({ address: net.options.bridgeMac });
      const a = await container(name);
      expect(childOf(a).linkinfo.info_kind).to.equal('macvlan');
    });

    it('after a setup on a macvlan network killed at each of its steps, reconcile leaves no record, lease or namespace; the parent stays', async () => {
      const net = await macvlan();
      const leased = () => stateRecords('leases').flatMap((l) => Object.keys(l.ipv4.addresses));
      let n = 1;
      for (; ; n++) {
        expect(n).to.be.below(40);
        const id = uniqueName('k');
        const run = await runWithFault(WORKER, ['setupContainer', JSON.stringify({ id, options: { network: net.name } })], `setupContainer:${n}:kill`);
        if (run.injected === undefined) {
          expect(run.outcome?.ok, run.stderr).to.equal(true);
          containers.push(id);
          break;
        }
        expect(run.signal, run.stderr).to.equal('SIGKILL');
        const report = await reconcile();
        expect(report.failures, `killed at ${run.injected}`).to.deep.equal([]);
        expect(stateRecords('containers').map((c) => c.id)).to.not.include(id);
        expect(stateRecords('endpoints').filter((e) => e.network === net.name)).to.deep.equal([]);
        expect(leased(), `killed at ${run.injected}`).to.deep.equal([]);
        expect(readdirSync(process.env.NSNET_NETNS_DIR ?? '/run/netns')).to.not.include(id);
        expect(ipJson(['link', 'show', lan.parent])[0].flags).to.include('UP');
      }
      expect(n, 'steps walked').to.be.above(2);
      const c = await getNetwork(net.name);
      expect((await c.endpoints()).length).to.equal(1);
    });

    it('after an internal network\'s creation killed at each of its steps, reconcile leaves no parent of it', async () => {
      let n = 1;
      for (; ; n++) {
        expect(n).to.be.below(30);
        const name = uniqueName('kn');
        const run = await runWithFault(WORKER, ['createMacvlanNetwork', JSON.stringify({ options: { name, internal: true, subnet: otherSubnet() } })], `createMacvlanNetwork:${n}:kill`);
        if (run.injected === undefined) {
          expect(run.outcome?.ok, run.stderr).to.equal(true);
          networks.push(name);
          break;
        }
        expect(run.signal, run.stderr).to.equal('SIGKILL');
        const report = await reconcile();
        expect(report.failures).to.deep.equal([]);
        const recorded = (await listNetworks()).some((net) => net.name === name);
        const tagged = ipJson(['link']).filter((l) => l.ifalias === `nsnet:network:${name}`);
        expect(tagged.length, `killed at ${run.injected}`).to.equal(recorded ? 1 : 0);
        if (recorded) networks.push(name);
      }
      expect(n, 'steps walked').to.be.above(1);
    });
  });

  describe('CNI', () => {
    let service;
    let socket;
    before(async () => {
      socket = join(mkdtempSync(join(tmpdir(), 'nsnet-sock-')), 'cni.sock');
      service = await startCniService(socket);
    });
    after(async () => {
      await stop(service);
    });

    const nodeEnv = () => ({ NSNET_NODE: process.execPath, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` });
    const paths = [
      { name: 'nsnet cni serve', target: join(root, 'build', 'Release', 'nsnet-cni'), env: () => ({ ...nodeEnv(), NSNET_CNI_SOCKET: socket }) },
      { name: 'the plugin in node', target: join(root, 'bin', 'nsnet-cni.js'), env: nodeEnv },
    ];
    for (const path of paths) {
      it(`ADD and DEL of "driver": "macvlan" (${path.name}): the child in the namespace, the result naming it, the parent untouched`, async () => {
        const dir = mkdtempSync(join(tmpdir(), 'nsnet-cni-'));
        symlinkSync(path.target, join(dir, 'nsnet-cni'));
        const runtime = new CniRuntime([dir], path.env());
        const name = uniqueName('cm');
        networks.push(name);
        const list = { cniVersion: '1.1.0', name, plugins: [{ type: 'nsnet-cni', driver: 'macvlan', master: lan.parent, subnet: lan.subnet, gateway: lan.gateway, mode: 'bridge', ipRange: lan.subnet.replace('0/24', '32/28') }] };
        const ns = await NetNamespace.create(uniqueName('cn'));
        const attachment = { containerId: uniqueName('k'), netns: ns.path, ifname: 'eth0' };
        try {
          const result = await runtime.addNetworkList(list, attachment);
          expect(result.interfaces).to.have.length(1);
          expect(result.interfaces[0]).to.include({ name: 'eth0', sandbox: ns.path, mtu: ipJson(['link', 'show', lan.parent])[0].mtu });
          const [address] = result.ips[0].address.split('/');
          expect(result.ips[0]).to.include({ interface: 0, gateway: lan.gateway });
          expect(ipJson(['-d', 'link', 'show', 'eth0'], ns.name)[0].linkinfo.info_kind).to.equal('macvlan');
          expect(address.split('.')[3] >= 32 && address.split('.')[3] < 48).to.equal(true);
          expect((await getNetwork(name)).driver).to.equal('macvlan');
          await reaches(ns, lan.peer, lan.peerIp);
          await runtime.checkNetworkList(list, attachment);
          await runtime.delNetworkList(list, attachment);
          expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.deep.equal(['lo']);
          expect(stateRecords('leases').flatMap((l) => Object.keys(l.ipv4.addresses))).to.not.include(address);
          expect(ipJson(['link', 'show', lan.parent])[0].flags).to.include('UP');
          expect((await reconcile({ sweeps: [attachmentSweep] })).failures).to.deep.equal([]);
        } finally {
          await ns.delete();
        }
      });
    }
  });

  describe('command', () => {
    const nsnet = (args) => execFileSync(process.execPath, [join(root, 'bin', 'nsnet.js'), ...args], { encoding: 'utf8' });

    it('network create --driver macvlan as Docker\'s, listed with its driver, inspected, removed', async () => {
      const name = uniqueName('clm');
      networks.push(name);
      const prefix = lan.subnet.replace('0/24', '');
      const created = JSON.parse(
        nsnet(['network', 'create', name, '--driver', 'macvlan', '--subnet', lan.subnet, '--gateway', lan.gateway, '-o', `parent=${lan.parent}`, '-o', 'macvlan_mode=private', '--ip-range', `${prefix}64/26`, '--aux-address', `printer=${prefix}70`, '--json']),
      );
      expect(created).to.include({ name, driver: 'macvlan', parent: lan.parent, macvlanMode: 'private', ipRange: `${prefix}64/26` });
      expect(created.auxAddresses).to.deep.equal({ printer: `${prefix}70` });
      const table = nsnet(['network', 'ls']).split('\n');
      expect(table.find((line) => line.startsWith(`${name} `))).to.match(new RegExp(`^${name}\\s+macvlan\\s+${lan.parent}\\s`));
      expect(JSON.parse(nsnet(['network', 'inspect', name, '--json']))[0]).to.include({ driver: 'macvlan', dns: false });
      const id = uniqueName('c');
      containers.push(id);
      const c = await setupContainer(id, { network: name });
      const topology = nsnet(['topology']).split('\n');
      expect(topology.find((line) => line.includes(`network "${name}"`))).to.match(new RegExp(`${lan.parent}\\s+network "${name}".*\\(macvlan private, no masquerade, firewall none\\)`));
      expect(topology.some((line) => line.includes(`${lan.parent} ⇄ eth0 ${c.endpoint.ipv4}`) && line.includes(id))).to.equal(true);
      const ps = nsnet(['ps']).split('\n');
      expect(ps.find((line) => line.startsWith(`${id} `))).to.match(new RegExp(`^${id}\\s+network\\s+${name}\\s+${c.endpoint.ipv4.replace(/\./g, '\\.')}`));
      await teardownContainer(containers.pop());
      nsnet(['network', 'rm', name]);
      expect((await listNetworks()).map((n) => n.name)).to.not.include(name);
    });

    it('refuses bridge options with --driver macvlan, and -o keys the driver does not take', () => {
      const run = (args) => {
        try {
          nsnet(args);
          return 'ran';
        } catch (error) {
          return `${error.status} ${error.stderr}`;
        }
      };
      expect(run(['network', 'create', uniqueName('x'), '--driver', 'macvlan', '--parent', lan.parent, '--subnet', lan.subnet, '--no-masquerade'])).to.match(/^2 nsnet: USAGE: --no-masquerade/);
      expect(run(['network', 'create', uniqueName('x'), '--driver', 'macvlan', '--parent', lan.parent, '--subnet', lan.subnet, '-o', 'ipvlan_mode=l2'])).to.match(/^2 nsnet: USAGE: -o ipvlan_mode/);
      expect(run(['network', 'create', uniqueName('x'), '--parent', lan.parent])).to.match(/^2 nsnet: USAGE: --parent/);
    });
  });
});
