import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, listNetworks, NetNamespace, reconcile, removeNetwork } from '../../dist/index.js';
import { checkConnectInput } from '../../dist/network/connect-options.js';
import { expectReject, ip, ipJson, ipLink, linkNames, newLinks, runNode, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const stateDir = process.env.NSNET_STATE_DIR;
const stateFiles = () => ['networks', 'endpoints', 'leases', 'containers'].flatMap((kind) => readdirSync(join(stateDir, kind)).map((f) => `${kind}/${f}`)).sort();
const procSys = (key) => readFileSync(`/proc/sys/${key}`, 'utf8').trim();

describe('bridge networks', () => {
  const made = [];
  const namespaces = [];
  let subnetCounter = 0;
  /** A subnet no other test uses. */
  const freshSubnet = () => `10.${100 + (process.pid % 50)}.${subnetCounter++}.0/24`;

  async function network(options = {}) {
    const name = options.name ?? uniqueName('net');
    made.push(name);
    return createBridgeNetwork({ subnet: freshSubnet(), ...options, name });
  }
  async function namespace() {
    const ns = await NetNamespace.create(uniqueName('ep'));
    namespaces.push(ns);
    return ns;
  }

  afterEach(async () => {
    for (const ns of namespaces.splice(0)) await ns.delete().catch(() => undefined);
    for (const name of made.splice(0)) await removeNetwork(name, { force: true }).catch(() => undefined);
  });

  describe('createBridgeNetwork', () => {
    it('makes the bridge as Docker does: pinned MAC, MTU, gateway, accept_ra=0, forwarding, route_localnet', async () => {
      const net = await network({ mtu: 1400, ipv6: { subnet: 'fd00:90:1::/64' } });
      const bridge = ipLink(net.bridge);
      expect(bridge.linkinfo.info_kind).to.equal('bridge');
      expect(bridge.mtu).to.equal(1400);
      expect(bridge.address).to.equal(net.options.bridgeMac);
      expect(parseInt(bridge.address.slice(0, 2), 16) & 0x3).to.equal(0x2); // locally administered unicast
      expect(bridge.flags).to.include('UP');
      expect(bridge.ifalias).to.equal(`nsnet:network:${net.name}`);
      const addrs = ipJson(['addr', 'show', 'dev', net.bridge])[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
      expect(addrs).to.include.members([`${net.gateway}/24`, 'fd00:90:1::1/64']);
      expect(net.gateway).to.equal(net.subnet.replace(/0\/24$/, '1'));
      expect(procSys(`net/ipv6/conf/${net.bridge}/accept_ra`)).to.equal('0');
      expect(procSys(`net/ipv4/conf/${net.bridge}/route_localnet`)).to.equal('1');
      expect(procSys('net/ipv4/ip_forward')).to.equal('1');
      expect(procSys('net/ipv6/conf/all/forwarding')).to.equal('1');
    });

    it('returns the existing network for the same options, and refuses different ones', async () => {
      const net = await network();
      const again = await createBridgeNetwork({ name: net.name, subnet: net.subnet });
      expect(again.options).to.deep.equal(net.options);
      const error = await expectReject(createBridgeNetwork({ name: net.name, subnet: net.subnet, mtu: 9000 }), 'NsnetError', 'NETWORK_CONFLICT');
      expect(error.details.differing).to.deep.equal(['mtu']);
      expect(ipLink(net.bridge).mtu).to.equal(1500);
    });

    it('is seen by another process from the state directory', async () => {
      const net = await network({ internal: true });
      const out = await runNode(
        NetNamespace.host(),
        `require(${JSON.stringify(join(process.cwd(), 'dist/index.js'))}).getNetwork(process.argv[1])
           .then((n) => console.log(JSON.stringify(n.options)))`,
        [net.name],
      );
      expect(JSON.parse(out)).to.deep.equal(net.options);
      expect((await listNetworks()).map((n) => n.name)).to.include(net.name);
    });

    it('picks the first free /24 of 10.89.0.0/16, avoiding host routes, addresses and other networks', async () => {
      const blocker = uniqueName('bl');
      ip(['link', 'add', blocker, 'type', 'bridge']);
      try {
        ip(['addr', 'add', '10.89.0.1/24', 'dev', blocker]);
        ip(['link', 'set', blocker, 'up']);
        ip(['route', 'add', '10.89.1.0/25', 'dev', blocker]);
        const first = await network({ subnet: undefined });
        expect(first.subnet).to.equal('10.89.2.0/24');
        expect(first.options.subnetAuto).to.equal(true);
        const second = await network({ subnet: undefined });
        expect(second.subnet).to.equal('10.89.3.0/24');
      } finally {
        ip(['link', 'del', blocker]);
      }
    });

    it('refuses a subnet overlapping another network or a host route, changing nothing', async () => {
      const net = await network();
      const routed = freshSubnet();
      ip(['route', 'add', routed, 'dev', 'lo']);
      try {
        const before = { links: linkNames(), state: stateFiles() };
        const overlapping = net.subnet.replace('.0/24', '.128/25');
        const error = await expectReject(network({ subnet: overlapping }), 'NsnetError', 'SUBNET_OVERLAP');
        expect(error.message).to.contain(net.name);
        const route = await expectReject(network({ subnet: routed.replace('.0/24', '.0/25') }), 'NsnetError', 'SUBNET_OVERLAP');
        expect(route.message).to.contain(`host route ${routed}`);
        expect(newLinks(before.links)).to.deep.equal([]);
        expect(stateFiles()).to.deep.equal(before.state);
      } finally {
        ip(['route', 'del', routed, 'dev', 'lo']);
      }
    });

    it('refuses a bridge name held by a foreign interface or another network', async () => {
      const foreign = uniqueName('fo');
      ip(['link', 'add', foreign, 'type', 'bridge']);
      try {
        await expectReject(network({ bridge: foreign }), 'NsnetError', 'BRIDGE_NAME_TAKEN');
        expect(ipLink(foreign).ifalias).to.equal(undefined);
      } finally {
        ip(['link', 'del', foreign]);
      }
      const net = await network();
      await expectReject(network({ bridge: net.bridge }), 'NsnetError', 'BRIDGE_NAME_TAKEN');
    });

    it('refuses bad options with INVALID_ARGUMENT before changing anything', async () => {
      const before = { links: linkNames(), state: stateFiles() };
      const bad = [
        { name: '' },
        { name: '-x' },
        { name: 'a'.repeat(65) },
        { name: 'ok', bridge: 'x'.repeat(16) },
        { name: 'ok', subnet: '10.0.0.1/24' },
        { name: 'ok', subnet: '10.0.0.0/31' },
        { name: 'ok', subnet: 'fd00::/64' },
        { name: 'ok', subnet: '10.0.0.0/24', gateway: '10.0.1.1' },
        { name: 'ok', gateway: '10.0.0.1' },
        { name: 'ok', ipv6: { subnet: '10.0.0.0/24' } },
        { name: 'ok', mtu: 10 },
        { name: 'ok', masquerade: 'yes' },
        { name: 'ok', firewall: 'pf' },
        { name: 'ok', hostIp: 'localhost' },
        { name: 'ok', bridge: 'br"x' }, // would break out of a quoted iptables argument
        { name: 'ok', hostIp: '::', ipv6: undefined }, // IPv6 ports need an IPv6 subnet
        { name: 'ok', hostIp: '::1', ipv6: { subnet: 'fd00:91::/64' } }, // no route_localnet for IPv6
        { name: 'ok', colour: 'blue' },
      ];
      for (const options of bad) await expectReject(createBridgeNetwork(options), 'NsnetError', 'INVALID_ARGUMENT');
      expect(newLinks(before.links)).to.deep.equal([]);
      expect(stateFiles()).to.deep.equal(before.state);
    });

    it('reconcile makes a missing bridge again, and removes a tagged bridge without a network', async () => {
      const net = await network();
      ip(['link', 'del', net.bridge]);
      const stray = uniqueName('st');
      ip(['link', 'add', stray, 'type', 'bridge']);
      ip(['link', 'set', stray, 'alias', `nsnet:network:${uniqueName('gone')}`]);
      const report = await reconcile();
      expect(report.bridges).to.deep.equal([net.name]);
      expect(report.strayBridges).to.deep.equal([stray]);
      expect(ipLink(net.bridge).address).to.equal(net.options.bridgeMac);
      expect(ipLink(stray)).to.equal(undefined);
    });

    it('connects in the same process after the bridge was deleted and made again (a cached index goes stale)', async () => {
      const net = await network();
      await net.connect(await namespace());
      const oldIndex = ipLink(net.bridge).ifindex;
      ip(['link', 'del', net.bridge]);
      expect((await reconcile()).bridges).to.deep.equal([net.name]);
      const newIndex = ipLink(net.bridge).ifindex;
      expect(newIndex).to.not.equal(oldIndex);
      const ep = await net.connect(await namespace());
      expect(ipLink(ep.hostIfname).master).to.equal(net.bridge);
    });

    it('removes a network only when empty, unless forced', async () => {
      const net = await network();
      const ns = await namespace();
      await net.connect(ns);
      await expectReject(net.remove(), 'NsnetError', 'NETWORK_IN_USE');
      expect(ipLink(net.bridge)).to.not.equal(undefined);
      await removeNetwork(net.name, { force: true });
      made.pop();
      expect(ipLink(net.bridge)).to.equal(undefined);
      expect(ipLink('eth0', ns.name)).to.equal(undefined);
      expect(stateFiles().filter((f) => f.includes(net.name))).to.deep.equal([]);
      await expectReject(getNetwork(net.name), 'NsnetError', 'NETWORK_NOT_FOUND');
    });
  });

  describe('connect and disconnect', () => {
    it('gives a namespace a veth on the bridge with address, MAC, MTU and default route', async () => {
      const net = await network({ mtu: 1450 });
      const ns = await namespace();
      const ep = await net.connect(ns, { mac: '02:42:ac:11:00:09' });
      expect(ep).to.include({ network: net.name, ifname: 'eth0', mac: '02:42:ac:11:00:09', gateway: net.gateway });
      expect(ep.netns).to.equal(ns);
      const eth0 = ipLink('eth0', ns.name);
      expect(eth0).to.include({ address: '02:42:ac:11:00:09', mtu: 1450, operstate: 'UP' });
      const [addr] = ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], ns.name)[0].addr_info;
      expect(`${addr.local}/${addr.prefixlen}`).to.equal(`${ep.ipv4}/24`);
      expect(ipJson(['route'], ns.name).find((r) => r.dst === 'default')).to.include({ gateway: net.gateway, dev: 'eth0' });
      expect(ipLink('lo', ns.name).flags).to.include('UP');
      const hostEnd = ipLink(ep.hostIfname);
      expect(hostEnd).to.include({ master: net.bridge, mtu: 1450 });
      expect(hostEnd.linkinfo.info_slave_data.hairpin).to.equal(true);
      expect(hostEnd.ifalias).to.equal(`nsnet:endpoint:${net.name}:${ep.id}`);
      expect(procSys.call(null, 'net/ipv4/ip_forward')).to.equal('1');
      const disabled = execFileSync('ip', ['netns', 'exec', ns.name, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6'], { encoding: 'utf8' });
      expect(disabled.trim()).to.equal('1');
      expect((await net.endpoints()).map((e) => e.id)).to.deep.equal([ep.id]);
    });

    it('carries TCP both ways between two namespaces, and to the gateway', async () => {
      const net = await network();
      const [a, b] = [await namespace(), await namespace()];
      const epA = await net.connect(a);
      const epB = await net.connect(b);
      const serverA = await startTcpServer(a, 7101, 'a');
      const serverB = await startTcpServer(b, 7102, 'b');
      const serverHost = await startTcpServer(NetNamespace.host(), 7103, 'gw');
      try {
        expect(await tcpRequest(b, epA.ipv4, 7101, 'from b')).to.equal('a:from b');
        expect(await tcpRequest(a, epB.ipv4, 7102, 'from a')).to.equal('b:from a');
        expect(await tcpRequest(a, net.gateway, 7103, 'to gateway')).to.equal('gw:to gateway');
      } finally {
        await Promise.all([stop(serverA), stop(serverB), stop(serverHost)]);
      }
    });

    it('gives dual-stack endpoints IPv6 without DAD, and TCP over it', async () => {
      const net = await network({ ipv6: { subnet: 'fd00:90:2::/64' } });
      const [a, b] = [await namespace(), await namespace()];
      const epA = await net.connect(a);
      const epB = await net.connect(b, { ipv6: 'fd00:90:2::99' });
      expect(epA.ipv6).to.equal('fd00:90:2::2');
      expect(epB.ipv6).to.equal('fd00:90:2::99');
      const info = ipJson(['-6', 'addr', 'show', 'dev', 'eth0'], a.name)[0].addr_info.find((x) => x.local === epA.ipv6);
      expect(info).to.include({ prefixlen: 64, nodad: true });
      expect(info.tentative).to.equal(undefined);
      expect(ipJson(['-6', 'route'], a.name).find((r) => r.dst === 'default')).to.include({ gateway: 'fd00:90:2::1' });
      const server = await startTcpServer(b, 7104, 'v6');
      try {
        expect(await tcpRequest(a, epB.ipv6, 7104, 'hello')).to.equal('v6:hello');
      } finally {
        await stop(server);
      }
    });

    it('connects a namespace to a second network of lower gwPriority, which leaves it the default routes of the first', async () => {
      const first = await network({ ipv6: { subnet: 'fd00:90:3::/64' } });
      const second = await network({ ipv6: { subnet: 'fd00:90:4::/64' } });
      const [ns, peer] = [await namespace(), await namespace()];
      const epFirst = await first.connect(ns);
      const epSecond = await second.connect(ns, { ifname: 'eth1', gwPriority: -1 });
      const epPeer = await second.connect(peer);
      const defaults = (family) => ipJson([family, 'route', 'show', 'default'], ns.name).map(({ gateway, dev }) => ({ gateway, dev }));
      expect(defaults('-4')).to.deep.equal([{ gateway: epFirst.gateway, dev: 'eth0' }]);
      expect(defaults('-6')).to.deep.equal([{ gateway: 'fd00:90:3::1', dev: 'eth0' }]);
      const eth1 = ipJson(['addr', 'show', 'dev', 'eth1'], ns.name)[0].addr_info.filter((a) => a.scope === 'global');
      expect(eth1.map((a) => a.local)).to.deep.equal([epSecond.ipv4, epSecond.ipv6]);
      // The second network's addresses are reached on its own interface.
      const server = await startTcpServer(peer, 7105, 'second');
      try {
        expect(await tcpRequest(ns, epPeer.ipv4, 7105, 'v4')).to.equal('second:v4');
        expect(await tcpRequest(ns, epPeer.ipv6, 7105, 'v6')).to.equal('second:v6');
      } finally {
        await stop(server);
      }
      await second.disconnect(ns);
      expect(defaults('-4')).to.deep.equal([{ gateway: epFirst.gateway, dev: 'eth0' }]);
      expect(newLinks(new Set(['lo', 'eth0']), ns.name)).to.deep.equal([]);
    });

    it('leaves internal networks without gateway address or default route (without name resolution)', async () => {
      const net = await network({ internal: true, dns: false });
      const ns = await namespace();
      const ep = await net.connect(ns);
      expect(ep.gateway).to.equal(undefined);
      expect(ipJson(['-4', 'addr', 'show', 'dev', net.bridge])[0]?.addr_info ?? []).to.deep.equal([]);
      expect(ipJson(['route'], ns.name).find((r) => r.dst === 'default')).to.equal(undefined);
    });

    for (const firewall of ['nftables', 'iptables']) {
      it(`gives a resolving internal network its gateway for the resolver only (${firewall}): no default route, no other port of the host`, async () => {
        const net = await network({ internal: true, firewall });
        const ns = await namespace();
        const ep = await net.connect(ns);
        expect(ep.gateway).to.equal(undefined);
        expect(ipJson(['route'], ns.name).find((r) => r.dst === 'default')).to.equal(undefined);
        const addresses = (ipJson(['-4', 'addr', 'show', 'dev', net.bridge])[0]?.addr_info ?? []).map((a) => a.local);
        expect(addresses).to.deep.equal([net.gateway]);
        // A host service on every address: not for an internal network's containers.
        const server = await startTcpServer(NetNamespace.host(), 18053);
        try {
          expect(await tcpRequest(NetNamespace.host(), net.gateway, 18053, 'x')).to.equal('echo:x');
          const refused = await tcpRequest(ns, net.gateway, 18053, 'x', 1500).then(() => 'reached', (error) => error.message);
          expect(refused).to.match(/timeout|exited with [23]/);
        } finally {
          await stop(server);
        }
        // The resolver on the gateway answers the container's own name.
        const asked = ns.spawn('dig', ['+short', '+tries=1', '+time=2', `@${net.gateway}`, ep.id], { stdio: ['ignore', 'pipe', 'pipe'] });
        let answer = '';
        asked.stdout.on('data', (chunk) => (answer += chunk));
        await new Promise((resolve) => asked.once('exit', resolve));
        expect(answer.trim()).to.equal(ep.ipv4);
      });
    }

    it('honours static addresses and refuses taken, gateway and out-of-range ones', async () => {
      const net = await network();
      const base = net.subnet.replace('.0/24', '');
      const [a, b] = [await namespace(), await namespace()];
      const ep = await net.connect(a, { ip: `${base}.50` });
      expect(ep.ipv4).to.equal(`${base}.50`);
      const before = stateFiles();
      await expectReject(net.connect(b, { ip: `${base}.50` }), 'NsnetError', 'ADDRESS_IN_USE');
      await expectReject(net.connect(b, { ip: net.gateway }), 'NsnetError', 'ADDRESS_IN_USE');
      await expectReject(net.connect(b, { ip: `${base}.255` }), 'NsnetError', 'ADDRESS_OUT_OF_RANGE');
      await expectReject(net.connect(b, { ip: '192.0.2.1' }), 'NsnetError', 'ADDRESS_OUT_OF_RANGE');
      await expectReject(net.connect(a), 'NsnetError', 'ENDPOINT_EXISTS');
      expect(stateFiles()).to.deep.equal(before);
      expect(ipJson(['link'], b.name).map((l) => l.ifname)).to.deep.equal(['lo']);
    });

    it('hands out addresses round-robin and says SUBNET_FULL when none is left', async () => {
      const net = await network({ subnet: `10.${100 + (process.pid % 50)}.${subnetCounter++}.0/29` });
      const spaces = [];
      for (let i = 0; i < 6; i++) spaces.push(await namespace());
      const first = await net.connect(spaces[0]);
      await net.disconnect(spaces[0]);
      const second = await net.connect(spaces[1]);
      expect(second.ipv4).to.not.equal(first.ipv4); // not reused at once
      for (const ns of spaces.slice(2, 5)) await net.connect(ns);
      expect((await net.connect(spaces[0])).ipv4).to.equal(first.ipv4); // wraps round to the released address
      await expectReject(net.connect(spaces[5]), 'NsnetError', 'SUBNET_FULL');
      // Each namespace has the address it was given, and no two share one.
      const live = spaces.slice(0, 5).map((ns) => ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], ns.name)[0].addr_info[0].local);
      expect(new Set(live).size).to.equal(5);
      expect(live.sort()).to.deep.equal((await net.endpoints()).map((e) => e.ipv4).sort());
    });

    it('disconnects: links, lease and record go; twice, or with the namespace gone, succeeds', async () => {
      const net = await network();
      const ns = await namespace();
      const ep = await net.connect(ns);
      await net.disconnect(ns);
      expect(ipLink(ep.hostIfname)).to.equal(undefined);
      expect(ipLink('eth0', ns.name)).to.equal(undefined);
      expect(await net.endpoints()).to.deep.equal([]);
      await net.disconnect(ns);
      const gone = await namespace();
      const ep2 = await net.connect(gone);
      await gone.delete();
      await net.disconnect(gone.name);
      expect(await net.endpoints()).to.deep.equal([]);
      const leases = JSON.parse(readFileSync(join(stateDir, 'leases', `${net.name}.json`), 'utf8'));
      expect(Object.keys(leases.ipv4.addresses)).to.not.include(ep2.ipv4);
    });

    it('takes over a record left under its key by a namespace gone whose inode number the kernel gave again', async () => {
      const net = await network();
      const gone = await namespace();
      const old = await net.connect(gone);
      await gone.delete(); // without disconnect: its record stays
      const ns = await namespace();
      // What the kernel does in time: the new namespace gets the freed inode number.
      const dir = join(stateDir, 'endpoints');
      const stale = JSON.parse(readFileSync(join(dir, `${net.name}@${gone.inode}.json`), 'utf8'));
      rmSync(join(dir, `${net.name}@${gone.inode}.json`));
      writeFileSync(join(dir, `${net.name}@${ns.inode}.json`), JSON.stringify({ ...stale, netnsInode: ns.inode }));
      const ep = await net.connect(ns);
      expect(ep.id).to.not.equal(old.id);
      expect((await net.endpoints()).map((e) => e.id)).to.deep.equal([ep.id]);
      const leases = JSON.parse(readFileSync(join(stateDir, 'leases', `${net.name}.json`), 'utf8'));
      expect(Object.values(leases.ipv4.addresses)).to.not.include(old.id);
      await net.disconnect(ns);
    });

    it('takes over such a record too when the namespace is still being made (a setup picks its addresses meanwhile)', async () => {
      // setupContainer's path: connectFresh gets the namespace as a promise, and reads its key only once it exists.
      const net = await network();
      const gone = await namespace();
      const old = await net.connect(gone);
      await gone.delete();
      const ns = await namespace();
      const dir = join(stateDir, 'endpoints');
      const stale = JSON.parse(readFileSync(join(dir, `${net.name}@${gone.inode}.json`), 'utf8'));
      rmSync(join(dir, `${net.name}@${gone.inode}.json`));
      writeFileSync(join(dir, `${net.name}@${ns.inode}.json`), JSON.stringify({ ...stale, netnsInode: ns.inode }));
      const ep = await net.connectFresh(Promise.resolve(ns), checkConnectInput({}));
      expect(ep.id).to.not.equal(old.id);
      expect((await net.endpoints()).map((e) => e.id)).to.deep.equal([ep.id]);
      const leases = JSON.parse(readFileSync(join(stateDir, 'leases', `${net.name}.json`), 'utf8'));
      expect(Object.values(leases.ipv4.addresses)).to.deep.equal([ep.id]);
      expect(ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], ns.name)[0].addr_info[0].local).to.equal(ep.ipv4);
      await net.disconnect(ns);
    });

    it('undoes every step when one fails mid-connect, and says which step', async () => {
      const net = await network({ ipv6: { subnet: 'fd00:90:3::/64' } });
      const ns = await namespace();
      // IPv6 off in the namespace: the veth is made, then the IPv6 address fails.
      execFileSync('ip', ['netns', 'exec', ns.name, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6']);
      const linksBefore = linkNames();
      const before = stateFiles();
      // The kernel's error keeps its class (NetlinkError, an NsnetError) when the step names itself.
      const error = await expectReject(net.connect(ns), 'NetlinkError', 'EACCES');
      expect(error.details.step).to.equal('configure addresses and routes');
      expect(error.message).to.contain('configure addresses and routes');
      expect(newLinks(linksBefore)).to.deep.equal([]);
      expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.deep.equal(['lo']);
      // The network's first connect, undone: not even a leases record stays.
      expect(stateFiles()).to.deep.equal(before);
    });

    it('refuses to connect through a stale handle of a network removed and made again', async () => {
      const old = await network();
      const ns = await namespace();
      await removeNetwork(old.name);
      const again = await createBridgeNetwork({ name: old.name, subnet: freshSubnet() });
      await expectReject(old.connect(ns), 'NsnetError', 'NETWORK_NOT_FOUND');
      expect(await again.endpoints()).to.deep.equal([]);
      expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.deep.equal(['lo']);
    });

    it('refuses bad connect options before changing anything', async () => {
      const net = await network();
      const ns = await namespace();
      const before = stateFiles();
      for (const options of [{ ifname: 'x'.repeat(16) }, { ip: 'fd00::1' }, { ip: 'nope' }, { mac: '01:00:00:00:00:01' }, { ipv6: 'fd00::1' }, { colour: 1 }]) {
        await expectReject(net.connect(ns, options), 'NsnetError', 'INVALID_ARGUMENT');
      }
      await expectReject(net.connect({ pid: 0 }), 'NsnetError', 'INVALID_ARGUMENT');
      await expectReject(net.connect('no-such-netns'), 'NsnetError', 'NETNS_NOT_FOUND');
      expect(stateFiles()).to.deep.equal(before);
    });
  });
});
