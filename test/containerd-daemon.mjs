// A containerd daemon of the test's own, inside the sandbox: its root, state
// and socket in a temporary directory, only the native snapshotter, and
// none of the CRI plugin. It runs in a mount namespace of its own, where
//   - the cgroup hierarchies are mounted again where the sandbox's /sys hid
//     them (runc needs them);
//   - the test's CNI config and plugin directories are mounted over
//     /etc/cni/net.d and /opt/cni/bin, the fixed paths `ctr run --cni` reads
//     (go-cni's defaults), so that the machine's own stay untouched, and a
//     directory of the test's over /var/lib/cni, where the CNI library that
//     ctr runs caches each result (no setting moves it).
// `ctr` runs in that mount namespace too (nsenter), as the one who reads
// those paths and executes the plugin.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const quote = (word) => `'${String(word).replace(/'/g, `'\\''`)}'`;
const command = (...words) => words.map(quote).join(' ');

/** The fields of /proc/self/mountinfo that a mount again needs. */
function mountinfo() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [before, after] = line.split(' - ');
      const fields = before.split(' ');
      const [fstype, source, superOptions] = after.split(' ');
      return { target: fields[4], options: fields[5], fstype, source, superOptions };
    });
}

/**
 * The commands that mount the machine's cgroup hierarchies again, when the
 * sysfs the sandbox mounted on /sys hides them; none when they show.
 */
function cgroupMounts() {
  const mounts = mountinfo();
  const underCgroup = (m) => m.target === '/sys/fs/cgroup' || m.target.startsWith('/sys/fs/cgroup/');
  const lastSys = mounts.findLastIndex((m) => m.target === '/sys');
  if (mounts.slice(lastSys + 1).some(underCgroup)) return [];
  const hidden = mounts.slice(0, lastSys).filter(underCgroup);
  if (!hidden.length) throw new Error('no cgroup hierarchy is mounted under /sys/fs/cgroup: runc needs one');
  return hidden.map((m) => {
    const mkdir = m.target === '/sys/fs/cgroup' ? '' : `${command('mkdir', '-p', m.target)} && `;
    return mkdir + command('mount', '-t', m.fstype, '-o', `${m.options},${m.superOptions}`, m.source, m.target);
  });
}

/**
 * The commands that show `source` at `target`: a bind mount over it, or,
 * when it does not exist, over a directory made in an overlay of its nearest
 * existing parent, whose changes go to `scratch` (a tmpfs) and nowhere else.
 */
function mountOver(target, source, scratch) {
  if (existsSync(target)) return [command('mount', '--bind', source, target)];
  let parent = dirname(target);
  while (!existsSync(parent)) parent = dirname(parent);
  const upper = join(scratch, `${parent.replaceAll('/', '_')}-upper`);
  const work = join(scratch, `${parent.replaceAll('/', '_')}-work`);
  return [
    command('mkdir', '-p', upper, work),
    command('mount', '-t', 'overlay', 'nsnet-test-overlay', '-o', `lowerdir=${parent},upperdir=${upper},workdir=${work}`, parent),
    command('mkdir', '-p', target),
    command('mount', '--bind', source, target),
  ];
}

/** A file's text, or '' when it cannot be read (gone, or never written). */
export function readIfExists(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function run(file, args, options) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', ...options }, (error, stdout, stderr) => {
      if (error) {
        error.message = `${[file, ...args].join(' ')}: ${stderr.trim() || error.message}`;
        error.stdout = stdout;
        error.stderr = stderr;
        reject(error);
      } else resolve(stdout);
    });
  });
}

export class Containerd {
  /**
   * A daemon with its files under `dir`, whose ctr works in the containerd
   * namespace `namespace`; `env` is added to ctr's environment (and so the
   * plugins'). start() starts it; stop() ends it, whatever start() did.
   */
  constructor({ dir, namespace, env = {} }) {
    this.dir = dir;
    this.namespace = namespace;
    this.address = join(dir, 'containerd.sock');
    this.state = join(dir, 'state');
    this.log = join(dir, 'containerd.log');
    this.env = { ...process.env, ...env, CONTAINERD_ADDRESS: this.address, CONTAINERD_NAMESPACE: namespace, CONTAINERD_SNAPSHOTTER: 'native' };
  }

