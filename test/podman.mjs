// A throw-away Podman 4 on its CNI backend, for the Podman suite and
// benchmark: a busybox root filesystem (Debian's busybox-static; no image,
// no registry), the network config lists given, and Podman's own
// configuration, all in a temporary directory. Everything Podman keeps
// (containers, storage, its CNI cache, the events log) lives there or on a
// tmpfs of the sandbox; close() removes the containers, ends what is left of
// their processes by PID, and undoes the mounts.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const BUSYBOX = '/bin/busybox';

/**
 * A CGI program of the root filesystem's web root (`httpd -h /www`):
 * answers "<hostname> <client address>", so a reply says which container
 * served it and from which address it saw the request come.
 */
const WHOAMI_CGI = '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s %s\\n" "$(hostname)" "$REMOTE_ADDR"\n';

/** busybox and a link per applet in bin/, and the web root of WHOAMI_CGI. */
function makeRootfs(dir) {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) symlinkSync('busybox', join(dir, 'bin', applet));
  for (const sub of ['etc', 'tmp', 'www/cgi-bin']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'www', 'cgi-bin', 'whoami'), WHOAMI_CGI, { mode: 0o755 });
}

/** The hard limit of this process for one resource of /proc/self/limits. */
function hardLimit(resource) {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(resource));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? Infinity : Number(hard);
}

/**
 * containers.conf. Root's Podman gives a container 1048576 open files and
 * processes unless told otherwise, which the OCI runtime cannot set above
 * its own hard limits without CAP_SYS_RESOURCE; and Podman lowers its own
 * process limit to kernel.pid_max as it starts (containers/common), which
 * the runtime inherits: the limits given here stay under both. No cgroups
 * (a hybrid layout, which crun 1.8 refuses, or none), no systemd, no journal.
 */
function containersConf(dir, pluginDirs, netDir, defaultNetwork) {
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const nofile = Math.min(hardLimit('Max open files'), 1048576);
  const nproc = Math.min(hardLimit('Max processes'), pidMax, 1048576);
  return `[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
cgroups = "disabled"

[network]
network_backend = "cni"
network_config_dir = "${netDir}"
cni_plugin_dirs = ${JSON.stringify(pluginDirs)}
${defaultNetwork ? `default_network = "${defaultNetwork}"` : ''}

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${join(dir, 'events.log')}"
tmp_dir = "${join(dir, 'tmp')}"
runtime = "crun"
`;
}

const storageConf = (dir) => `[storage]
driver = "vfs"
graphroot = "${join(dir, 'storage')}"
runroot = "${join(dir, 'run')}"
`;

/** The file system type of a directory, as stat -f names it. */
const fsType = (dir) => execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();

/**
 * Mounts that Podman needs in the sandbox, undone by the function returned:
 * crun wants a cgroup file system on /sys/fs/cgroup (the sandbox's own
 * sysfs has none: cgroup2 there, as on a host of the unified layout; no
 * cgroup is made, they are disabled); and libcni caches its results in
 * /var/lib/cni, which Podman 4 does not let one move: a tmpfs on /var/lib
 * keeps them off the machine's disk.
 */
function sandboxMounts() {
  const mounted = [];
  if (fsType('/sys/fs/cgroup') === 'sysfs') {
    execFileSync('mount', ['-t', 'cgroup2', 'nsnet-podman-cgroup', '/sys/fs/cgroup']);
    mounted.push('/sys/fs/cgroup');
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'nsnet-podman-varlib', '/var/lib']);
  mounted.push('/var/lib');
  return () => {
    for (const point of mounted.reverse()) execFileSync('umount', [point]);
  };
}

/** Runs a program to its end: { code, stdout, stderr }. */
function collect(program, args, env) {
  const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? signal, stdout, stderr }));
  });
}

/** Whether a process of this PID exists (a zombie counts as ended). */
function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The processes (but this one) whose command line names `path`: those of one Podman, by its directory. */
function processesNaming(path) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path) && alive(Number(entry))) pids.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return pids;
}

/**
 * Waits up to 10 s for processes of ours to end on their own (`pids`, and
 * whatever `more()` finds meanwhile), then ends those left by PID.
 */
