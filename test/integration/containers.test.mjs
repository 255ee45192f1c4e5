import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace, netnsDir, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { eventually, expectReject, ip, ipJson, ipLink, runNode, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const leasesOf = (network) =>
  Object.keys(JSON.parse(readFileSync(join(process.env.NSNET_STATE_DIR, 'leases', `${network}.json`), 'utf8')).ipv4.addresses);

describe('setupContainer / teardownContainer', () => {
  const ids = [];
  const container = (options) => {
    const id = uniqueName('ct');
    ids.push(id);
    return setupContainer(id, options);
  };
  afterEach(async () => {
    for (const id of ids.splice(0).reverse()) await teardownContainer(id).catch(() => undefined);
  });

  it("'bridge' puts a new namespace on the default network, made on first use as nsnet0", async () => {
    const c = await container();
    expect(c.mode).to.equal('bridge');
    expect(c.netns.name).to.equal(c.id);
    expect(c.netns.path).to.equal(join(netnsDir(), c.id));
    const bridge = ipLink('nsnet0');
    expect(bridge.linkinfo.info_kind).to.equal('bridge');
    expect(bridge.ifalias).to.equal('nsnet:network:bridge');
    expect(c.endpoint.network).to.equal('bridge');
    const links = ipJson(['link'], c.id);
    expect(links.map((l) => l.ifname)).to.deep.equal(['lo', 'eth0']);
    expect(links.every((l) => l.flags.includes('UP'))).to.equal(true);
    expect(ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], c.id)[0].addr_info[0].local).to.equal(c.endpoint.ipv4);
    expect(ipLink(c.endpoint.hostIfname).master).to.equal('nsnet0');
  });

  it('a network name puts it on that network, with the address asked for', async () => {
    const network = uniqueName('cn');
    await createBridgeNetwork({ name: network, subnet: '10.142.0.0/24' });
    try {
      const c = await container({ network, ip: '10.142.0.42', mac: '02:00:00:00:42:42' });
      expect(c.mode).to.equal('network');
      expect(c.endpoint).to.include({ network, ipv4: '10.142.0.42', mac: '02:00:00:00:42:42' });
      expect(ipLink('eth0', c.id).address).to.equal('02:00:00:00:42:42');
      await teardownContainer(c.id);
      expect(existsSync(join(netnsDir(), c.id))).to.equal(false);
      expect(leasesOf(network)).to.deep.equal([]);
    } finally {
      await removeNetwork(network, { force: true });
    }
  });

  it("IPv6 stays on in a dual-stack network's containers and goes off in an IPv4-only one's, even on a network made again the other way by the same name", async () => {
    const network = uniqueName('cs');
    const disabled = (c) => execFileSync('ip', ['netns', 'exec', c.id, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6'], { encoding: 'utf8' }).trim();
    try {
      // After the first, a dual-stack network's namespaces are made without their sysctl directories (nothing is written inside).
      await createBridgeNetwork({ name: network, subnet: '10.142.1.0/24', ipv6: { subnet: 'fd00:142:1::/64' } });
      for (let i = 0; i < 3; i++) expect(disabled(await container({ network }))).to.equal('0');
      for (const id of ids.splice(0)) await teardownContainer(id);
      await removeNetwork(network);
      // Made again IPv4-only: the guess is wrong once, and disable_ipv6 is written through a thread inside instead.
      await createBridgeNetwork({ name: network, subnet: '10.142.1.0/24' });
      for (let i = 0; i < 2; i++) expect(disabled(await container({ network }))).to.equal('1');
    } finally {
      for (const id of ids.splice(0)) await teardownContainer(id).catch(() => undefined);
      await removeNetwork(network, { force: true });
    }
  });

  it("'host' uses the host namespace; 'none' a new one with only lo, up", async () => {
    const host = await container({ network: 'host' });
    expect(host.mode).to.equal('host');
    expect(host.netns.inode).to.equal(NetNamespace.host().inode);
    expect(existsSync(join(netnsDir(), host.id))).to.equal(false);
    const none = await container({ network: 'none' });
    expect(none.mode).to.equal('none');
    const links = ipJson(['link'], none.id);
    expect(links.map((l) => l.ifname)).to.deep.equal(['lo']);
    expect(links[0].flags).to.include('UP');
    expect(none.endpoint).to.equal(undefined);
  });

  it("'container:<id>' shares the other's namespace and its loopback services", async () => {
    const first = await container({ network: 'none' });
    const second = await container({ network: `container:${first.id}` });
    expect(second.mode).to.equal('container');
    expect(second.netns.inode).to.equal(first.netns.inode);
    const server = await startTcpServer(first.netns, 7201, 'first');
    try {
      expect(await tcpRequest(second.netns, '127.0.0.1', 7201, 'via lo')).to.equal('first:via lo');
    } finally {
      await stop(server);
    }
    const error = await expectReject(teardownContainer(first.id), 'NsnetError', 'CONTAINER_IN_USE');
    expect(error.details.joinedBy).to.deep.equal([second.id]);
    expect(existsSync(first.netns.path)).to.equal(true);
    await teardownContainer(second.id);
    await teardownContainer(first.id);
    expect(existsSync(first.netns.path)).to.equal(false);
  });

  it('refuses a duplicate id, an unknown container to join, bad ids and misplaced options', async () => {
    const c = await container({ network: 'none' });
    await expectReject(setupContainer(c.id, { network: 'none' }), 'NsnetError', 'CONTAINER_EXISTS');
    await expectReject(setupContainer(uniqueName('ct'), { network: 'container:nobody-here' }), 'NsnetError', 'CONTAINER_NOT_FOUND');
    for (const id of ['', '-x', 'a/b', 'a b', 'x'.repeat(65), 5]) {
      await expectReject(setupContainer(id, { network: 'none' }), 'NsnetError', 'INVALID_ARGUMENT');
    }
    await expectReject(setupContainer(uniqueName('ct'), { network: 'host', ip: '10.0.0.2' }), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(setupContainer(uniqueName('ct'), { network: 'no-such-network' }), 'NsnetError', 'NETWORK_NOT_FOUND');
    expect(ipJson(['netns', 'list']).map((n) => n.name)).to.deep.equal([c.id]);
  });

  it('bad connect options are refused before the default network is made', async () => {
    // Removed first (nothing uses it between tests), so that making it again would show.
    if (ipLink('nsnet0')) await removeNetwork('bridge');
    for (const options of [{ publish: ['80:80:80:80'] }, { ip: 'fd00::5' }, { mac: 'ff:ff:ff:ff:ff:ff' }, { ifname: 'a/b' }]) {
      await expectReject(setupContainer(uniqueName('ct'), options), 'NsnetError', options.publish ? 'INVALID_PUBLISH' : 'INVALID_ARGUMENT');
    }
    expect(ipLink('nsnet0')).to.equal(undefined);
    expect(ipJson(['netns', 'list']).map((n) => n.name)).to.deep.equal([]);
  });

  it('teardown frees the namespace even while this process holds its handle: the veth goes', async () => {
    const c = await container();
    await c.netns.links.list(); // the handle has a descriptor and a socket open
    await teardownContainer(c.id);
    expect(await eventually(() => ipLink(c.endpoint.hostIfname) === undefined, 3000), 'host end removed by the kernel').to.equal(true);
    await expectReject(c.netns.links.list(), 'NsnetError', 'NAMESPACE_CLOSED');
  });

  it('refuses while a process runs in its namespace, and with force frees the address for good', async () => {
    const network = uniqueName('cu');
    const { bridge } = await createBridgeNetwork({ name: network, subnet: '10.144.0.0/24' });
    const servers = [];
    try {
      const old = await container({ network, ip: '10.144.0.9' });
      servers.push(await startTcpServer(old.netns, 7301, 'old'));
      const [oldServer] = servers;
      const state = () => ({
        netns: ipJson(['netns', 'list']).map((n) => n.name).sort(),
        hostEnd: (({ ifname, master, address, operstate }) => ({ ifname, master, address, operstate }))(ipLink(old.endpoint.hostIfname)),
        leases: leasesOf(network),
      });
      const before = state();
      expect(before.hostEnd.master).to.equal(bridge);

      const refused = await expectReject(teardownContainer(old.id, { ifRunning: 'refuse' }), 'NsnetError', 'CONTAINER_IN_USE');
      expect(refused.details.pids).to.deep.equal([oldServer.pid]);
      expect(refused.message).to.contain(String(oldServer.pid));
      expect(state()).to.deep.equal(before);
      expect(await old.netns.pids()).to.deep.equal([oldServer.pid]);

      expect(await teardownContainer(old.id)).to.deep.equal({ leftRunning: [oldServer.pid] });
      // The veth is deleted, not left to a namespace that lives on: gone at once, and its peer with it.
      expect(ipLink(old.endpoint.hostIfname)).to.equal(undefined);
      expect(leasesOf(network)).to.deep.equal([]);
      expect(existsSync(old.netns.path)).to.equal(false);
      expect(oldServer.exitCode).to.equal(null); // left running, in a namespace with only lo
      const left = await NetNamespace.open({ pid: oldServer.pid });
      try {
        expect(left.inode).to.equal(old.netns.inode);
        expect((await left.links.list()).map((l) => l.name)).to.deep.equal(['lo']);
      } finally {
        left.close();
      }

      // The address goes to a new container, and traffic to it reaches the new one.
      const next = await container({ network, ip: '10.144.0.9' });
      servers.push(await startTcpServer(next.netns, 7301, 'new'));
      const client = await container({ network });
      expect(await tcpRequest(client.netns, '10.144.0.9', 7301, 'who')).to.equal('new:who');
      const ports = ipJson(['link', 'show', 'master', bridge]).map((l) => l.ifname).sort();
      expect(ports).to.deep.equal([next.endpoint.hostIfname, client.endpoint.hostIfname].sort());
    } finally {
      for (const server of servers) await stop(server);
      for (const id of ids.splice(0).reverse()) await teardownContainer(id).catch(() => undefined);
      await removeNetwork(network, { force: true });
    }
  });

  it('teardowns at once (sharing one look at /proc) each see only their own processes', async () => {
    const cs = await Promise.all([container({ network: 'none' }), container({ network: 'none' }), container({ network: 'none' })]);
    const server = await startTcpServer(cs[1].netns, 7302);
    try {
      const results = await Promise.allSettled(cs.map((c) => teardownContainer(c.id, { ifRunning: 'refuse' })));
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect(results[1].reason.code).to.equal('CONTAINER_IN_USE');
      expect(results[1].reason.details.pids).to.deep.equal([server.pid]);
      expect(ipJson(['netns', 'list']).map((n) => n.name)).to.deep.equal([cs[1].id]);
    } finally {
      await stop(server);
    }
    expect(await teardownContainer(cs[1].id)).to.deep.equal({ leftRunning: [] });
    expect(ipJson(['netns', 'list'])).to.deep.equal([]);
  });

  it('the handle setupContainer returns holds no descriptor at rest, and still works', async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    await container(); // opens what all containers share: the host's sockets, the state directory
    const before = openFds();
    const c = await container();
    expect(openFds()).to.equal(before);
    // Opened again on use, checked to be the same namespace.
    expect((await c.netns.links.list()).map((l) => l.name)).to.deep.equal(['lo', 'eth0']);
    expect((await c.netns.addresses.list({ dev: 'eth0', family: 4 }))[0].address).to.equal(c.endpoint.ipv4);
    expect((await runNode(c.netns, 'process.stdout.write(require("fs").readlinkSync("/proc/self/ns/net"))'))).to.equal(`net:[${c.netns.inode}]`);
    c.netns.release();
    // The socket closes once its open promise settles, the program's pipes once they drain.
    expect(await eventually(() => openFds() === before, 1000), `${openFds()} descriptors, ${before} before`).to.equal(true);
    await teardownContainer(c.id);
    await expectReject(c.netns.links.list(), 'NsnetError', 'NETNS_NOT_FOUND');
  });

  it('tears down twice, and after its namespace was deleted behind its back', async () => {
    const c = await container();
    const address = c.endpoint.ipv4;
    ip(['netns', 'del', c.id]);
    await teardownContainer(c.id);
    await teardownContainer(c.id);
    expect(leasesOf('bridge')).to.not.include(address);
    const again = await setupContainer(c.id);
    expect(again.netns.inode).to.not.equal(c.netns.inode);
    expect(again.endpoint.ipv4).to.not.equal(address); // round-robin: not reused at once
  });

  it('removes the file a namespace deletion killed between unmount and unlink left, in teardown and in reconcile', async () => {
    for (const finish of [(id) => teardownContainer(id), () => reconcile()]) {
      const c = await container({ network: 'none' });
      execFileSync('umount', [c.netns.path]); // what the kill left: the mount gone, the file not
      expect(existsSync(c.netns.path)).to.equal(true);
      await finish(c.id);
      expect(existsSync(c.netns.path)).to.equal(false);
      expect(readdirSync(netnsDir())).to.not.include(c.id);
    }
  });

  it('a reused address: the host forgets its neighbour entry of the previous container, and reaches the new one at once', async () => {
    const network = uniqueName('nb');
    const { bridge } = await createBridgeNetwork({ name: network, subnet: '10.146.0.0/24' });
    const host = NetNamespace.host();
    const entries = () => ipJson(['neigh', 'show', 'dev', bridge]).filter((e) => e.dst === '10.146.0.9');
    try {
      const first = await container({ network, ip: '10.146.0.9' });
      let server = await startTcpServer(first.netns, 7310, 'first');
      expect(await tcpRequest(host, '10.146.0.9', 7310, 'a')).to.equal('first:a');
      await stop(server);
      await teardownContainer(first.id);
      expect(entries().map((e) => e.lladdr)).to.deep.equal([first.endpoint.mac]); // what would mislead the host
      const next = await container({ network, ip: '10.146.0.9' });
      expect(entries().filter((e) => e.lladdr === first.endpoint.mac)).to.deep.equal([]);
      server = await startTcpServer(next.netns, 7310, 'next');
      try {
        expect(await tcpRequest(host, '10.146.0.9', 7310, 'b', 1000)).to.equal('next:b');
      } finally {
        await stop(server);
      }
    } finally {
      for (const id of ids.splice(0).reverse()) await teardownContainer(id).catch(() => undefined);
      await removeNetwork(network, { force: true });
    }
  });

  it('a failed setup leaves no namespace, record or lease', async () => {
    const id = uniqueName('ct');
    execFileSync('ip', ['netns', 'add', id]); // the name is taken
    try {
      const leases = leasesOf('bridge');
      await expectReject(setupContainer(id), 'NsnetError', 'NETNS_EXISTS');
      expect(leasesOf('bridge')).to.deep.equal(leases);
      await teardownContainer(id); // nothing recorded: a no-op
      expect(existsSync(join(netnsDir(), id))).to.equal(true); // not ours: left alone
    } finally {
      ip(['netns', 'del', id]);
    }
  });

  it('a setup whose namespace cannot be made gives up the address it picked meanwhile: the next setup gets it', async () => {
    // The address is picked while the namespace is made; given up, it must not stay taken in this process's copy of the leases.
    const network = uniqueName('cg');
    await createBridgeNetwork({ name: network, subnet: '10.147.0.0/24' });
    const [first, failing, next] = [uniqueName('ct'), uniqueName('ct'), uniqueName('ct')];
    execFileSync('ip', ['netns', 'add', failing]); // the name is taken
    try {
      expect((await setupContainer(first, { network })).endpoint.ipv4).to.equal('10.147.0.2');
      await expectReject(setupContainer(failing, { network }), 'NsnetError', 'NETNS_EXISTS');
      expect(leasesOf(network)).to.deep.equal(['10.147.0.2']);
      const container = await setupContainer(next, { network });
      expect(container.endpoint.ipv4).to.equal('10.147.0.3');
      expect(ipJson(['-n', next, '-4', 'addr', 'show', 'dev', 'eth0'])[0].addr_info[0].local).to.equal('10.147.0.3');
    } finally {
      for (const id of [next, first]) await teardownContainer(id).catch(() => undefined);
      ip(['netns', 'del', failing]);
      await removeNetwork(network, { force: true });
    }
  });
});
