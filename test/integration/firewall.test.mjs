// The nftables firewall with real traffic. A `wan` namespace stands for the
// outside world, joined to the sandbox host by a veth (host 198.51.100.1,
// wan 198.51.100.2, and 2001:db8:100::/64); the host routes out through it.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, listNetworks, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import {
  expectReject,
  fails,
  ip,
  startTcpServer,
  startUdpServer,
  startWhoAmIServer,
  stop,
  suiteFixture,
  tcpRequest,
  udpRequest,
  uniqueName,
} from '../helpers.mjs';

const HOST = '198.51.100.1';
const WAN = '198.51.100.2';
const HOST6 = '2001:db8:100::1';
const WAN6 = '2001:db8:100::2';

const nft = (...args) => execFileSync('nft', args, { encoding: 'utf8' });
const nftJson = () => JSON.parse(nft('-j', 'list', 'table', 'inet', 'nsnet')).nftables;
/** The elements of one of nsnet's sets or maps, as nft lists them. */
function elementsOf(name) {
  const entry = nftJson().find((e) => (e.map ?? e.set)?.name === name);
  return (entry?.map ?? entry?.set)?.elem ?? [];
}

/** How each backend shows its state, and how an outside flush looks. */
const BACKENDS = {
  nftables: {
    dnatRules: () => elementsOf('ports4_any').map(([key, value]) => `${key.concat.join(' ')} -> ${value.concat.join(':')}`)
      .concat(elementsOf('ports4').map(([key, value]) => `${key.concat.join(' ')} -> ${value.concat.join(':')}`)),
    expectedDnat: (ip) => ['tcp 8080 -> ' + ip + ':80', 'udp 5353 -> ' + ip + ':53', '127.0.0.1 tcp 8081 -> ' + ip + ':81'],
    flush: () => nft('flush', 'ruleset'),
    /** Outside flushes a connect recovers from by itself. */
    flushes: { 'nft flush ruleset': () => nft('flush', 'ruleset') },
    /** What nsnet put in the kernel, one string each. */
    entries: () => BACKENDS.nftables.dnatRules(),
    afterFlush: () => nft('add', 'table', 'inet', 'foreign'),
    leftovers: async () => {
      // Only networks made elsewhere (the default one) may still have elements.
      const remaining = new Set((await listNetworks()).map((n) => n.bridge));
      const strays = [];
      for (const entry of nftJson()) {
        const set = entry.set ?? entry.map;
        if (!set) continue;
        strays.push(...(set.elem ?? []).filter((e) => !(typeof e === 'string' ? remaining.has(e) : remaining.has(e.concat?.[0]))));
      }
      const bridgeTable = JSON.parse(nft('-j', 'list', 'table', 'bridge', 'nsnet')).nftables;
      return strays.concat(bridgeTable.find((e) => e.set)?.set.elem ?? []);
    },
  },
  iptables: {
    dnatRules: () => saveLines(4, 'nat').filter((l) => l.startsWith('-A NSNET-DNAT')).map((l) => l.replace(/ -m comment --comment "?nsnet:endpoint:[^" ]+"?/, '')),
    expectedDnat: (ip) => [
      `-A NSNET-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${ip}:80`,
      `-A NSNET-DNAT -p udp -m udp --dport 5353 -j DNAT --to-destination ${ip}:53`,
      `-A NSNET-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8081 -j DNAT --to-destination ${ip}:81`,
    ],
    flush: () => {
      for (const table of ['nat', 'filter', 'raw']) execFileSync('iptables', ['-t', table, '-F']);
      for (const table of ['nat', 'filter']) execFileSync('ip6tables', ['-t', table, '-F']);
    },
    flushes: {
      'iptables -F': () => BACKENDS.iptables.flush(),
      'iptables -F, then -X': () => {
        BACKENDS.iptables.flush();
        for (const table of ['nat', 'filter', 'raw']) execFileSync('iptables', ['-t', table, '-X']);
        for (const table of ['nat', 'filter']) execFileSync('ip6tables', ['-t', table, '-X']);
      },
    },
    entries: () => [4, 6].flatMap((v) => ['raw', 'nat', 'filter'].flatMap((t) => saveLines(v, t).filter((l) => l.includes('nsnet')).map((l) => `${v} ${t} ${l}`))),
    afterFlush: () => undefined,
    leftovers: async () => {
      // Rules of networks made elsewhere (the default one) may stay.
      const remaining = (await listNetworks()).map((n) => `nsnet:network:${n.name}`);
      const owner = (line) => line.match(/--comment "?(nsnet:(?:network|endpoint):[^" ]+)/)?.[1];
      return [4, 6]
        .flatMap((v) => ['nat', 'filter'].flatMap((t) => saveLines(v, t)))
        .filter((line) => owner(line) !== undefined && !remaining.includes(owner(line)));
    },
  },
};