async function endAll(pids, more = () => []) {
  const deadline = Date.now() + 10000;
  let left = pids.filter(alive);
  while (Date.now() < deadline) {
    left = [...new Set([...left, ...more()])].filter(alive);
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const pid of left) await endProcess(pid);
}

/** Ends one process of ours by PID, and waits until it is gone. */
async function endProcess(pid) {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (const deadline = Date.now() + 5000; Date.now() < deadline && alive(pid); ) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Ends the CNI service that the plugin's front end started for Podman (it
 * wrote its PID next to its socket), if it did; only a process that is that
 * service.
 */
export async function stopCniService(socket = process.env.NSNET_CNI_SOCKET || '/run/nsnet/cni.sock') {
  let pid;
  try {
    pid = Number(readFileSync(`${socket}.pid`, 'utf8'));
  } catch {
    return;
  }
  let command = '';
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (command.includes('nsnet-cni.js\0serve')) await endProcess(pid);
}

/**
 * A Podman whose networks are `lists` (CNI network config lists, written
 * to its network config directory), with nsnet-cni (a link to the native
 * front end) and `pluginDirs` as its CNI plugin directories, and
 * `defaultNetwork` (a list's name) for containers run without --network.
 * Fails, saying why, when Podman cannot run a container here.
 */
export async function createPodman({ lists, pluginDirs = [], defaultNetwork }) {
  const version = await collect('podman', ['--version'], process.env).catch((error) => ({ code: error.code, stderr: error.message }));
  if (version.code !== 0) throw new Error(`podman is needed (Debian's podman, crun and busybox-static): ${version.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'nsnet-podman-'));
  const rootfs = join(dir, 'rootfs');
  const pluginDir = join(dir, 'plugins');
  const netDir = join(dir, 'net');
  for (const sub of [pluginDir, netDir, join(dir, 'tmp')]) mkdirSync(sub);
  makeRootfs(rootfs);
  // A link: the front end finds the package through its real path.
  symlinkSync(join(root, 'build', 'Release', 'nsnet-cni'), join(pluginDir, 'nsnet-cni'));
  for (const list of lists) writeFileSync(join(netDir, `${list.name}.conflist`), JSON.stringify(list, null, 2));
  writeFileSync(join(dir, 'containers.conf'), containersConf(dir, [pluginDir, ...pluginDirs], netDir, defaultNetwork));
  writeFileSync(join(dir, 'storage.conf'), storageConf(dir));
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    // The node the front end starts its service with.
    NSNET_NODE: process.execPath,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
  };
  let unmount;
  try {
    unmount = sandboxMounts();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const podman = {
    dir,
    rootfs,
    env,
    /** `podman ARGS`: { code, stdout, stderr }. */
    run: (args) => collect('podman', args, env),
    /** `podman ARGS`, its stdout; throws with its stderr unless it succeeds. */
    async ok(args) {
      const result = await podman.run(args);
      if (result.code !== 0) throw new Error(`podman ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
      return result.stdout.trim();
    },
    /**
     * Removes every container (stopped at once); waits for the processes of
     * this Podman to end (conmon, and the `podman container cleanup` it
     * starts when a container ends, which must not outlive the mounts),
     * ending by PID any still there after a while; undoes the mounts and
     * removes the directory.
     */
    async close() {
      const containers = await podman.run(['ps', '--all', '--format', '{{.Pid}}']);
      const pids = containers.stdout.split('\n').map(Number).filter((pid) => pid > 0);
      const removed = await podman.run(['rm', '--all', '--force', '--time', '0']);
      await endAll([...pids, ...processesNaming(dir)], () => processesNaming(dir));
      unmount();
      rmSync(dir, { recursive: true, force: true });
      if (removed.code !== 0) throw new Error(`podman rm --all failed (exit ${removed.code}): ${removed.stderr}`);
    },
  };
  try {
    const backend = await podman.ok(['info', '--format', '{{.Host.NetworkBackend}}']);
    if (backend !== 'cni') throw new Error(`Podman uses the ${backend} network backend, not cni`);
  } catch (error) {
    await podman.close().catch(() => undefined);
    throw error;
  }
  return podman;
}
