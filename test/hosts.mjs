// Simulated hosts on one machine, inside the sandbox: an underlay bridge (the
// hosts' LAN) with an address for services (an etcd the test starts listens
// there), a `wan` namespace on it standing for the outside world, and hosts,
// each a network namespace on the underlay with a mount namespace, state
// directory, netns directory and node process of its own (test/workers/host.mjs).
//
//   const hosts = await createHosts(3);            // hosts.list: hostA, hostB, hostC
//   const [a] = hosts.list;
//   await a.run(async (nsnet, arg, keep) => ..., arg); // the function runs in A's process
//   a.exec(['ip', '-j', 'neigh', 'show', 'dev', 'x']); // a command run in A
//   await a.kill();                                 // A's process and all it started
//   await hosts.close();                            // everything, even after a failure
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { running, uniqueName } from './helpers.mjs';

const WORKER = fileURLToPath(new URL('./workers/host.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Makes the underlay `<prefix>.0/24` (services on .254, the wan namespace on
 * .100) and `count` hosts on it (.1, .2, ...). Resolves to
 * `{ list, underlay, serviceAddress, wan, wanAddress, prefixLength, close() }`.
 */
export async function createHosts(count, { prefix = '10.213.0' } = {}) {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('simulated hosts are made only inside scripts/sandbox');
  const hosts = {
    list: [],
    underlay: uniqueName('ul'),
    serviceAddress: `${prefix}.254`,
    wan: uniqueName('wan'),
    wanAddress: `${prefix}.100`,
    prefixLength: 24,
    async close() {
      await closeHosts(hosts);
    },
  };
  try {
    ip('link', 'add', hosts.underlay, 'type', 'bridge');
    ip('address', 'add', `${hosts.serviceAddress}/24`, 'dev', hosts.underlay);
    ip('link', 'set', hosts.underlay, 'up');
    attachNamespace(hosts, hosts.wan, hosts.wanAddress);
    for (let i = 0; i < count; i++) hosts.list.push(await startHost(hosts, `host${String.fromCharCode(65 + i)}`, `${prefix}.${i + 1}`));
  } catch (error) {
    await closeHosts(hosts);
    throw error;
  }
  return hosts;
}

/** The underlay's end of the veth of namespace `netns`. */
const underlayPort = (netns) => `u${netns}`.slice(0, 15);

/** A namespace joined to the underlay by a veth (eth0 inside), at `address`, its default route through the service address. */
function attachNamespace(hosts, netns, address) {
  ip('netns', 'add', netns);
  const port = underlayPort(netns);
  ip('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  ip('link', 'set', port, 'master', hosts.underlay, 'up');
  ip('-n', netns, 'link', 'set', 'lo', 'up');
  ip('-n', netns, 'address', 'add', `${address}/24`, 'dev', 'eth0');
  ip('-n', netns, 'link', 'set', 'eth0', 'up');
  ip('-n', netns, 'route', 'add', 'default', 'via', hosts.serviceAddress);
}

async function startHost(hosts, name, address) {
  const netns = uniqueName(`h${name.slice(-1)}`);
  const root = `/run/nsnet-hosts/${netns}`;
  attachNamespace(hosts, netns, address);
  const env = {
    ...process.env,
    NSNET_STATE_DIR: `${root}/state`,
    NSNET_NETNS_DIR: `${root}/netns`,
    NSNET_NETNS_ETC_DIR: `${root}/etc-netns`,
    NSNET_DNS_SOCKET: `${root}/dns.sock`,
    NSNET_CNI_SOCKET: `${root}/cni.sock`,
  };
  // `ip netns exec` gives the worker a mount namespace of its own; detached: a process group of its own.
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, WORKER, DIST], {
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  const host = new SimulatedHost(name, netns, address, root, child);
  await host.run(async () => null); // up and answering
  host.mountNamespace = readlinkSync(`/proc/${child.pid}/ns/mnt`);
  return host;
}

class SimulatedHost {
  constructor(name, netns, address, root, child) {
    Object.assign(this, { name, netns, address, root, child, pid: child.pid });
    this.pending = new Map();
    this.nextId = 0;
    this.output = '';
    const keepOutput = (chunk) => {
      this.output = (this.output + chunk).slice(-8192);
      if (process.env.NSNET_HOSTS_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
    };
    child.stdout.on('data', keepOutput);
    child.stderr.on('data', keepOutput);
    child.stdin.on('error', () => {}); // a worker gone: its pending calls fail below
    createInterface({ input: child.stdio[3] }).on('line', (line) => {
      const reply = JSON.parse(line);
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiting?.resolve(reply.value);
      else waiting?.reject(Object.assign(new Error(`${name}: ${reply.error.message}`), reply.error, { message: reply.error.message }));
    });
    this.exited = once(child, 'exit');
    this.exited.then(([code, signal]) => {
      for (const { reject } of this.pending.values()) reject(new Error(`${name}: its process ended (${code ?? signal}): ${this.output}`));
      this.pending.clear();
    });
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  request(body) {
    if (!this.alive) return Promise.reject(new Error(`${this.name}: its process has ended`));
    const id = ++this.nextId;
    const waiting = {};
    waiting.promise = new Promise((resolve, reject) => {
      Object.assign(waiting, { resolve, reject });
      this.pending.set(id, waiting);
      this.child.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
    });
    return waiting.promise;
  }

  /** Runs `fn(nsnet, arg, keep)` in the host's process; resolves to its (JSON) value. */
  run(fn, arg) {
    return this.request({ run: fn.toString(), arg: arg === undefined ? null : arg });
  }

  /** Runs `argv` in the host (its namespaces); resolves to its stdout, rejects on a non-zero status. */
  async exec(argv) {
    const { stdout, stderr, status } = await this.request({ exec: argv });
    if (status !== 0) throw new Error(`${this.name}: ${argv.join(' ')} exited with ${status}: ${stderr}`);
    return stdout;
  }

  /** `exec` of a command with -j, parsed. */
  async json(argv) {
    const out = (await this.exec(argv)).trim();
    return out ? JSON.parse(out) : [];
  }

  /**
   * Kills the host's process and every process it started (those in its
   * mount namespace, and their descendants), by PID, and waits until they
   * are gone. The host's namespace and its underlay link stay (removeNamespace()).
   */
  async kill() {
    const pids = hostProcesses(this);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    if (this.alive) await this.exited;
    // A signal is acted on when its process next runs: on a busy machine, a moment later.
    const deadline = Date.now() + 5000;
    while (pids.some(running) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Deletes the host's network namespace and its veth to the underlay: the host is off the network. */
  removeNamespace() {
    removeNamespace(this.netns);
  }
}

/**
 * Deletes a namespace of the underlay, its veth first: the kernel would take
 * that end only in its batched cleanup of the namespace, a moment later.
 */
function removeNamespace(netns) {
  for (const args of [['link', 'delete', underlayPort(netns)], ['netns', 'delete', netns]]) {
    try {
      ip(...args);
    } catch {
      // not made, or deleted already
    }
  }
}

/**
 * The worker's PID (only while it is ours: once reaped, that number may be
 * anyone's), the PIDs in its mount namespace, and their descendants.
 */
function hostProcesses(host) {
  const parents = new Map();
  const found = new Set(host.alive ? [host.pid] : []);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (host.mountNamespace && readlinkSync(`/proc/${pid}/ns/mnt`) === host.mountNamespace) found.add(pid);
    } catch {
      // gone meanwhile
    }
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!found.has(pid) && found.has(parent)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

async function closeHosts(hosts) {
  for (const host of hosts.list) {
    // A call a failed test left waiting ends with its host: its failure is no news, and must not end the close half-way.
    for (const { promise } of host.pending.values()) promise.catch(() => {});
    host.child.stdin.end();
    await host.kill();
    host.removeNamespace();
    rmSync(host.root, { recursive: true, force: true });
  }
  removeNamespace(hosts.wan);
  try {
    ip('link', 'delete', hosts.underlay);
  } catch {
    // not made
  }
}