/** The lines iptables-save (or ip6tables-save) prints for one table. */
function saveLines(version, table) {
  const out = execFileSync(version === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', table], { encoding: 'utf8' });
  return out.split('\n');
}

for (const [backend, view] of Object.entries(BACKENDS)) describe(`${backend} firewall: published ports, masquerade, isolation`, function () {
  this.timeout(120000);
  const host = NetNamespace.host();
  let wan;
  const { ids, networks, c, container, network } = suiteFixture(createBridgeNetwork, 'fw', { firewall: backend });
  const servers = [];

  before(async () => {
    nft('add', 'table', 'inet', 'foreign');
    nft('add', 'set', 'inet', 'foreign', 'keep', '{ type ipv4_addr; }');
    nft('add', 'element', 'inet', 'foreign', 'keep', '{ 192.0.2.7 }');
    wan = await NetNamespace.create(uniqueName('wan'));
    await host.links.add({ kind: 'veth', name: 'wan0', up: true, peer: { name: 'eth0', netns: wan } });
    await wan.links.set('eth0', { up: true });
    await wan.links.set('lo', { up: true });
    await host.addresses.add('wan0', `${HOST}/24`);
    await wan.addresses.add('eth0', `${WAN}/24`);
    await host.addresses.add('wan0', `${HOST6}/64`, { nodad: true });
    await wan.addresses.add('eth0', `${WAN6}/64`, { nodad: true });
    await host.routes.add({ dst: 'default', gateway: WAN });
    await host.routes.add({ dst: 'default', gateway: WAN6 });

    const a = await network({ subnet: '10.160.0.0/24', ipv6: { subnet: 'fd00:160::/64' } });
    const b = await network({ subnet: '10.161.0.0/24' });
    const iccOff = await network({ subnet: '10.162.0.0/24', icc: false });
    const internal = await network({ subnet: '10.163.0.0/24', internal: true });
    const noMasq = await network({ subnet: '10.164.0.0/24', masquerade: false });
    await container('a1', a, { publish: ['8080:80', '5353:53/udp', '127.0.0.1:8081:81', '[::]:8086:80', { containerPort: 82 }] });
    await container('a2', a);
    await container('b1', b);
    await container('c1', iccOff);
    await container('c2', iccOff, { publish: ['8090:80'] });
    await container('d1', internal);
    await container('d2', internal);
    await container('e1', noMasq);
    // The outside knows its way back to these subnets only through the host.
    await wan.routes.add({ dst: '10.160.0.0/24', gateway: HOST });
    await wan.routes.add({ dst: '10.164.0.0/24', gateway: HOST });
    servers.push(
      await startTcpServer(c.a1.netns, 80, 'a1'),
      await startTcpServer(c.a1.netns, 81, 'a1-local'),
      await startTcpServer(c.a1.netns, 82, 'a1-82'),
      await startUdpServer(c.a1.netns, 53, 'a1-udp'),
      await startTcpServer(c.c2.netns, 80, 'c2'),
      await startTcpServer(c.d2.netns, 80, 'd2'),
      await startWhoAmIServer(wan, 9000),
    );
  });

  after(async () => {
    for (const server of servers) await stop(server);
    for (const id of ids.reverse()) await teardownContainer(id);
    for (const name of networks) await removeNetwork(name);
    await wan.delete();
    await host.links.delete('wan0').catch(() => undefined);
    nft('delete', 'table', 'inet', 'foreign');
  });

  it('publishes tcp and udp ports to the outside, the host and 127.0.0.1', async () => {
    expect(await tcpRequest(wan, HOST, 8080, 'from wan')).to.equal('a1:from wan');
    expect(await udpRequest(wan, HOST, 5353, 'dns?')).to.equal('a1-udp:dns?');
    expect(await tcpRequest(host, HOST, 8080, 'from host')).to.equal('a1:from host');
    expect(await tcpRequest(host, '127.0.0.1', 8080, 'via lo')).to.equal('a1:via lo');
    expect(await tcpRequest(host, '127.0.0.1', 8081, 'local only')).to.equal('a1-local:local only');
  });

  it('reports the ports, with an ephemeral host port picked when none was asked', async () => {
    const ports = c.a1.endpoint.ports;
    expect(ports.slice(0, 4)).to.deep.equal([
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81, protocol: 'tcp' },
      { hostIp: '::', hostPort: 8086, containerPort: 80, protocol: 'tcp' },
    ]);
    const ephemeral = ports[4];
    const [low, high] = (await host.sysctl('net.ipv4.ip_local_port_range')).split(/\s+/).map(Number);
    expect(ephemeral.hostPort).to.be.within(low, high);
    expect(await tcpRequest(wan, HOST, ephemeral.hostPort, 'eph')).to.equal('a1-82:eph');
  });

  it('lets a sibling reach a published port through the host address (hairpin)', async () => {
    expect(await tcpRequest(c.a2.netns, HOST, 8080, 'hairpin')).to.equal('a1:hairpin');
  });

  it('publishes over IPv6 and masquerades IPv6 traffic', async () => {
    expect(await tcpRequest(wan, HOST6, 8086, 'v6')).to.equal('a1:v6');
    expect(await tcpRequest(c.a1.netns, WAN6, 9000, '')).to.equal(HOST6);
  });

  it('masquerades container traffic as the host, and not when masquerade is off', async () => {
    expect(await tcpRequest(c.a1.netns, WAN, 9000, '')).to.equal(HOST);
    expect(await tcpRequest(c.e1.netns, WAN, 9000, '')).to.equal(c.e1.endpoint.ipv4);
  });

  it('blocks what must not pass', async () => {
    await fails(tcpRequest(wan, HOST, 8081, 'not for wan', 1000)); // bound to 127.0.0.1
    await fails(tcpRequest(wan, c.a1.endpoint.ipv4, 80, 'direct', 1000)); // unpublished, direct
    await fails(tcpRequest(c.b1.netns, c.a1.endpoint.ipv4, 80, 'other network', 1000));
    await fails(tcpRequest(c.c1.netns, c.c2.endpoint.ipv4, 80, 'icc off', 1000));
    await fails(tcpRequest(c.d1.netns, WAN, 9000, 'internal out', 1000));
    // Even with a route of its own, an internal container reaches no published port.
    await c.d1.netns.routes.add({ dst: `${HOST}/32`, dev: 'eth0' });
    await fails(tcpRequest(c.d1.netns, HOST, 8080, 'internal to a published port', 1000));
    expect(await tcpRequest(c.d1.netns, c.d2.endpoint.ipv4, 80, 'inside')).to.equal('d2:inside');
    expect(await tcpRequest(wan, HOST, 8090, 'published on icc-off')).to.equal('c2:published on icc-off');
  });

  it('keeps the state as the backend shows it, and leaves a foreign table alone', () => {
    expect(view.dnatRules()).to.include.members(view.expectedDnat(c.a1.endpoint.ipv4));
    expect(JSON.parse(nft('-j', 'list', 'set', 'inet', 'foreign', 'keep')).nftables[1].set.elem).to.deep.equal(['192.0.2.7']);
  });

  it('refuses a taken host port with PORT_IN_USE, from this process or another', async () => {
    const a = networks[0];
    const ns = await NetNamespace.create(uniqueName('pu'));
    try {
      const net = await getNetwork(a);
      await expectReject(net.connect(ns, { publish: ['8080:80'] }), 'NsnetError', 'PORT_IN_USE');
      const script = `require(${JSON.stringify(join(process.cwd(), 'dist/index.js'))}).getNetwork(process.argv[1])
        .then((n) => n.connect(process.argv[2], { publish: ['127.0.0.1:8080:80'] }))
        .then(() => process.exit(0), (e) => { console.log(e.code); process.exit(1); })`;
      const child = spawn(process.execPath, ['-e', script, a, ns.name], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const [code] = await once(child, 'exit');
      expect([code, out.trim()]).to.deep.equal([1, 'PORT_IN_USE']);
      expect(ip(['-n', ns.name, '-br', 'link']).trim().split('\n')).to.have.length(1); // only lo
      await expectReject(net.connect(ns, { publish: ['8080:80/icmp'] }), 'NsnetError', 'INVALID_PUBLISH');
      const v4only = await getNetwork(networks[1]);
      await expectReject(v4only.connect(ns, { publish: ['[::]:8099:80'] }), 'NsnetError', 'INVALID_PUBLISH');
    } finally {
      await ns.delete();
    }
  });

  it('gives back the ports of an endpoint whose namespace vanished, with reconcile', async () => {
    const net = await getNetwork(networks[0]);
    const gone = await NetNamespace.create(uniqueName('gp'));
    await net.connect(gone, { publish: ['18080:82'] });
    ip(['netns', 'del', gone.name]);
    gone.close();
    const report = await reconcile();
    expect(report.ports).to.deep.equal(['tcp 0.0.0.0:18080']);
    expect(view.dnatRules().filter((rule) => rule.includes('18080'))).to.deep.equal([]);
    // The port is free: another container publishes it, and traffic reaches that one.
    const next = await NetNamespace.create(uniqueName('gp'));
    const server = await startTcpServer(next, 82, 'next');
    try {
      await net.connect(next, { publish: ['18080:82'] });
      expect(await tcpRequest(wan, HOST, 18080, 'moved')).to.equal('next:moved');
      await net.disconnect(next);
    } finally {
      await stop(server);
      await next.delete();
    }
  });

  it("leaves another endpoint's entry when a record names a port the port tables give to that one (a crash half-way through the records)", async () => {
    const net = await getNetwork(networks[0]);
    const a = await NetNamespace.create(uniqueName('po'));
    const b = await NetNamespace.create(uniqueName('po'));
    try {
      await net.connect(a);
      const epB = await net.connect(b, { publish: ['18090:83'] });
      const file = join(process.env.NSNET_STATE_DIR, 'endpoints', `${net.name}@${a.inode}.json`);
      writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ports: epB.ports }));
      await net.disconnect(a);
      expect(view.dnatRules().filter((rule) => rule.includes('18090'))).to.have.length(1);
      const server = await startTcpServer(b, 83, 'b');
      try {
        expect(await tcpRequest(wan, HOST, 18090, 'kept')).to.equal('b:kept');
      } finally {
        await stop(server);
      }
      await net.disconnect(b);
    } finally {
      await a.delete();
      await b.delete();
    }
  });

  it('puts everything back after an outside flush, with reconcile', async () => {
    view.flush();
    await fails(tcpRequest(wan, HOST, 8080, 'flushed', 1000));
    const report = await reconcile();
    expect(report.firewallElements).to.be.greaterThan(0);
    expect(await tcpRequest(wan, HOST, 8080, 'restored')).to.equal('a1:restored');
    await fails(tcpRequest(c.b1.netns, c.a1.endpoint.ipv4, 80, 'still isolated', 1000));
    view.afterFlush(); // the foreign table, for after()
  });

  if (backend === 'nftables') it('writes the rules back after `nft flush table` emptied the chains (sets kept), with reconcile', async () => {
    nft('flush', 'table', 'inet', 'nsnet');
    await fails(tcpRequest(wan, HOST, 8080, 'rules flushed', 1000));
    await reconcile();
    expect(await tcpRequest(wan, HOST, 8080, 'rules back')).to.equal('a1:rules back');
    await fails(tcpRequest(c.b1.netns, c.a1.endpoint.ipv4, 80, 'still isolated', 1000));
    // Written again in place, not added a second time.
    const rules = () => nftJson().filter((entry) => entry.rule).length;
    const count = rules();
    await reconcile();
    expect(rules()).to.equal(count);
  });

  for (const [flush, index] of Object.keys(view.flushes).map((name, i) => [name, i])) {
    it(`after ${flush}, a new container's published port works at once, and so do the older ones' (no reconcile)`, async () => {
      const before = view.entries().sort();
      view.flushes[flush]();
      await fails(tcpRequest(wan, HOST, 8080, 'flushed', 1000));
      // Three at once: each finds the firewall gone, or put back by another without its entries.
      const ports = [0, 1, 2].map((k) => 18500 + 10 * index + k);
      const fresh = await Promise.all(ports.map((port, k) => container(`f${index}${k}`, networks[0], { publish: [`${port}:80`] })));
      for (const [k, made] of fresh.entries()) servers.push(await startTcpServer(made.netns, 80, `fresh${k}`));
      for (const [k, port] of ports.entries()) expect(await tcpRequest(wan, HOST, port, 'new')).to.equal(`fresh${k}:new`);
      expect(await tcpRequest(wan, HOST, 8080, 'old')).to.equal('a1:old');
      expect(await tcpRequest(wan, HOST6, 8086, 'old v6')).to.equal('a1:old v6');
      expect(await tcpRequest(wan, HOST, 8090, 'old, icc-off')).to.equal('c2:old, icc-off');
      expect(await tcpRequest(c.a1.netns, WAN, 9000, '')).to.equal(HOST);
      await fails(tcpRequest(c.b1.netns, c.a1.endpoint.ipv4, 80, 'still isolated', 1000));
      await fails(tcpRequest(c.c1.netns, c.c2.endpoint.ipv4, 80, 'icc still off', 1000));
      await fails(tcpRequest(c.d1.netns, WAN, 9000, 'internal still', 1000));
      expect(view.dnatRules()).to.include.members(view.expectedDnat(c.a1.endpoint.ipv4));
      // Everything as before the flush (nothing twice), and the new containers' ports.
      const fresher = (entry) => fresh.some((made) => entry.includes(`${made.endpoint.ipv4}:`));
      expect(view.entries().filter((entry) => !fresher(entry)).sort()).to.deep.equal(before);
      expect(view.entries().filter(fresher)).to.have.length(3);
      view.afterFlush();
    });
  }

  it('after an outside flush, making a network puts back the entries of the others too', async () => {
    view.flush();
    await fails(tcpRequest(wan, HOST, 8080, 'flushed', 1000));
    await network({ subnet: '10.165.0.0/24' });
    expect(await tcpRequest(wan, HOST, 8080, 'old')).to.equal('a1:old');
    expect(await tcpRequest(c.a1.netns, WAN, 9000, '')).to.equal(HOST);
    await fails(tcpRequest(c.b1.netns, c.a1.endpoint.ipv4, 80, 'still isolated', 1000));
    view.afterFlush();
  });

  it('leaves no element behind once the containers and networks are gone', async () => {
    for (const server of servers.splice(0)) await stop(server);
    for (const id of ids.splice(0).reverse()) await teardownContainer(id);
    for (const name of networks.splice(0)) await removeNetwork(name);
    expect(await view.leftovers()).to.deep.equal([]);
  });
});

