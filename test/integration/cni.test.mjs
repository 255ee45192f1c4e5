// The CNI plugin executed as a runtime executes it (test/cni-runtime.mjs),
// on both of its paths: the native front end answered by `nsnet cni serve`,
// and the plugin run in node once per call. Real namespaces, real traffic.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { expect } from 'chai';

import { attachmentSweep } from '../../dist/cni/attachments.js';
import { NetNamespace, reconcile as reconcileLibrary, removeNetwork } from '../../dist/index.js';
import { CniPluginError, CniRuntime } from '../cni-runtime.mjs';
import { startCniService } from '../cni-service.mjs';
import { defaultRoutes, eventually, ip, ipJson, ipLink, linkNames, newLinks, publishedAnyPorts, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

// As `nsnet reconcile` runs it: with the CNI plugin's sweep of its attachments.
const reconcile = () => reconcileLibrary({ sweeps: [attachmentSweep] });

const root = process.cwd();
const stateDir = process.env.NSNET_STATE_DIR;
const REFERENCE_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const referenceDir = REFERENCE_DIRS.find((dir) => ['bridge', 'host-local', 'loopback'].every((p) => existsSync(join(dir, p))));

/** The published ports map, as nft lists it. */

/** The record files of a kind in the state directory. */
function readdir(dir) {
  return readdirSync(dir).filter((f) => f.endsWith('.json'));
}

/** A plugin directory holding nsnet-cni as `target`. */
function pluginDir(target) {
  const dir = mkdtempSync(join(tmpdir(), 'nsnet-cni-'));
  symlinkSync(target, join(dir, 'nsnet-cni'));
  return dir;
}

async function expectCniError(promise, cniCode) {
  try {
    await promise;
  } catch (error) {
    expect(error, error.message).to.be.instanceOf(CniPluginError);
    expect(error.exitCode).to.not.equal(0);
    expect(error.cniCode, error.message).to.equal(cniCode);
    expect(error.error.msg).to.be.a('string').and.not.equal('');
    return error.error;
  }
  throw new Error(`expected CNI error ${cniCode}, got success`);
}

const nodeEnv = { NSNET_NODE: process.execPath, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` };
const frontEnd = join(root, 'build', 'Release', 'nsnet-cni');
const inNode = join(root, 'bin', 'nsnet-cni.js');

let service;
let socket;

async function startService() {
  socket = join(mkdtempSync(join(tmpdir(), 'nsnet-sock-')), 'cni.sock');
  service = await startCniService(socket);
}

const paths = [
  { name: 'native front end + nsnet cni serve', dir: () => pluginDir(frontEnd), env: () => ({ ...nodeEnv, NSNET_CNI_SOCKET: socket }) },
  {
    name: 'native front end, NSNET_CNI_NO_SERVICE=1: the plugin in node',
    dir: () => pluginDir(frontEnd),
    env: () => ({ ...nodeEnv, NSNET_CNI_SOCKET: join(tmpdir(), 'no-such-dir', 'cni.sock'), NSNET_CNI_NO_SERVICE: '1' }),
  },
  { name: 'bin/nsnet-cni.js', dir: () => pluginDir(inNode), env: () => ({ ...nodeEnv }) },
];

describe('CNI plugin', () => {
  before(startService);
  after(async () => {
    await stop(service);
  });

  for (const path of paths) {
    describe(path.name, () => {
      let runtime;
      let dir;
      const network = uniqueName('cni');
      const list = {
        cniVersion: '1.1.0',
        name: network,
        plugins: [{ type: 'nsnet-cni', subnet: '10.170.0.0/24', ipv6Subnet: 'fd00:170::/64', capabilities: { portMappings: true } }],
      };
      const namespaces = [];

      before(() => {
        dir = path.dir();
        runtime = new CniRuntime([dir], path.env());
      });
      after(async () => {
        for (const ns of namespaces) await ns.delete().catch(() => undefined);
        await removeNetwork(network, { force: true }).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      });

      async function newNamespace() {
        const ns = await NetNamespace.create(uniqueName('cc'));
        namespaces.push(ns);
        return ns;
      }

      it('ADD, traffic between attachments and through a published port, CHECK, DEL, DEL again: nothing left', async () => {
        const before = linkNames();
        const [n1, n2] = [await newNamespace(), await newNamespace()];
        const a1 = { containerId: 'c1', netns: n1.path, ifname: 'eth0' };
        const a2 = { containerId: 'c2', netns: n2.path, ifname: 'eth0' };
        const port = 18080 + 10 * paths.indexOf(path);
        const r1 = await runtime.addNetworkList(list, a1, { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] });
        const r2 = await runtime.addNetworkList(list, a2);

        expect(r1.cniVersion).to.equal('1.1.0');
        expect(r1.interfaces.map((i) => i.name)).to.deep.equal([`nsbr-${network}`, r1.interfaces[1].name, 'eth0']);
        expect(r1.interfaces[2]).to.include({ sandbox: n1.path, mtu: 1500 });
        expect(r1.ips.map((i) => i.interface)).to.deep.equal([2, 2]);
        expect(r1.ips[0]).to.include({ address: '10.170.0.2/24', gateway: '10.170.0.1' });
        expect(r1.ips[1].address).to.match(/^fd00:170::[0-9a-f]+\/64$/);
        expect(r1.routes).to.deep.equal([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
        // What the result says is what the kernel has.
        const link = ipJson(['link', 'show', 'dev', 'eth0'], n1.name)[0];
        expect(link.address).to.equal(r1.interfaces[2].mac);
        const hostEnd = ipJson(['-d', 'link', 'show', 'dev', r1.interfaces[1].name])[0];
        expect(hostEnd.master).to.equal(`nsbr-${network}`);
        expect(hostEnd.address).to.equal(r1.interfaces[1].mac);
        const addresses = ipJson(['addr', 'show', 'dev', 'eth0'], n1.name)[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
        expect(addresses).to.include.members(r1.ips.map((i) => i.address));

        const server = await startTcpServer(n1, 80, 'c1');
        try {
          const ip1 = r1.ips[0].address.split('/')[0];
          expect(await tcpRequest(n2, ip1, 80, 'direct')).to.equal('c1:direct');
          expect(await tcpRequest(NetNamespace.host(), '127.0.0.1', port, 'published')).to.equal('c1:published');
          expect(await tcpRequest(n2, '10.170.0.1', port, 'hairpin')).to.equal('c1:hairpin');
        } finally {
          await stop(server);
        }

        await runtime.checkNetworkList(list, a1);
        await runtime.checkNetworkList(list, a2);
        await runtime.delNetworkList(list, a1);
        // Gone, or (the service removes it a moment later) down, off the bridge at once.
        const cutOff = ipLink(r1.interfaces[1].name);
        expect(cutOff === undefined || !cutOff.flags.includes('UP'), JSON.stringify(cutOff?.flags)).to.equal(true);
        await runtime.delNetworkList(list, a2);
        // Again, as a runtime retrying after a crash: still success.
        await runtime.exec('nsnet-cni', 'DEL', runtime.pluginConfig(list, list.plugins[0], {}), a1);
        await runtime.exec('nsnet-cni', 'DEL', runtime.pluginConfig(list, list.plugins[0], {}), a2);

        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
        expect(readdir(`${stateDir}/endpoints`)).to.deep.equal([]);
        // The port leads nowhere now: a server of the host's own answers on it.
        expect(publishedAnyPorts()).to.not.include(port);
        const hostServer = await startTcpServer(NetNamespace.host(), port, 'host');
        try {
          expect(await tcpRequest(NetNamespace.host(), '127.0.0.1', port, 'gone')).to.equal('host:gone');
        } finally {
          await stop(hostServer);
        }
        const left = () => newLinks(before).filter((name) => name !== `nsbr-${network}`);
        expect(await eventually(() => left().length === 0, 10000), `links left: ${left()}`).to.equal(true);
        expect(ipJson(['link'], n1.name).map((l) => l.ifname)).to.deep.equal(['lo']);
      });

      it('CNI_ARGS IP and MAC, as Podman sends them, are what the container gets; a taken or foreign one, or malformed CNI_ARGS, changes nothing', async () => {
        const ns = await newNamespace();
        const args = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=pod;K8S_POD_NAME=pod;K8S_POD_INFRA_CONTAINER_ID=args1;IP=10.170.0.77,fd00:170::77;MAC=02:42:0a:58:00:4d';
        const at = { containerId: 'args1', netns: ns.path, ifname: 'eth0', args };
        const result = await runtime.addNetworkList(list, at);
        expect(result.ips.map((i) => i.address)).to.deep.equal(['10.170.0.77/24', 'fd00:170::77/64']);
        expect(result.interfaces[2].mac).to.equal('02:42:0a:58:00:4d');
        const eth0 = ipJson(['addr', 'show', 'dev', 'eth0'], ns.name)[0];
        expect(eth0.address).to.equal('02:42:0a:58:00:4d');
        expect(eth0.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal(['10.170.0.77/24', 'fd00:170::77/64']);

        const other = await newNamespace();
        const state = () => ['attachments', 'endpoints', 'leases'].map((kind) => readdir(`${stateDir}/${kind}`).map((f) => readFileSync(`${stateDir}/${kind}/${f}`, 'utf8')));
        const before = { links: linkNames(), state: state() };
        const attempt = (args2) => runtime.addNetworkList(list, { containerId: 'args2', netns: other.path, ifname: 'eth0', args: args2 });
        await expectCniError(attempt('IgnoreUnknown=1;IP=10.170.0.77'), 101);
        await expectCniError(attempt('IgnoreUnknown=1;IP=10.99.0.5'), 102);
        await expectCniError(attempt('IgnoreUnknown=1;MAC=02:42:0a:58:00:4d'), 114);
        const unknown = await expectCniError(attempt('K8S_POD_NAME=pod;IP=10.170.0.78'), 4);
        expect(unknown.msg).to.contain('unknown key(s) K8S_POD_NAME');
        await expectCniError(attempt('IP=10.170.0.78;'), 4);
        await expectCniError(attempt('IgnoreUnknown=1;IP=10.170.0.999'), 4);
        expect(newLinks(before.links)).to.deep.equal([]);
        expect(ipJson(['link'], other.name).map((l) => l.ifname)).to.deep.equal(['lo']);
        expect(state()).to.deep.equal(before.state);
        await runtime.delNetworkList(list, at);
      });

      it('DEL after the namespace is gone releases the address and the port', async () => {
        const ns = await newNamespace();
        const a = { containerId: 'gone', netns: ns.path, ifname: 'eth0' };
        const port = 18081 + 10 * paths.indexOf(path);
        const result = await runtime.addNetworkList(list, a, { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] });
        await ns.delete();
        await runtime.delNetworkList(list, a, { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] });
        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
        expect(readdir(`${stateDir}/endpoints`)).to.deep.equal([]);
        const leases = JSON.parse(readFileSync(`${stateDir}/leases/${network}.json`, 'utf8'));
        expect(Object.keys(leases.ipv4.addresses)).to.not.include(result.ips[0].address.split('/')[0]);
        expect(publishedAnyPorts()).to.not.include(port);
        // The port is free again: another container gets it, and traffic reaches that one.
        const other = await newNamespace();
        const b = { containerId: 'again', netns: other.path, ifname: 'eth0' };
        await runtime.addNetworkList(list, b, { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] });
        const server = await startTcpServer(other, 80, 'again');
        try {
          expect(await tcpRequest(NetNamespace.host(), '127.0.0.1', port, 'moved')).to.equal('again:moved');
        } finally {
          await stop(server);
        }
        await runtime.exec('nsnet-cni', 'DEL', runtime.pluginConfig(list, list.plugins[0], {}), b);
      });

      it('GC removes an attachment the runtime no longer knows', async () => {
        const [n1, n2] = [await newNamespace(), await newNamespace()];
        const kept = { containerId: 'kept', netns: n1.path, ifname: 'eth0' };
        const leaked = { containerId: 'leaked', netns: n2.path, ifname: 'eth0' };
        const k = await runtime.addNetworkList(list, kept);
        const r = await runtime.addNetworkList(list, leaked);
        await runtime.gcNetworkList(list, [{ containerID: 'kept', ifname: 'eth0' }]);
        expect(readdir(`${stateDir}/attachments`)).to.have.length(1);
        // The service removes a veth a moment after answering (see "Two paths").
        expect(await eventually(() => !linkNames().has(r.interfaces[1].name), 10000)).to.equal(true);
        await runtime.checkNetworkList(list, kept);
        await runtime.gcNetworkList(list, []);
        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
        expect(await eventually(() => !linkNames().has(k.interfaces[1].name), 10000)).to.equal(true);
        const leases = JSON.parse(readFileSync(`${stateDir}/leases/${network}.json`, 'utf8'));
        for (const result of [k, r]) expect(Object.keys(leases.ipv4.addresses)).to.not.include(result.ips[0].address.split('/')[0]);
      });

      it('10 concurrent ADDs get distinct addresses', async () => {
        const nss = await Promise.all(Array.from({ length: 10 }, () => newNamespace()));
        const attachments = nss.map((ns, i) => ({ containerId: `many${i}`, netns: ns.path, ifname: 'eth0' }));
        const results = await Promise.all(attachments.map((a) => runtime.addNetworkList(list, a)));
        const addresses = results.map((r) => r.ips[0].address);
        expect(new Set(addresses).size).to.equal(10);
        for (const [i, ns] of nss.entries()) {
          const live = ipJson(['addr', 'show', 'dev', 'eth0'], ns.name)[0].addr_info.find((a) => a.family === 'inet');
          expect(`${live.local}/${live.prefixlen}`).to.equal(addresses[i]);
        }
        await Promise.all(attachments.map((a) => runtime.delNetworkList(list, a)));
        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
      });

      it('VERSION and STATUS', async () => {
        const version = await runtime.exec('nsnet-cni', 'VERSION', { cniVersion: '1.0.0' });
        expect(version).to.deep.equal({ cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
        expect(await runtime.exec('nsnet-cni', 'STATUS', runtime.pluginConfig(list, list.plugins[0], {}))).to.equal('');
      });
    });
  }

  it('the front end answered through this suite\'s service, and started none of its own', () => {
    expect(Number(readFileSync(`${socket}.pid`, 'utf8'))).to.equal(service.pid);
    expect(service.exitCode).to.equal(null);
  });

  /**
   * ADDs container "lost", deletes its namespace without DEL, runs `between`,
   * then ADDs "lost" again into a new namespace and DELs it: the address is in
   * the new namespace, and no attachment is left.
   */
  async function addAgainAfterLostNamespace(subnet, between) {
    const dir = pluginDir(frontEnd);
    const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: socket });
    const network = uniqueName('clost');
    const list = { cniVersion: '1.1.0', name: network, plugins: [{ type: 'nsnet-cni', subnet }] };
    const [lost, next] = [await NetNamespace.create(uniqueName('cl')), await NetNamespace.create(uniqueName('cl'))];
    try {
      const first = await runtime.addNetworkList(list, { containerId: 'lost', netns: lost.path, ifname: 'eth0' });
      await lost.delete();
      await between(network);
      const again = await runtime.addNetworkList(list, { containerId: 'lost', netns: next.path, ifname: 'eth0' });
      const address = again.ips[0].address.split('/')[0];
      expect(ipJson(['addr', 'show', 'eth0'], next.name)[0].addr_info.map((a) => a.local)).to.include(address);
      // The old endpoint went: only the new address is leased, only the new endpoint recorded.
      const leases = JSON.parse(readFileSync(`${stateDir}/leases/${network}.json`, 'utf8'));
      expect(Object.keys(leases.ipv4.addresses)).to.deep.equal([address]);
      expect(again.ips[0].address).to.not.equal(first.ips[0].address);
      expect(readdir(`${stateDir}/endpoints`).filter((f) => f.startsWith(`${network}@`))).to.have.length(1);
      await runtime.delNetworkList(list, { containerId: 'lost', netns: next.path, ifname: 'eth0' });
      expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
    } finally {
      await next.delete();
      await removeNetwork(network, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('an ADD takes over the attachment of a namespace deleted without DEL, with no reconcile between', async () => {
    await addAgainAfterLostNamespace('10.178.0.0/24', async () => undefined);
  });

  it('reconcile removes the attachment of a namespace deleted without DEL, so the container can be added again', async () => {
    await addAgainAfterLostNamespace('10.176.0.0/24', async (network) => {
      const report = await reconcile();
      expect(report.swept.attachments).to.deep.equal([`${network}:lost:eth0`]);
      expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
    });
  });

  for (const [via, target, env] of [
    ['in node', inNode, () => nodeEnv],
    ['through the service, which removes veths later', frontEnd, () => ({ ...nodeEnv, NSNET_CNI_SOCKET: socket })],
  ]) it(`two attachments of one container (${via}): the first gives the default routes (CNI has no gateway priority); DEL of it hands them to the other, whose CHECK passes`, async () => {
    const dir = pluginDir(target);
    const runtime = new CniRuntime([dir], env());
    // The second network's name sorts first: by Docker's rule it would win, and must not.
    const [first, second] = [`z${uniqueName('cgw')}`, `a${uniqueName('cgw')}`];
    const lists = {
      [first]: { cniVersion: '1.1.0', name: first, plugins: [{ type: 'nsnet-cni', subnet: '10.179.1.0/24', ipv6Subnet: 'fd00:179:1::/64' }] },
      [second]: { cniVersion: '1.1.0', name: second, plugins: [{ type: 'nsnet-cni', subnet: '10.179.2.0/24', ipv6Subnet: 'fd00:179:2::/64' }] },
    };
    const ns = await NetNamespace.create(uniqueName('cgw'));
    const at = (ifname) => ({ containerId: 'gw', netns: ns.path, ifname });
    const defaults = (family) => defaultRoutes(ns.name, family);
    try {
      await runtime.addNetworkList(lists[first], at('eth0'));
      const added = await runtime.addNetworkList(lists[second], at('eth1'));
      // The result tells the runtime of a default route, as the reference plugin's does.
      expect(added.routes).to.deep.equal([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
      expect(defaults(4)).to.deep.equal([{ gateway: '10.179.1.1', dev: 'eth0' }]);
      expect(defaults(6)).to.deep.equal([{ gateway: 'fd00:179:1::1', dev: 'eth0' }]);
      await runtime.checkNetworkList(lists[first], at('eth0'));
      await runtime.checkNetworkList(lists[second], at('eth1'));
      await runtime.delNetworkList(lists[first], at('eth0'));
      expect(defaults(4)).to.deep.equal([{ gateway: '10.179.2.1', dev: 'eth1' }]);
      expect(defaults(6)).to.deep.equal([{ gateway: 'fd00:179:2::1', dev: 'eth1' }]);
      await runtime.checkNetworkList(lists[second], at('eth1'));
      await runtime.delNetworkList(lists[second], at('eth1'));
      expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
    } finally {
      await ns.delete();
      for (const name of [first, second]) await removeNetwork(name, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('an ADD that died', () => {
    const network = uniqueName('cdied');
    const list = { cniVersion: '1.1.0', name: network, plugins: [{ type: 'nsnet-cni', subnet: '10.177.0.0/24' }] };
    let dir;
    let runtime;
    before(() => {
      dir = pluginDir(frontEnd);
      runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: socket });
    });
    after(async () => {
      await removeNetwork(network, { force: true });
      rmSync(dir, { recursive: true, force: true });
    });

    /** In a process of its own: records the attachment, connects, and exits before recording it as ready. */
    async function dieAfterConnect(containerId, ns) {
      const script = `
        const { createBridgeNetwork } = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
        const { createAttachment } = require(${JSON.stringify(join(root, 'dist', 'cni', 'attachments.js'))});
        (async () => {
          const net = await createBridgeNetwork({ name: ${JSON.stringify(network)}, subnet: '10.177.0.0/24' });
          const record = { network: net.name, containerId: ${JSON.stringify(containerId)}, ifname: 'eth0', netnsPath: ${JSON.stringify(ns.path)} };
          await createAttachment({ ...record, status: 'creating', pid: process.pid, created: new Date().toISOString() });
          await net.connect(${JSON.stringify(ns.path)}, { ifname: 'eth0' });
        })().then(() => process.exit(0));`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
      const [code] = await once(child, 'exit');
      expect(code).to.equal(0);
      expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.include('eth0');
    }

    it('an ADD of the same attachment takes its place, removing the endpoint it made first', async () => {
      const ns = await NetNamespace.create(uniqueName('cd'));
      try {
        await dieAfterConnect('died-c', ns);
        const attachment = { containerId: 'died-c', netns: ns.path, ifname: 'eth0' };
        const result = await runtime.addNetworkList(list, attachment);
        const eth0 = ipJson(['addr', 'show', 'eth0'], ns.name)[0];
        expect(eth0.address).to.equal(result.interfaces[2].mac);
        expect(eth0.addr_info.map((a) => a.local)).to.deep.equal([result.ips[0].address.split('/')[0]]);
        await runtime.delNetworkList(list, attachment);
        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
      } finally {
        await ns.delete();
      }
    });

    it('DEL removes the endpoint it made, and so does reconcile', async () => {
      const [a, b] = [await NetNamespace.create(uniqueName('cd')), await NetNamespace.create(uniqueName('cd'))];
      try {
        await dieAfterConnect('died-a', a);
        await dieAfterConnect('died-b', b);
        await runtime.exec('nsnet-cni', 'DEL', runtime.pluginConfig(list, list.plugins[0], {}), { containerId: 'died-a', netns: a.path, ifname: 'eth0' });
        // The service removes the veth a moment after answering (see "Two paths").
        const onlyLo = (ns) => ipJson(['link'], ns.name).map((l) => l.ifname).join() === 'lo';
        expect(await eventually(() => onlyLo(a), 5000)).to.equal(true);
        const report = await reconcile();
        expect(report.swept.attachments).to.deep.equal([`${network}:died-b:eth0`]);
        expect(report.endpoints).to.have.length(1);
        expect(onlyLo(b)).to.equal(true);
        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
        expect(readdir(`${stateDir}/endpoints`).filter((f) => f.startsWith(`${network}@`))).to.deep.equal([]);
        const leases = JSON.parse(readFileSync(`${stateDir}/leases/${network}.json`, 'utf8'));
        expect(Object.keys(leases.ipv4.addresses)).to.deep.equal([]);
      } finally {
        await a.delete();
        await b.delete();
      }
    });

    it('reconcile leaves an attachment whose ADD is still at work', async () => {
      const key = `${network}:busy:eth0`;
      const file = `${stateDir}/attachments/${key}.json`;
      writeFileSync(file, JSON.stringify({ network, containerId: 'busy', ifname: 'eth0', netnsPath: '/run/netns/busy', status: 'creating', pid: process.pid, created: new Date().toISOString() }));
      try {
        expect((await reconcile()).swept.attachments).to.deep.equal([]);
        expect(readdir(`${stateDir}/attachments`)).to.deep.equal([`${key}.json`]);
      } finally {
        rmSync(file);
      }
    });
  });

  it('nsnet cni install links the front end into a plugin directory, and it answers from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsnet-install-'));
    const run = spawn(process.execPath, [join(root, 'bin', 'nsnet.js'), 'cni', 'install', '--dir', dir, '--name', 'nsnet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [code] = await once(run, 'exit');
    expect(code).to.equal(0);
    expect(realpathSync(join(dir, 'nsnet'))).to.equal(realpathSync(frontEnd));
    const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: socket });
    expect((await runtime.exec('nsnet', 'VERSION', { cniVersion: '1.1.0' })).supportedVersions).to.include('1.1.0');
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the native front end', () => {
    it('is built without the C library on x86-64 and arm64 (no glibc start-up per call)', function () {
      if (!['x64', 'arm64'].includes(process.arch)) this.skip();
      const symbols = spawnSync('readelf', ['-s', '-W', frontEnd], { encoding: 'utf8' });
      expect(symbols.status, symbols.stderr).to.equal(0);
      expect(symbols.stdout).to.match(/\s_start$/m);
      expect(symbols.stdout).to.not.match(/__libc_start_main/);
      const start = spawnSync('readelf', ['-s', '-W', join(dirname(frontEnd), 'nsnet-cni-start')], { encoding: 'utf8' });
      expect(start.stdout).to.match(/__libc_start_main/);
    });

    it('passes a config and CNI_ARGS larger than its buffer whole', async () => {
      const dir = pluginDir(frontEnd);
      const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: socket });
      const network = uniqueName('cnib');
      const padding = 'p'.repeat(200000);
      const list = { cniVersion: '1.1.0', name: network, plugins: [{ type: 'nsnet-cni', subnet: '10.176.0.0/24', padding }] };
      const ns = await NetNamespace.create(uniqueName('cb'));
      try {
        const args = `IgnoreUnknown=1;${'K'.repeat(70000)}=v`;
        const result = await runtime.addNetworkList(list, { containerId: 'big', netns: ns.path, ifname: 'eth0', args });
        expect(ipJson(['addr', 'show', 'eth0'], ns.name)[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`)).to.include(result.ips[0].address);
        await runtime.delNetworkList(list, { containerId: 'big', netns: ns.path, ifname: 'eth0', args });
        expect(readdir(`${stateDir}/attachments`).filter((f) => f.startsWith(`${network}:`))).to.deep.equal([]);
      } finally {
        await ns.delete();
        await removeNetwork(network, { force: true });
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('without nsnet-cni-start beside it and no service, answers CNI error 100 saying so', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nsnet-alone-'));
      copyFileSync(frontEnd, join(dir, 'nsnet-cni'));
      chmodSync(join(dir, 'nsnet-cni'), 0o755);
      const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: join(dir, 'none.sock') });
      try {
        const error = await expectCniError(runtime.exec('nsnet-cni', 'VERSION', { cniVersion: '1.1.0' }), 100);
        expect(error.msg).to.include('nsnet-cni-start');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('service started on demand', () => {
    it('the first call starts the service (bin/nsnet-cni.js serve), and later calls go to it', async () => {
      const dir = pluginDir(frontEnd);
      const sock = join(mkdtempSync(join(tmpdir(), 'nsnet-auto-')), 'cni.sock');
      const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: sock });
      const name = uniqueName('cauto');
      const list = { cniVersion: '1.1.0', name, plugins: [{ type: 'nsnet-cni', subnet: '10.175.0.0/24' }] };
      const [n1, n2] = [await NetNamespace.create(uniqueName('ca')), await NetNamespace.create(uniqueName('ca'))];
      let pid;
      try {
        const first = await runtime.addNetworkList(list, { containerId: 'a1', netns: n1.path, ifname: 'eth0' });
        pid = Number(readFileSync(`${sock}.pid`, 'utf8'));
        expect(pid).to.be.above(0);
        // The service's own entry, without the rest of the nsnet command.
        const [script, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
        expect(realpathSync(script)).to.equal(realpathSync(inNode));
        expect(args).to.deep.equal(['serve', '--socket', sock, '--idle-exit', '600']);
        const second = await runtime.addNetworkList(list, { containerId: 'a2', netns: n2.path, ifname: 'eth0' });
        expect(Number(readFileSync(`${sock}.pid`, 'utf8'))).to.equal(pid); // the same service answered
        expect(second.ips[0].address).to.not.equal(first.ips[0].address);
        await runtime.delNetworkList(list, { containerId: 'a1', netns: n1.path, ifname: 'eth0' });
        await runtime.delNetworkList(list, { containerId: 'a2', netns: n2.path, ifname: 'eth0' });
      } finally {
        if (pid) process.kill(pid, 'SIGTERM'); // started by this test's plugin call; its PID from its pid file
        expect(await eventually(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 5000)).to.equal(true);
        await n1.delete();
        await n2.delete();
        await removeNetwork(name, { force: true });
        rmSync(dir, { recursive: true, force: true });
      }
      expect(existsSync(`${sock}.pid`)).to.equal(false);
    });

    it('a service that cannot start: the call runs in node at once, and the log says why', async () => {
      const dir = pluginDir(frontEnd);
      // Longer than a unix socket address can be: the service fails to listen and exits.
      const sock = join(mkdtempSync(join(tmpdir(), 'nsnet-nolisten-')), `${'x'.repeat(110)}.sock`);
      const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: sock });
      const started = Date.now();
      const version = await runtime.exec('nsnet-cni', 'VERSION', { cniVersion: '1.1.0' });
      // It no longer waits out the 10 s it allows a service to start in.
      expect(Date.now() - started).to.be.below(5000);
      expect(version.supportedVersions).to.include('1.1.0');
      expect(readFileSync(`${sock}.log`, 'utf8')).to.match(/^nsnet-cni serve: the socket path is longer than 107 bytes: /m);
      rmSync(dirname(sock), { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    });

    it('bin/nsnet-cni.js serve refuses arguments other than the front end\'s', async () => {
      for (const args of [['serve'], ['serve', '--socket', '/run/x.sock'], ['serve', '--socket', '/run/x.sock', '--idle-exit', 'soon'], ['serve', '--port', '1', '--idle-exit', '1']]) {
        const run = spawn(process.execPath, [inNode, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        run.stderr.on('data', (chunk) => (stderr += chunk));
        const [code] = await once(run, 'exit');
        expect(code, args.join(' ')).to.equal(2);
        expect(stderr).to.match(/^usage: nsnet-cni serve --socket PATH --idle-exit SECONDS/);
      }
    });

    it('--idle-exit: the service leaves after that long without a request', async () => {
      const sock = join(mkdtempSync(join(tmpdir(), 'nsnet-idle-')), 'cni.sock');
      const idle = spawn(process.execPath, [join(root, 'bin', 'nsnet.js'), 'cni', 'serve', '--socket', sock, '--idle-exit', '1'], { stdio: 'ignore' });
      const started = Date.now();
      const [code] = await once(idle, 'exit');
      expect(code).to.equal(0);
      expect(Date.now() - started).to.be.within(900, 5000);
      expect(existsSync(sock)).to.equal(false);
    });
  });

  describe('errors', () => {
    const dir = pluginDir(inNode);
    const runtime = new CniRuntime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: '/nonexistent/cni.sock' });
    const network = uniqueName('cnie');
    const config = (extra = {}) => ({ cniVersion: '1.1.0', name: network, type: 'nsnet-cni', subnet: '10.171.0.0/24', ...extra });
    let ns;

    before(async () => {
      ns = await NetNamespace.create(uniqueName('ce'));
    });
    after(async () => {
      await ns.delete();
      await removeNetwork(network, { force: true }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    const at = () => ({ containerId: 'err1', netns: ns.path, ifname: 'eth0' });

    it('each code on its bad input, and nothing changed', async () => {
      const before = linkNames();
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config({ cniVersion: '0.2.0' }), at()), 1);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config({ ipam: { type: 'host-local' } }), at()), 2);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config({ isGateway: false }), at()), 2);
      await expectCniError(runtime.exec('nsnet-cni', 'CHECK', config({ prevResult: { interfaces: [] } }), { ...at(), containerId: 'nobody' }), 3);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), { ...at(), containerId: undefined }), 4);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), { ...at(), ifname: 'bad/name' }), 4);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), { ...at(), netns: undefined }), 4);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), { ...at(), netns: '/nonexistent/netns' }), 4);
      await expectCniError(runtime.exec('nsnet-cni', 'BOGUS', config(), at()), 4);
      const stateFile = join(mkdtempSync(join(tmpdir(), 'nsnet-file-')), 'not-a-dir');
      writeFileSync(stateFile, '');
      const io = new CniRuntime([dir], { ...runtime.env, NSNET_STATE_DIR: stateFile });
      await expectCniError(io.exec('nsnet-cni', 'ADD', config(), at()), 5);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', '{"cniVersion": "1.1.0", "name": ', at()), 6);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', '[1, 2]', at()), 6);
      const mtu = await expectCniError(runtime.exec('nsnet-cni', 'ADD', config({ mtu: 'big' }), at()), 7);
      expect(mtu.msg).to.contain('"mtu"');
      const mapping = await expectCniError(
        runtime.exec('nsnet-cni', 'ADD', config({ runtimeConfig: { portMappings: [{ hostPort: 'x', containerPort: 80 }] } }), at()),
        7,
      );
      expect(mapping.msg).to.contain('runtimeConfig.portMappings[0].hostPort');
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config({ runtimeConfig: { ips: ['10.171.0.999'] } }), at()), 7);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config({ runtimeConfig: { ips: ['10.99.0.5'] } }), at()), 102);
      await expectCniError(runtime.exec('nsnet-cni', 'GC', config({ cniVersion: '1.0.0', 'cni.dev/valid-attachments': [] })), 1);
      // STATUS: 50 when an ADD cannot work, here for want of a usable state directory.
      await expectCniError(io.exec('nsnet-cni', 'STATUS', config()), 50);
      expect(newLinks(before).filter((name) => name !== `nsbr-${network}`)).to.deep.equal([]);
      expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
    });

    it('11 while another ADD of the same attachment is at work; 109 when it exists; 110 when CHECK finds a change; 51 when the bridge is gone', async () => {
      // A record as an ADD at work in a live process (this one) leaves it.
      const key = `${network}:busy:eth0`;
      writeFileSync(
        `${stateDir}/attachments/${key}.json`,
        JSON.stringify({ network, containerId: 'busy', ifname: 'eth0', status: 'creating', pid: process.pid, created: new Date().toISOString() }),
      );
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), { ...at(), containerId: 'busy' }), 11);
      await expectCniError(runtime.exec('nsnet-cni', 'DEL', config(), { ...at(), containerId: 'busy' }), 11);
      rmSync(`${stateDir}/attachments/${key}.json`);

      const result = await runtime.exec('nsnet-cni', 'ADD', config(), at());
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), at()), 109);
      // The interface exists in the namespace already (the kernel refuses the veth).
      ip(['-n', ns.name, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p']);
      await expectCniError(runtime.exec('nsnet-cni', 'ADD', config(), { ...at(), containerId: 'err2', ifname: 'eth1' }), 109);
      expect(readdir(`${stateDir}/attachments`)).to.have.length(1);
      await runtime.exec('nsnet-cni', 'CHECK', config({ prevResult: result }), at());
      ip(['-n', ns.name, 'addr', 'del', result.ips[0].address, 'dev', 'eth0']);
      const changed = await expectCniError(runtime.exec('nsnet-cni', 'CHECK', config({ prevResult: result }), at()), 110);
      expect(changed.msg).to.contain(`address ${result.ips[0].address} is missing on eth0`);
      ip(['link', 'del', `nsbr-${network}`]);
      await expectCniError(runtime.exec('nsnet-cni', 'STATUS', config()), 51);
      await runtime.exec('nsnet-cni', 'DEL', config(), at());
      expect(await runtime.exec('nsnet-cni', 'STATUS', config())).to.equal('');
    });
  });

  it("the README's config list and its CNI_ARGS example, as Podman 4 would send them: the address and MAC asked for, in a 1.0.0 result", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const list = JSON.parse(readme.match(/10-nsnet\.conflist`[\s\S]*?```json\n([\s\S]*?)```/)[1]);
    const args = readme.match(/`(IgnoreUnknown=1;K8S_POD_NAME=[^`]*)`/)[1];
    expect(list.cniVersion).to.equal('1.0.0');
    const dir = pluginDir(inNode);
    const runtime = new CniRuntime([dir], { ...nodeEnv });
    const ns = await NetNamespace.create(uniqueName('cr'));
    const at = { containerId: 'readme', netns: ns.path, ifname: 'eth0', args };
    try {
      const result = await runtime.addNetworkList(list, at);
      expect(result.cniVersion).to.equal('1.0.0');
      const ip = args.match(/IP=([^;]*)/)[1];
      const mac = args.match(/MAC=([^;]*)/)[1];
      expect(result.ips[0].address).to.equal(`${ip}/16`);
      const eth0 = ipJson(['addr', 'show', 'dev', 'eth0'], ns.name)[0];
      expect(eth0.address).to.equal(mac);
      expect(eth0.addr_info.find((a) => a.family === 'inet').local).to.equal(ip);
      await runtime.delNetworkList(list, at);
    } finally {
      await ns.delete();
      await removeNetwork(list.name, { force: true }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('chaining and the reference plugins', () => {
    if (!referenceDir) {
      it('needs the reference plugins (Debian: containernetworking-plugins)', () => {
        throw new Error(`no bridge, host-local and loopback in ${REFERENCE_DIRS.join(' or ')}`);
      });
      return;
    }
    const dir = pluginDir(inNode);
    const runtime = new CniRuntime([dir, referenceDir], { ...nodeEnv });
    const namespaces = [];
    after(async () => {
      for (const ns of namespaces) await ns.delete().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    /** The shape of a result: its keys, and the keys of each entry of its lists. */
    const shape = (result) =>
      Object.fromEntries(
        Object.entries(result).map(([key, value]) => [key, Array.isArray(value) ? value.map((entry) => Object.keys(entry).sort()) : typeof value]),
      );

    for (const version of ['0.3.1', '0.4.0', '1.0.0']) {
      it(`has the shape of the reference bridge + host-local result (cniVersion ${version})`, async () => {
        const [n1, n2] = [await NetNamespace.create(uniqueName('cr')), await NetNamespace.create(uniqueName('cr'))];
        namespaces.push(n1, n2);
        const name = uniqueName('cref');
        const reference = {
          cniVersion: version,
          name: `${name}r`,
          plugins: [
            { type: 'bridge', bridge: 'cniref0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', subnet: '10.172.0.0/24', routes: [{ dst: '0.0.0.0/0' }], dataDir: join(stateDir, 'host-local') } },
          ],
        };
        const ours = { cniVersion: version, name, plugins: [{ type: 'nsnet-cni', subnet: '10.173.0.0/24', ipMasq: true }] };
        const a1 = { containerId: 'ref', netns: n1.path, ifname: 'eth0' };
        const a2 = { containerId: 'ours', netns: n2.path, ifname: 'eth0' };
        const theirs = await runtime.addNetworkList(reference, a1);
        const mine = await runtime.addNetworkList(ours, a2);
        try {
          expect(shape(mine)).to.deep.equal(shape(theirs));
        } finally {
          await runtime.delNetworkList(reference, a1);
          await runtime.delNetworkList(ours, a2);
          ip(['link', 'del', 'cniref0']);
          await removeNetwork(name);
        }
      });
    }

    it('passes the previous result through when chained after another plugin', async () => {
      const ns = await NetNamespace.create(uniqueName('cc'));
      namespaces.push(ns);
      const name = uniqueName('cchain');
      const list = { cniVersion: '1.0.0', name, plugins: [{ type: 'loopback' }, { type: 'nsnet-cni', subnet: '10.174.0.0/24' }] };
      const a = { containerId: 'chained', netns: ns.path, ifname: 'eth0' };
      const result = await runtime.addNetworkList(list, a);
      expect(result.interfaces.map((i) => i.name)).to.deep.equal(['lo', result.interfaces[1].name, result.interfaces[2].name, 'eth0']);
      expect(ipJson(['-d', 'link', 'show', 'dev', result.interfaces[1].name])[0].linkinfo.info_kind).to.equal('bridge');
      expect(result.ips.find((i) => i.address.startsWith('10.174.')).interface).to.equal(3);
      await runtime.checkNetworkList(list, a);
      await runtime.delNetworkList(list, a);
      expect(readdir(`${stateDir}/attachments`)).to.deep.equal([]);
      await removeNetwork(name);
    });
  });
});
