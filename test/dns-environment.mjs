// What the name resolution suites share: where the containers' resolv.conf
// files and the host's resolv.conf are (inside the sandbox, never the
// machine's /etc), the resolver service's pid file, a namespace standing for
// the host's upstream name servers, and the containers' resolv.conf files.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { startAsker } from './dns-ask.mjs';
import { startUpstream } from './dns-upstream.mjs';
import { createWan, eventually, uniqueName } from './helpers.mjs';

/** The sandbox's own files of these suites (its /run is a private tmpfs). */
const FILES = '/run/nsnet-dns-test';

/** The resolver's control socket (the service's default lives under /run too). */
export function resolverSocket() {
  return process.env.NSNET_DNS_SOCKET || '/run/nsnet/dns.sock';
}

/** The namespace standing for the upstream servers, and its addresses (documentation range, RFC 5737). */
export const UPSTREAM = {
  host: '203.0.113.1',
  one: '203.0.113.2',
  two: '203.0.113.3',
  dead: '203.0.113.4',
  truncating: '203.0.113.5',
  failing: '203.0.113.6',
};

/**
 * The directory of the containers' resolv.conf files: NSNET_NETNS_ETC_DIR
 * when it is under the sandbox's /run, else the sandbox's /etc/netns when the
 * sandbox has an /etc of its own, else one of these suites' under /run.
 */
function containerEtcDir() {
  const given = process.env.NSNET_NETNS_ETC_DIR;
  if (given && given.startsWith('/run/')) return given;
  if (sandboxOwnsEtc()) return '/etc/netns';
  return join(FILES, 'netns');
}

/** The sandbox's overlay on /etc (scripts/sandbox), whose changes stay in the sandbox. */
function sandboxOwnsEtc() {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.startsWith('nsnet-sandbox-etc /etc overlay '));
}

const CHANGED = ['NSNET_NETNS_ETC_DIR', 'NSNET_HOST_RESOLV_CONF', 'NSNET_DNS_UPSTREAM_TIMEOUT_MS'];
let saved;

/**
 * Points nsnet at the sandbox's files (with the host's resolv.conf naming
 * `nameservers`) and ends a resolver service that runs already, so that the
 * next setupContainer starts one that sees this environment. Undone by
 * leaveDnsEnvironment().
 */
export async function enterDnsEnvironment(nameservers) {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('the name resolution suites run only inside the sandbox');
  await stopResolver();
  saved = Object.fromEntries(CHANGED.map((key) => [key, process.env[key]]));
  process.env.NSNET_NETNS_ETC_DIR = containerEtcDir();
  process.env.NSNET_HOST_RESOLV_CONF = join(FILES, 'host-resolv.conf');
  // Short, so that a dead upstream costs little; long enough for a loaded machine.
  process.env.NSNET_DNS_UPSTREAM_TIMEOUT_MS = '400';
  mkdirSync(FILES, { recursive: true });
  mkdirSync(process.env.NSNET_NETNS_ETC_DIR, { recursive: true });
  mkdirSync(dirname(resolverSocket()), { recursive: true });
  writeFileSync(process.env.NSNET_HOST_RESOLV_CONF, `# the sandbox host's resolv.conf\n${nameservers.map((s) => `nameserver ${s}\n`).join('')}`);
}

/** Ends the resolver service and puts the environment back. */
export async function leaveDnsEnvironment() {
  await stopResolver();
  for (const [key, value] of Object.entries(saved ?? {})) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** A container's resolv.conf as nsnet wrote it, or undefined. */
export function resolvConfOf(id) {
  const path = join(process.env.NSNET_NETNS_ETC_DIR, id, 'resolv.conf');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** The nameserver lines of a resolv.conf text. */
export function nameserversOf(text) {
  return [...text.matchAll(/^nameserver\s+(\S+)/gm)].map((match) => match[1]);
}

function alive(pid) {
  try {
    // A zombie holds no sockets any more: it counts as gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The PID in the resolver's pid file, when that process runs and is nsnet's resolver. */
export function resolverPid() {
  let pid;
  try {
    pid = Number(readFileSync(`${resolverSocket()}.pid`, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // A pid file left behind may name a process that reused the PID: only a resolver counts.
  const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  return command.includes('dns') && command.includes('serve') ? pid : undefined;
}

/** Ends the resolver service by the PID of its pid file (SIGKILL with `kill: true`) and waits until it is gone. */
export async function stopResolver({ kill = false } = {}) {
  const pid = resolverPid();
  if (pid === undefined) return undefined;
  process.kill(pid, kill ? 'SIGKILL' : 'SIGTERM');
  if (!(await eventually(() => !alive(pid), 5000))) {
    process.kill(pid, 'SIGKILL');
    await eventually(() => !alive(pid), 5000);
  }
  return pid;
}

/**
 * A namespace standing for the host's upstream name servers, joined to the
 * sandbox host by a veth, with every address of UPSTREAM and a default route
 * back through the host. Resolves to { netns, remove }.
 */
export async function createUpstreamHost() {
  const wan = await createWan(uniqueName('dnw'), { host: UPSTREAM.host, wan: UPSTREAM.one });
  for (const address of [UPSTREAM.two, UPSTREAM.dead, UPSTREAM.truncating, UPSTREAM.failing]) {
    await wan.netns.addresses.add('eth0', `${address}/24`);
  }
  await wan.netns.routes.add({ dst: 'default', gateway: UPSTREAM.host });
  return wan;
}


/**
 * What one test makes, undone by cleanup() in its after hook even when it
 * failed: askers closed, containers torn down, networks removed.
 */
export function testResources() {
  const askers = [];
  const containers = [];
  const networks = [];
  return {
    async network(options) {
      const net = await createBridgeNetwork({ name: uniqueName('dnn'), ...options });
      networks.push(net.name);
      return net;
    },
    async container(options, id = uniqueName('dc')) {
      containers.push(id);
      return setupContainer(id, options);
    },
    async asker(ns) {
      const asker = await startAsker(ns);
      askers.push(asker);
      return asker;
    },
    async cleanup() {
      for (const asker of askers.splice(0)) await asker.close();
      for (const id of containers.splice(0).reverse()) await teardownContainer(id).catch(() => undefined);
      for (const name of networks.splice(0).reverse()) await removeNetwork(name, { force: true }).catch(() => undefined);
    },
  };
}

/** The answers of the host's upstream server (UPSTREAM.one) in every suite. */
export const UPSTREAM_RECORDS = { 'example.test': { A: ['192.0.2.10'], AAAA: ['2001:db8::10'] } };

/**
 * The hooks of a name resolution suite (call inside its describe): the
 * upstream namespace with UPSTREAM.one answering UPSTREAM_RECORDS, the host's
 * resolv.conf naming it, and everything ended afterwards, the resolver
 * service last. Resolves nothing itself: returns { upstream, wan } filled in
 * once the suite's before hook ran.
 */
export function dnsSuite() {
  const suite = {};
  before(async () => {
    suite.wan = await createUpstreamHost();
    suite.upstream = await startUpstream(suite.wan.netns, { address: UPSTREAM.one, records: UPSTREAM_RECORDS });
    await enterDnsEnvironment([UPSTREAM.one]);
  });
  after(async () => {
    await leaveDnsEnvironment();
    await suite.upstream?.stop();
    await suite.wan?.remove();
  });
  return suite;
}