describe('nftables ruleset: installed where missing', () => {
  const made = [];
  after(async () => {
    for (const name of made) await removeNetwork(name, { force: true });
    await reconcile(); // whatever other networks had in the table deleted here
  });

  it('puts back a table deleted from outside when a network is made, and keeps the other one as it was', async () => {
    const first = uniqueName('rs');
    made.push(first);
    const a = await createBridgeNetwork({ name: first, firewall: 'nftables' });
    // Sets, chains and rules, each listed with its handle.
    const inetObjects = () => nft('-a', 'list', 'table', 'inet', 'nsnet').match(/# handle \d+/g).length;
    const before = inetObjects();
    nft('delete', 'table', 'bridge', 'nsnet');
    expect(() => execFileSync('nft', ['list', 'table', 'bridge', 'nsnet'], { stdio: 'pipe' })).to.throw(/No such file/);
    const second = uniqueName('rs');
    made.push(second);
    const b = await createBridgeNetwork({ name: second, firewall: 'nftables' });
    expect(nft('list', 'table', 'bridge', 'nsnet')).to.include('icc_off_ports');
    // Not installed again: no rule twice, and the first network's element still in its set.
    expect(inetObjects()).to.equal(before);
    expect(elementsOf('bridges')).to.include.members([a.bridge, b.bridge]);
  });
});

describe('iptables firewall: rules tagged by the previous release', () => {
  it('removes an endpoint whose DNAT rules carry the tag without its network', async () => {
    const net = uniqueName('old');
    const id = uniqueName('oldc');
    await createBridgeNetwork({ name: net, subnet: '10.165.0.0/24', firewall: 'iptables' });
    try {
      const { endpoint } = await setupContainer(id, { network: net, publish: ['8095:80'] });
      const tag = `nsnet:endpoint:${net}:${endpoint.id}`;
      const ours = () => saveLines(4, 'nat').filter((l) => l.includes(endpoint.id));
      const [rule] = ours();
      expect(rule).to.match(new RegExp(`--comment "?${tag}"? `));
      // As the previous release wrote it: the endpoint id alone.
      const previous = rule.replace(tag, `nsnet:endpoint:${endpoint.id}`);
      execFileSync('iptables-restore', ['--noflush'], { input: `*nat\n-D${rule.slice(2)}\n${previous}\nCOMMIT\n` });
      expect(ours()).to.deep.equal([previous]);
      await teardownContainer(id);
      expect(ours()).to.deep.equal([]);
    } finally {
      await teardownContainer(id);
      await removeNetwork(net, { force: true });
    }
  });
});