  /** Starts containerd; `cniConfDir` and `cniPluginDir` show at /etc/cni/net.d and /opt/cni/bin to it and to ctr. */
  async start({ cniConfDir, cniPluginDir }) {
    const config = join(this.dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = ${JSON.stringify(join(this.dir, 'root'))}`,
        `state = ${JSON.stringify(this.state)}`,
        // The CRI plugin would read CNI configs of its own; "opt" would write to /opt/containerd.
        `disabled_plugins = ${JSON.stringify([
          'io.containerd.grpc.v1.cri',
          'io.containerd.internal.v1.opt',
          'io.containerd.snapshotter.v1.aufs',
          'io.containerd.snapshotter.v1.btrfs',
          'io.containerd.snapshotter.v1.devmapper',
          'io.containerd.snapshotter.v1.overlayfs',
          'io.containerd.snapshotter.v1.zfs',
        ])}`,
        '[grpc]',
        `  address = ${JSON.stringify(this.address)}`,
        '',
      ].join('\n'),
    );
    const scratch = join(this.dir, 'mounts');
    mkdirSync(scratch);
    const cniCache = join(this.dir, 'cni-cache');
    mkdirSync(cniCache);
    const script = [
      'set -e',
      command('mount', '-t', 'tmpfs', 'nsnet-test-scratch', scratch),
      ...cgroupMounts(),
      ...mountOver('/etc/cni/net.d', cniConfDir, scratch),
      ...mountOver('/opt/cni/bin', cniPluginDir, scratch),
      ...mountOver('/var/lib/cni', cniCache, scratch),
      `exec ${command('containerd', '--config', config)}`,
    ].join('\n');
    const log = openSync(this.log, 'a');
    this.process = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script], { stdio: ['ignore', log, log] });
    this.exited = once(this.process, 'exit');
    const deadline = Date.now() + 10000;
    for (;;) {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`containerd ended (${this.process.exitCode ?? this.process.signalCode}) as it started: ${this.logTail()}`);
      }
      try {
        if (existsSync(this.address)) {
          await this.ctr(['--connect-timeout', '1s', 'version']);
          return;
        }
        if (Date.now() > deadline) throw new Error(`no socket at ${this.address}`);
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`containerd did not answer within 10 s: ${error.message}\n${this.logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  logTail() {
    return readFileSync(this.log, 'utf8').trim().split('\n').slice(-15).join('\n');
  }

  /** `ctr ARGS...` in containerd's mount namespace; resolves to its stdout. */
  ctr(args, options = {}) {
    return run('nsenter', ['--target', String(this.process.pid), '--mount', '--', 'ctr', ...args], { env: this.env, ...options });
  }

  /** `ctr ARGS...` started, not awaited (`ctr run` without --detach stays until its task ends). */
  spawnCtr(args) {
    return spawn('nsenter', ['--target', String(this.process.pid), '--mount', '--', 'ctr', ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The tasks, as `ctr task ls` lists them: `{ id, pid, status }`. */
  async tasks() {
    const lines = (await this.ctr(['task', 'ls'])).trim().split('\n').slice(1);
    return lines.filter(Boolean).map((line) => {
      const [id, pid, status] = line.trim().split(/\s+/);
      return { id, pid: Number(pid), status };
    });
  }

  /** The ids of the containers, as `ctr container ls -q` lists them. */
  async containers() {
    return (await this.ctr(['container', 'ls', '-q'])).split('\n').filter(Boolean);
  }

  /**
   * The pids of this daemon's shims (started with its socket's address) and
   * of their containers' first processes (each shim's init.pid), for ending
   * them by pid.
   */
  shimPids() {
    const shims = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        const args = readIfExists(`/proc/${pid}/cmdline`).split('\0');
        return args[0].endsWith('containerd-shim-runc-v2') && args[args.indexOf('-address') + 1] === this.address;
      })
      .map(Number);
    // A recorded pid counts while its process is still in that container's cgroup (the pid may be another's by now).
    const tasks = join(this.state, 'io.containerd.runtime.v2.task', this.namespace);
    const ids = existsSync(tasks) ? readdirSync(tasks) : [];
    const inits = ids.map((id) => [id, this.initPid(id)]).filter(([id, pid]) => pid > 0 && readIfExists(`/proc/${pid}/cgroup`).includes(`/${this.namespace}/${id}\n`));
    return [...inits.map(([, pid]) => pid), ...shims];
  }

  /** The pid of container `id`'s first process, as its shim recorded it; 0 before it has. */
  initPid(id) {
    return Number(readIfExists(join(this.state, 'io.containerd.runtime.v2.task', this.namespace, id, 'init.pid')));
  }

  /** Removes every task (killed first) and container of the namespace. */
  async removeAll() {
    for (const task of await this.tasks()) await this.ctr(['task', 'delete', '--force', task.id]);
    for (const id of await this.containers()) await this.ctr(['container', 'delete', id]);
  }

  /**
   * Ends every task and container of the namespace, then the shims and
   * their containers by pid, then containerd itself by pid, and removes the
   * namespace's cgroups, which runc leaves (it removes only each container's).
   */
  async stop() {
    if (!this.process) return;
    const failures = [];
    const attempt = (what, promise) => promise.catch((error) => failures.push(`${what}: ${error.message}`));
    const running = this.process.exitCode === null && this.process.signalCode === null;
    if (running) await attempt('tasks and containers', this.removeAll());
    for (const pid of this.shimPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Ended already, as it should have.
      }
    }
    if (running) {
      process.kill(this.process.pid, 'SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    const removeCgroups = `for dir in /sys/fs/cgroup/${this.namespace} /sys/fs/cgroup/*/${this.namespace}; do if [ -d "$dir" ]; then find "$dir" -depth -type d -exec rmdir {} +; fi; done`;
    await attempt('cgroups', run('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-ec', [...cgroupMounts(), removeCgroups].join('\n')]));
    if (failures.length) throw new Error(`containerd's leftovers: ${failures.join('; ')}`);
  }
}
