// Routed networks: no bridge, one veth per container with an address-less
// host end, a /32 (/128) host route to the container, a link-local gateway
// inside. A `wan` namespace stands for the outside world (host 198.51.102.1,
// wan 198.51.102.2, 2001:db8:102::/64); the host routes out through it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, createRoutedNetwork, getNetwork, listNetworks, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { createWan, eventually, expectReject, fails, ipJson, startTcpServer, startWhoAmIServer, stop, suiteFixture, tcpRequest, uniqueName } from '../helpers.mjs';

const HOST = '198.51.102.1';
const WAN = '198.51.102.2';
const HOST6 = '2001:db8:102::1';
const WAN6 = '2001:db8:102::2';

function nsnet(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(process.cwd(), 'bin', 'nsnet.js'), ...args], (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

/** The host's routes to one address, as `ip` reads them. */
function hostRoutesTo(address) {
  const family = address.includes(':') ? '-6' : '-4';
  return ipJson([family, 'route', 'show', address.includes(':') ? `${address}/128` : `${address}/32`]).filter((r) => r.dst === address || r.dst === `${address}/128`);
}

for (const backend of ['nftables', 'iptables']) describe(`routed networks (${backend}): traffic, isolation, teardown`, function () {
  this.timeout(120000);
  const host = NetNamespace.host();
  let wan;
  let removeWan;
  const { ids, networks, c, container, network } = suiteFixture(createRoutedNetwork, 'rt', { firewall: backend });
  const servers = [];
  const base = backend === 'nftables' ? 170 : 180;

  before(async () => {
    ({ netns: wan, remove: removeWan } = await createWan('rwan0', { host: HOST, wan: WAN, host6: HOST6, wan6: WAN6 }));
    await host.routes.add({ dst: 'default', gateway: WAN });
    await host.routes.add({ dst: 'default', gateway: WAN6 });

    const a = await network({ subnet: `10.${base}.0.0/24`, ipv6: { subnet: `fd00:${base}::/64` } });
    const iccOff = await network({ subnet: `10.${base + 1}.0.0/24`, icc: false });
    const internal = await network({ subnet: `10.${base + 2}.0.0/24`, internal: true });
    const noMasq = await network({ subnet: `10.${base + 3}.0.0/24`, masquerade: false });
    await container('a1', a, { publish: ['8480:80', '127.0.0.1:8481:80'] });
    await container('a2', a);
    await container('c1', iccOff);
    await container('c2', iccOff, { publish: ['8490:80'] });
    await container('d1', internal);
    await container('d2', internal);
    await container('e1', noMasq);
    await wan.routes.add({ dst: `10.${base + 3}.0.0/24`, gateway: HOST });
    servers.push(
      await startTcpServer(c.a1.netns, 80, 'a1'),
      await startTcpServer(c.c2.netns, 80, 'c2'),
      await startTcpServer(c.d2.netns, 80, 'd2'),
      await startTcpServer(c.e1.netns, 80, 'e1'),
      await startWhoAmIServer(wan, 9000),
    );
  });

  after(async () => {
    for (const server of servers) await stop(server);
    for (const id of ids.reverse()) await teardownContainer(id);
    for (const name of networks) await removeNetwork(name);
    await removeWan();
    await host.routes.delete({ dst: 'default', gateway: WAN }).catch(() => undefined);
    await host.routes.delete({ dst: 'default', gateway: WAN6 }).catch(() => undefined);
  });

  it('makes no bridge: a host end with no address and a host route to the container through it', async () => {
    const net = await getNetwork(networks[0]);
    expect(net.options.driver).to.equal('routed');
    expect(ipJson(['link', 'show', 'type', 'bridge']).map((l) => l.ifname)).to.not.include(net.bridge);
    const { endpoint } = c.a1;
    expect(endpoint.hostIfname.startsWith(net.bridge)).to.equal(true);
    const [hostEnd] = ipJson(['addr', 'show', 'dev', endpoint.hostIfname]);
    expect(hostEnd.master).to.equal(undefined);
    expect(hostEnd.addr_info.filter((a) => a.family === 'inet')).to.deep.equal([]);
    expect(hostRoutesTo(endpoint.ipv4).map(({ dst, dev, scope }) => ({ dst, dev, scope }))).to.deep.equal([{ dst: endpoint.ipv4, dev: endpoint.hostIfname, scope: 'link' }]);
    expect(hostRoutesTo(endpoint.ipv6).map((r) => r.dev)).to.deep.equal([endpoint.hostIfname]);
    // Inside: the address alone, the gateway on the link, the default route through it.
    const [eth0] = ipJson(['addr', 'show', 'dev', 'eth0'], c.a1.id);
    expect(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal([`${endpoint.ipv4}/32`]);
    const routes = ipJson(['-4', 'route', 'show'], c.a1.id).map(({ protocol: _protocol, ...route }) => route);
    expect(routes).to.deep.include.members([
      // Its metric is the interface's index: another routed network's interface has a route of its own.
      { dst: '169.254.1.1', dev: 'eth0', scope: 'link', metric: 2, flags: [] },
      { dst: 'default', gateway: '169.254.1.1', dev: 'eth0', flags: [] },
    ]);
    expect(ipJson(['-6', 'route', 'show', 'default'], c.a1.id)[0]).to.include({ gateway: 'fe80::1', dev: 'eth0' });
    // On an IPv4-only network neither end has IPv6.
    expect(ipJson(['-6', 'addr', 'show', 'dev', c.c1.endpoint.hostIfname])).to.deep.equal([]);
    expect(ipJson(['-6', 'addr', 'show', 'dev', 'eth0'], c.c1.id)).to.deep.equal([]);
  });

  it('carries TCP between two containers of the network, over IPv4 and IPv6', async () => {
    expect(await tcpRequest(c.a2.netns, c.a1.endpoint.ipv4, 80, 'peer')).to.equal('a1:peer');
    expect(await tcpRequest(c.a2.netns, c.a1.endpoint.ipv6, 80, 'peer6')).to.equal('a1:peer6');
  });

  it('masquerades traffic out (wan sees the host); without masquerade wan sees the container, and reaches no unpublished port', async () => {
    expect(await tcpRequest(c.a1.netns, WAN, 9000, 'x')).to.equal(HOST);
    // wan's way back to that subnet is its route through the host.
    expect(await tcpRequest(c.e1.netns, WAN, 9000, 'x')).to.equal(c.e1.endpoint.ipv4);
    await fails(tcpRequest(wan, c.e1.endpoint.ipv4, 80, 'unpublished', 1000));
  });

  it('publishes ports to wan, to the host, on 127.0.0.1, to the network itself (hairpin), also on an icc-off network', async () => {
    expect(await tcpRequest(wan, HOST, 8480, 'published')).to.equal('a1:published');
    expect(await tcpRequest(host, HOST, 8480, 'from the host')).to.equal('a1:from the host');
    expect(await tcpRequest(host, '127.0.0.1', 8481, 'local')).to.equal('a1:local');
    expect(await tcpRequest(c.a2.netns, HOST, 8480, 'hairpin')).to.equal('a1:hairpin');
    await fails(tcpRequest(wan, HOST, 8481, 'not for wan', 1000));
    expect(await tcpRequest(wan, HOST, 8490, 'published')).to.equal('c2:published');
  });

  it('keeps icc-off containers, other networks and internal networks apart', async () => {
    await fails(tcpRequest(c.c1.netns, c.c2.endpoint.ipv4, 80, 'icc off', 1000));
    await fails(tcpRequest(c.a1.netns, c.c2.endpoint.ipv4, 80, 'other network', 1000));
    await fails(tcpRequest(c.a1.netns, c.d2.endpoint.ipv4, 80, 'into internal', 1000));
    // Internal: its containers reach each other, and nothing out.
    expect(await tcpRequest(c.d1.netns, c.d2.endpoint.ipv4, 80, 'inside')).to.equal('d2:inside');
    expect(ipJson(['-4', 'route', 'show', 'default'], c.d1.id)).to.deep.equal([]);
    await fails(tcpRequest(c.d1.netns, WAN, 9000, 'out', 1000));
    await fails(tcpRequest(c.d1.netns, c.a1.endpoint.ipv4, 80, 'to another network', 1000));
  });

  it('connects a namespace on a bridge network too, keeping the default route of the network of the higher gwPriority', async () => {
    const bridge = uniqueName('rtb');
    networks.push(bridge);
    await createBridgeNetwork({ name: bridge, subnet: `10.${base + 5}.0.0/24`, firewall: backend });
    const ns = await NetNamespace.create(uniqueName('rtn'));
    try {
      await (await getNetwork(bridge)).connect(ns);
      // At equal priorities the dual-stack routed network would win (Docker's order): the bridge network's is higher.
      const routed = await (await getNetwork(networks[0])).connect(ns, { ifname: 'eth1', gwPriority: -1 });
      const eth1 = ipJson(['-4', 'addr', 'show', 'dev', 'eth1'], ns.name)[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
      expect(eth1).to.deep.equal([`${routed.ipv4}/32`]);
      expect(ipJson(['-4', 'route', 'show', 'default'], ns.name).map((r) => r.gateway)).to.deep.equal([`10.${base + 5}.0.1`]);
      expect(hostRoutesTo(routed.ipv4).map((r) => r.dev)).to.deep.equal([routed.hostIfname]);
      await (await getNetwork(networks[0])).disconnect(ns);
      await (await getNetwork(bridge)).disconnect(ns);
    } finally {
      await ns.delete();
    }
  });

  it('leaves no route and no link once a container goes', async () => {
    const net = networks[0];
    const id = uniqueName('gone');
    const { endpoint } = await setupContainer(id, { network: net });
    // Its host end's link-local address, the host's source for neighbour discovery, is usable at once: no DAD.
    const linkLocal = ipJson(['-6', 'addr', 'show', 'dev', endpoint.hostIfname])[0].addr_info;
    expect(linkLocal.map((a) => [a.scope, a.tentative ?? false])).to.deep.equal([['link', false]]);
    expect(hostRoutesTo(endpoint.ipv4)).to.have.length(1);
    await teardownContainer(id);
    // The kernel removes a deleted namespace's veth in the background, and its routes with it.
    expect(await eventually(() => !ipJson(['link', 'show']).some((l) => l.ifname === endpoint.hostIfname))).to.equal(true);
    expect(hostRoutesTo(endpoint.ipv4)).to.deep.equal([]);
    expect(hostRoutesTo(endpoint.ipv6)).to.deep.equal([]);
  });
});

describe('routed networks: refusals', function () {
  this.timeout(60000);

  it('refuses a subnet of another network, dns, a pool, and an existing name of another driver, changing nothing', async () => {
    const bridge = uniqueName('rb');
    await createBridgeNetwork({ name: bridge, subnet: '10.190.0.0/24' });
    const before = (await listNetworks()).map((n) => n.options);
    try {
      await expectReject(createRoutedNetwork({ name: uniqueName('rt'), subnet: '10.190.0.128/25' }), 'NsnetError', 'SUBNET_OVERLAP');
      await expectReject(createRoutedNetwork({ name: uniqueName('rt'), subnet: '10.191.0.0/24', dns: true }), 'NsnetError', 'INVALID_ARGUMENT');
      const pooled = await expectReject(createRoutedNetwork({ name: uniqueName('rt'), subnet: '10.191.0.0/24', pool: { size: 2 } }), 'NsnetError', 'NOT_SUPPORTED_BY_DRIVER');
      expect(pooled.message).to.match(/warm pool is for bridge networks/);
      await expectReject(createRoutedNetwork({ name: bridge, subnet: '10.192.0.0/24' }), 'NsnetError', 'NETWORK_CONFLICT');
      expect((await getNetwork(bridge)).options.driver).to.equal(undefined);
      expect((await listNetworks()).map((n) => n.options)).to.deep.equal(before);
    } finally {
      await removeNetwork(bridge);
    }
  });

  it('gives the same network back for the same options, and refuses different ones', async () => {
    const name = uniqueName('rt');
    const first = await createRoutedNetwork({ name, subnet: '10.193.0.0/24' });
    try {
      const again = await createRoutedNetwork({ name, subnet: '10.193.0.0/24' });
      expect(again.options.created).to.equal(first.options.created);
      await expectReject(createRoutedNetwork({ name, subnet: '10.193.0.0/24', icc: false }), 'NsnetError', 'NETWORK_CONFLICT');
    } finally {
      await removeNetwork(name);
    }
  });
});

describe('routed networks: the nsnet command', function () {
  this.timeout(60000);

  it('network create --driver routed, ls (DRIVER), inspect, run, ps, topology, rm', async () => {
    const name = uniqueName('rcli');
    const created = await nsnet(['network', 'create', name, '--driver', 'routed', '--subnet', '10.194.0.0/24', '--json']);
    expect(created.code, created.stderr).to.equal(0);
    expect(JSON.parse(created.stdout)).to.include({ name, driver: 'routed', subnet: '10.194.0.0/24', gateway: '169.254.1.1', dns: false });
    expect(JSON.parse(created.stdout), 'a request, not stored').to.not.have.property('ipv4');
    try {
      const table = (await nsnet(['network', 'ls'])).stdout.split('\n');
      expect(table[0]).to.match(/^NAME\s+DRIVER\s+BRIDGE\s+SUBNET/);
      expect(table.some((line) => new RegExp(`^${name}\\s+routed\\s+-\\s+10\\.194\\.0\\.0/24`).test(line)), table.join('\n')).to.equal(true);
      const refused = await nsnet(['network', 'create', uniqueName('rcli'), '--driver', 'routed', '--gateway', '10.195.0.1', '--subnet', '10.195.0.0/24']);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.match(/^nsnet: USAGE: --gateway/);
      // Other drivers' options are refused, not ignored: --no-ipv4 would otherwise make an IPv4 network.
      for (const flags of [['--ip-range', '10.195.0.128/25'], ['--no-ipv4'], ['--gateway-mode', 'routed'], ['--aux-address', 'nas=10.195.0.9']]) {
        const other = await nsnet(['network', 'create', uniqueName('rcli'), '--driver', 'routed', '--subnet', '10.195.0.0/24', ...flags]);
        expect(other.code, flags[0]).to.equal(2);
        expect(other.stderr, flags[0]).to.match(/^nsnet: USAGE: .*options of other drivers, not routed/);
      }

      const id = uniqueName('rc');
      const { endpoint } = await setupContainer(id, { network: name });
      try {
        const ps = JSON.parse((await nsnet(['ps', '--json'])).stdout).containers.find((c) => c.id === id);
        expect(ps.endpoint).to.include({ ipv4: endpoint.ipv4, hostIfname: endpoint.hostIfname });
        const [inspected] = JSON.parse((await nsnet(['network', 'inspect', name, '--json'])).stdout);
        expect(inspected.endpoints.map((e) => e.ipv4)).to.deep.equal([endpoint.ipv4]);
        const topology = (await nsnet(['topology'])).stdout;
        const head = topology.split('\n').find((line) => line.includes(`network "${name}"`));
        expect(head).to.match(/^\S+ nsr[0-9a-f]{5}\* {2}network/).and.to.contain('routed');
        expect(topology).to.contain(`${endpoint.hostIfname} ⇄ eth0 ${endpoint.ipv4}`);
        expect(topology).to.not.match(/\[(MISSING|DOWN|OFF BRIDGE)\]/);
      } finally {
        await teardownContainer(id);
      }
    } finally {
      const removed = await nsnet(['network', 'rm', name]);
      expect(removed.code, removed.stderr).to.equal(0);
    }
  });
});
