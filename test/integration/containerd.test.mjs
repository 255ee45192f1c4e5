// containerd 1.6 (Debian's, with runc) attaching containers through nsnet's
// CNI plugin with `ctr run --cni`: a daemon of the test's own
// (test/containerd-daemon.mjs), an image built here from Debian's
// busybox-static, real traffic, and nothing left once the tasks end.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { NetNamespace, removeNetwork } from '../../dist/index.js';
import { writeBusyboxImage } from '../busybox-image.mjs';
import { startCniService } from '../cni-service.mjs';
import { Containerd, readIfExists } from '../containerd-daemon.mjs';
import { eventually, ipJson, ipLink, linkNames, newLinks, publishedAnyPorts, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const root = process.cwd();
const stateDir = process.env.NSNET_STATE_DIR;
const netnsDir = process.env.NSNET_NETNS_DIR;
const IMAGE = 'docker.io/nsnet/busybox:test';

/** The record files of a kind in nsnet's state directory. */
function records(kind) {
  const dir = join(stateDir, kind);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

const readRecord = (kind, key) => JSON.parse(readFileSync(join(stateDir, kind, `${key}.json`), 'utf8'));

/** The elements of every set and map of nsnet's table, as nft lists them, one string each (none before the table is made). */
function nftElements() {
  const tables = JSON.parse(execFileSync('nft', ['-j', 'list', 'tables'], { encoding: 'utf8' })).nftables;
  if (!tables.some((entry) => entry.table?.family === 'inet' && entry.table.name === 'nsnet')) return [];
  const listed = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', 'nsnet'], { encoding: 'utf8' }));
  return listed.nftables.flatMap((entry) => {
    const set = entry.set ?? entry.map;
    return set ? (set.elem ?? []).map((element) => `${set.name} ${JSON.stringify(element)}`) : [];
  });
}

/** The entries of a /proc directory, or none once its process has ended. */
function procEntries(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Where a /proc link points, or undefined once its process has ended. */
function procLink(path) {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Whether any thread of any process is in the network namespace of this inode, or holds a descriptor of it. */
function namespaceInUse(inode) {
  const held = `net:[${inode}]`;
  return procEntries('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .some(
      (pid) =>
        procEntries(`/proc/${pid}/task`).some((tid) => procLink(`/proc/${pid}/task/${tid}/ns/net`) === held) ||
        procEntries(`/proc/${pid}/fd`).some((fd) => procLink(`/proc/${pid}/fd/${fd}`) === held),
    );
}

/** Whether the process `pid` has a TCP socket listening on `port` (its namespace's /proc/net/tcp and tcp6). */
function listening(pid, port) {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['tcp', 'tcp6'].some((table) =>
    readIfExists(`/proc/${pid}/net/${table}`)
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .some(([, address, , state]) => address?.endsWith(local) && state === '0A'),
  );
}

/** The conflist of the README's "With containerd" section, as written. */
function readmeConfList() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const list = JSON.parse(readme.slice(readme.indexOf('### With containerd')).match(/```json\n([\s\S]*?)```/)[1]);
  expect(list).to.include({ cniVersion: '1.0.0' });
  expect(list.plugins.map((p) => p.type)).to.deep.equal(['nsnet-cni']);
  return list;
}

/** The tools the suite runs: missing, the suite fails (it is never skipped). */
function requireTools() {
  const missing = ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2', 'nsenter', 'unshare', 'tar'].filter(
    (tool) => !process.env.PATH.split(':').some((dir) => existsSync(join(dir, tool))),
  );
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static)');
  if (missing.length) throw new Error(`containerd suite: missing ${missing.join(', ')} (.ci/run installs containerd, runc and busybox-static)`);
}

describe('containerd 1.6: ctr run --cni with nsnet-cni', function () {
  this.timeout(60000);

  const network = uniqueName('ctrd');
  const bridge = `nsbr-${network}`;
  const namespace = `nsnet-${process.pid}`;
  let work;
  let confDir;
  let pluginDir;
  let service;
  let daemon;
  const runs = [];

  /** The conflist ctr reads: the README's, under this suite's network name, in the version given. */
  function writeConfList(cniVersion) {
    const list = { ...readmeConfList(), name: network, cniVersion };
    writeFileSync(join(confDir, '10-nsnet.conflist'), JSON.stringify(list, null, 2));
  }

  /** Makes /opt/cni/bin/nsnet-cni (as containerd sees it) a link to `target`. */
  function usePlugin(target) {
    const link = join(pluginDir, 'nsnet-cni');
    symlinkSync(target, `${link}.new`);
    renameSync(`${link}.new`, link);
  }

  before(async () => {
    requireTools();
    work = mkdtempSync(join(tmpdir(), 'nsnet-containerd-'));
    confDir = join(work, 'net.d');
    pluginDir = join(work, 'bin');
    mkdirSync(confDir);
    mkdirSync(pluginDir);
    writeConfList('1.0.0');
    usePlugin(join(root, 'build', 'Release', 'nsnet-cni'));
    const socket = join(work, 'cni.sock');
    service = await startCniService(socket);
    daemon = new Containerd({ dir: join(work, 'containerd'), namespace, env: { NSNET_CNI_SOCKET: socket } });
    mkdirSync(daemon.dir);
    await daemon.start({ cniConfDir: confDir, cniPluginDir: pluginDir });
    const tarball = join(work, 'busybox.tar');
    writeBusyboxImage(tarball, IMAGE);
    await daemon.ctr(['image', 'import', tarball]);
  });

  // What a test that failed half-way left goes, so that the next one starts from nothing: the
  // tasks of waiting `ctr run`s killed (each sends DEL as its task ends), the tasks and
  // containers left removed, and the attachments left (a detached run's) through reconcile.
  afterEach(async () => {
    for (const { id, run } of runs) {
      if (run.exitCode === null && run.signalCode === null) await daemon.ctr(['task', 'kill', '--signal', 'SIGKILL', id]).catch(() => undefined);
    }
    await Promise.all(runs.map((r) => r.exited));
    runs.length = 0;
    await daemon.removeAll();
    if (records('attachments').length) execFileSync(process.execPath, [join(root, 'bin', 'nsnet.js'), 'reconcile']);
  });

  after(async () => {
    const failures = [];
    for (const { run } of runs) {
      if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
    }
    await daemon?.stop().catch((error) => failures.push(error.message));
    if (service) await stop(service);
    await removeNetwork(network, { force: true }).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
    if (failures.length) throw new Error(failures.join('; '));
  });

  let execs = 0;
  /** `ctr task exec` in container `id`: its stdout. */
  function exec(id, args) {
    execs += 1;
    return daemon.ctr(['task', 'exec', '--exec-id', `exec${execs}`, id, ...args]);
  }

  /**
   * `ctr run --rm --cni` (not detached: ctr 1.6 calls DEL only when the task
   * it waits for ends) of a container whose busybox nc reads a line on port
   * 80 and answers "ID:line"; resolves once it listens.
   */
  async function runServer(id) {
    const run = daemon.spawnCtr(['run', '--rm', '--cni', IMAGE, id, 'nc', '-ll', '-p', '80', '-e', 'sh', '-c', `read line; echo "${id}:$line"`]);
    const exited = once(run, 'exit');
    runs.push({ id, run, exited });
    let stderr = '';
    run.stderr.on('data', (chunk) => (stderr += chunk));
    let pid = 0;
    const ready = await eventually(() => {
      if (run.exitCode !== null) return true;
      pid = daemon.initPid(id);
      return pid > 0 && listening(pid, 80);
    }, 15000);
    if (run.exitCode !== null) throw new Error(`ctr run ${id} ended (${run.exitCode}): ${stderr}`);
    if (!ready) throw new Error(`container ${id} did not listen on port 80: ${stderr}`);
    return { id, run, pid, exited, stderr: () => stderr };
  }

  /** The container's IPv4 address and prefix, as busybox `ip` inside it shows them. */
  async function addressInside(id) {
    const shown = await exec(id, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    return /inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(shown)?.[1];
  }

  const plugins = [
    { name: 'the native front end, answered by nsnet cni serve', target: () => join(root, 'build', 'Release', 'nsnet-cni') },
    { name: 'bin/nsnet-cni.js, node once per call', target: () => join(root, 'bin', 'nsnet-cni.js') },
  ];

  for (const [index, plugin] of plugins.entries()) {
    describe(plugin.name, () => {
      before(() => usePlugin(plugin.target()));

      it('ADD gives each container its address and default route; traffic from the host and between containers; the task killed, ctr calls DEL and nothing is left', async () => {
        const linksBefore = linkNames();
        const namespacesBefore = readdirSync(netnsDir);
        const elementsBefore = new Set(nftElements());
        const c1 = await runServer(`web${index}a`);
        const c2 = await runServer(`web${index}b`);
        const containers = [c1, c2];

        // What ctr passed (container id "<namespace>-<id>", eth0, the task's /proc path), as nsnet recorded it.
        const attachments = containers.map((c) => readRecord('attachments', `${network}:${namespace}-${c.id}:eth0`));
        for (const [i, c] of containers.entries()) expect(attachments[i]).to.include({ status: 'ready', netnsPath: `/proc/${c.pid}/ns/net` });
        const endpoints = attachments.map((a) => readRecord('endpoints', a.endpoint));

        for (const [i, c] of containers.entries()) {
          // Inside, with busybox: the address on eth0 and the default route through the bridge.
          const inside = await addressInside(c.id);
          expect(inside).to.equal(`${endpoints[i].ipv4}/24`);
          expect(inside).to.match(/^10\.181\.0\.\d+\/24$/);
          expect(await exec(c.id, ['ip', 'route'])).to.match(/^default via 10\.181\.0\.1 dev eth0/m);
          expect(await exec(c.id, ['ip', '-6', 'addr', 'show', 'dev', 'eth0'])).to.contain(`inet6 ${endpoints[i].ipv6}/64 scope global`);
          expect(endpoints[i].ipv6).to.match(/^fd00:181::[0-9a-f]+$/);
          expect(await exec(c.id, ['ip', '-6', 'route'])).to.match(/^default via fd00:181::1 dev eth0/m);
          // Outside: the kernel's view of the same namespace, and the host end on the bridge.
          expect(readlinkSync(`/proc/${c.pid}/ns/net`)).to.equal(`net:[${endpoints[i].netnsInode}]`);
          expect(namespaceInUse(endpoints[i].netnsInode)).to.equal(true);
          const eth0 = JSON.parse(execFileSync('nsenter', [`--net=/proc/${c.pid}/ns/net`, 'ip', '-j', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }))[0];
          expect(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal([inside]);
          expect(ipLink(endpoints[i].hostIfname).master).to.equal(bridge);
        }
        // ctr 1.6 calls go-cni's Setup with no capability arguments: no port mappings reach the plugin.
        expect(endpoints.map((e) => e.ports)).to.deep.equal([[], []]);
        expect(publishedAnyPorts()).to.deep.equal([]);

        // Each server reads a line and answers "ID:line"; a client in a container sends its own id.
        const fromContainer = (c, address) => exec(c.id, ['sh', '-c', `echo ${c.id} | nc -w 3 ${address} 80`]);
        for (const [a, b] of [endpoints.map((e) => e.ipv4), endpoints.map((e) => e.ipv6)]) {
          expect(await tcpRequest(NetNamespace.host(), a, 80, 'host\n')).to.equal(`${c1.id}:host\n`);
          expect(await tcpRequest(NetNamespace.host(), b, 80, 'host\n')).to.equal(`${c2.id}:host\n`);
          expect(await fromContainer(c2, a)).to.equal(`${c1.id}:${c2.id}\n`);
          expect(await fromContainer(c1, b)).to.equal(`${c2.id}:${c1.id}\n`);
        }

        for (const c of containers) {
          await daemon.ctr(['task', 'kill', '--signal', 'SIGKILL', c.id]);
          const [code] = await c.exited;
          expect(code, c.stderr()).to.equal(137); // ctr run returns the task's status, after DEL and --rm
        }
        expect(await daemon.tasks()).to.deep.equal([]);
        expect(await daemon.containers()).to.deep.equal([]);
        // nsnet's records: no attachment, no endpoint, no address leased.
        expect(records('attachments')).to.deep.equal([]);
        expect(records('endpoints')).to.deep.equal([]);
        const leases = readRecord('leases', network);
        for (const e of endpoints) expect(Object.keys(leases.ipv4.addresses)).to.not.include(e.ipv4);
        for (const e of endpoints) expect(Object.keys(leases.ipv6.addresses)).to.not.include(e.ipv6);
        // The kernel's: no host veth (the network's bridge stays), no namespace.
        const left = () => newLinks(linksBefore).filter((name) => name !== bridge);
        expect(await eventually(() => left().length === 0, 10000), `links left: ${left()}`).to.equal(true);
        expect(ipJson(['link', 'show', 'master', bridge])).to.deep.equal([]);
        for (const e of endpoints) expect(await eventually(() => !namespaceInUse(e.netnsInode)), `namespace ${e.netnsInode}`).to.equal(true);
        expect(readdirSync(netnsDir)).to.deep.equal(namespacesBefore);
        // nf_tables: no element of a container's (its address, its veth); new ones only of the network's bridge, made by the first ADD.
        const elements = nftElements();
        expect(elements.filter((e) => endpoints.some((p) => e.includes(`"${p.ipv4}"`) || e.includes(`"${p.ipv6}"`) || e.includes(`"${p.hostIfname}"`)))).to.deep.equal([]);
        expect(elements.filter((e) => !elementsBefore.has(e) && !e.includes(`"${bridge}"`))).to.deep.equal([]);
      });
    });
  }

  describe('what ctr 1.6 does not do', () => {
    before(() => usePlugin(join(root, 'build', 'Release', 'nsnet-cni')));

    it('with --detach, ctr never calls DEL (`ctr task delete` does not); the same name runs again, and nsnet reconcile removes what is left', async () => {
      const id = 'detached';
      const runDetached = async () => {
        await daemon.ctr(['run', '--detach', '--cni', IMAGE, id, 'sleep', '600']);
        const [task] = (await daemon.tasks()).filter((t) => t.id === id);
        const attachment = readRecord('attachments', `${network}:${namespace}-${id}:eth0`);
        expect(attachment).to.include({ status: 'ready', netnsPath: `/proc/${task.pid}/ns/net` });
        return readRecord('endpoints', attachment.endpoint);
      };
      // Killed and deleted as ctr does it, then the container.
      const removeTask = async () => {
        await daemon.ctr(['task', 'delete', '--force', id]);
        await daemon.ctr(['container', 'delete', id]);
      };

      const first = await runDetached();
      await removeTask();
      // No DEL came: the records stay, with the address leased, for a namespace that is gone.
      expect(records('attachments')).to.deep.equal([`${network}:${namespace}-${id}:eth0.json`]);
      expect(Object.keys(readRecord('leases', network).ipv4.addresses)).to.include(first.ipv4);
      // An ADD of the same container and interface takes the stale attachment over.
      const second = await runDetached();
      expect(records('endpoints')).to.deep.equal([`${second.network}@${second.netnsInode}.json`]);
      expect(Object.keys(readRecord('leases', network).ipv4.addresses)).to.deep.equal([second.ipv4]);
      await removeTask();

      const reconcile = execFileSync(process.execPath, [join(root, 'bin', 'nsnet.js'), 'reconcile'], { encoding: 'utf8' });
      expect(reconcile).to.contain(`${namespace}-${id}`);
      expect(records('attachments')).to.deep.equal([]);
      expect(records('endpoints')).to.deep.equal([]);
      expect(Object.keys(readRecord('leases', network).ipv4.addresses)).to.deep.equal([]);
      expect(await eventually(() => !linkNames().has(second.hostIfname), 10000)).to.equal(true);
    });

    it('a conflist of cniVersion 1.1.0: ctr 1.6 (libcni 1.1) cannot read the result nsnet gives in it, and calls DEL', async () => {
      writeConfList('1.1.0');
      try {
        const linksBefore = linkNames();
        const id = 'version';
        const failed = await daemon.ctr(['run', '--rm', '--cni', IMAGE, id, 'true']).then(
          () => 'it ran',
          (error) => error.stderr,
        );
        expect(failed).to.contain('unsupported CNI result version "1.1.0"');
        // ctr's deferred DEL came: nothing of nsnet's is left.
        expect(records('attachments')).to.deep.equal([]);
        expect(records('endpoints')).to.deep.equal([]);
        expect(Object.keys(readRecord('leases', network).ipv4.addresses)).to.deep.equal([]);
        // ctr's own are: the task it created and never started, and so the container.
        expect((await daemon.tasks()).map((t) => `${t.id} ${t.status}`)).to.deep.equal([`${id} CREATED`]);
        await daemon.ctr(['task', 'delete', '--force', id]);
        await daemon.ctr(['container', 'delete', id]);
        const left = () => newLinks(linksBefore);
        expect(await eventually(() => left().length === 0, 10000), `links left: ${left()}`).to.equal(true);
      } finally {
        writeConfList('1.0.0');
      }
    });
  });
});

