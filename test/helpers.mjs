// Helpers shared by the integration tests: unique names, iproute2 as the
// independent oracle, and node programs run inside namespaces.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { NetNamespace, setupContainer } from '../dist/index.js';

let counter = 0;

/** A name unique within this run, short enough for an interface (<= 15 bytes). */
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix}${process.pid % 1000}x${counter}`;
}

/** `ip -j [-n netns] ARGS...` parsed; the kernel's state as iproute2 reads it. */
export function ipJson(args, netns) {
  const prefix = netns ? ['-n', netns] : [];
  const out = execFileSync('ip', ['-j', ...prefix, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.trim() ? JSON.parse(out) : [];
}

/** The default routes of IP `family` (4 or 6) in `netns` (a name), as `{ gateway, dev }`, as iproute2 reads them. */
export function defaultRoutes(netns, family) {
  return ipJson([`-${family}`, 'route', 'show', 'default'], netns).map(({ gateway, dev }) => ({ gateway, dev }));
}

/** Names of links present now that were not in `before` (a Set of names). */
export function newLinks(before, netns) {
  return ipJson(['link'], netns).map((link) => link.ifname).filter((name) => !before.has(name));
}

/** The names of the links present now. */
export function linkNames(netns) {
  return new Set(ipJson(['link'], netns).map((link) => link.ifname));
}

/** `ip -d -j link show DEV` of one link, or undefined if it does not exist. */
export function ipLink(dev, netns) {
  try {
    return ipJson(['-d', 'link', 'show', 'dev', dev], netns)[0];
  } catch {
    return undefined;
  }
}

export function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

/** The `code` of what `fn` throws, or 'no error'. */
export function errorCode(fn) {
  try {
    fn();
  } catch (error) {
    return error.code;
  }
  return 'no error';
}

/** Expects `promise` to reject with an error of this class name and code. */
export async function expectReject(promise, name, code) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a rejection with ${code}`).to.be.an('error');
  expect(error.name).to.equal(name);
  expect(error.code).to.equal(code);
  return error;
}

/**
 * Runs a node script inside `ns` (a NetNamespace); resolves to its stdout once
 * it exits with status 0, rejects otherwise.
 */
export async function runNode(ns, script, args = []) {
  const child = ns.spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`node in namespace exited with ${code}: ${stderr}`);
  return stdout;
}

/**
 * Starts a TCP echo server inside `ns` on `port`; resolves once it listens.
 * The server replies "<prefix>:<data>" and stays until killed.
 */
export async function startTcpServer(ns, port, prefix = 'echo') {
  const script = `
    const net = require('node:net');
    const server = net.createServer((socket) => {
      socket.on('data', (data) => socket.end('${prefix}:' + data));
    });
    server.listen(${port}, '::', () => console.log('listening'));
  `;
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return child;
}

/** Connects from `ns` to host:port, sends `message`, resolves to the reply. */
export function tcpRequest(ns, host, port, message, timeoutMs = 3000) {
  const script = `
    const net = require('node:net');
    const socket = net.connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: ${timeoutMs} });
    let reply = '';
    socket.on('connect', () => socket.write(process.argv[3]));
    socket.on('data', (data) => (reply += data));
    socket.on('end', () => { process.stdout.write(reply); process.exit(0); });
    socket.on('timeout', () => { console.error('timeout'); process.exit(2); });
    socket.on('error', (e) => { console.error(e.code); process.exit(3); });
  `;
  return runNode(ns, script, [host, String(port), message]);
}

/** The host ports published on every address (nsnet's ports4_any map), as nft lists them. */
export function publishedAnyPorts() {
  const listed = JSON.parse(execFileSync('nft', ['-j', 'list', 'map', 'inet', 'nsnet', 'ports4_any'], { encoding: 'utf8' }));
  const map = listed.nftables.find((entry) => entry.map).map;
  return (map.elem ?? []).map(([key]) => key.concat[1]); // key: protocol . port
}

/**
 * Polls `check` (it may be async) until it returns true, for work that
 * finishes in the background (a deleted namespace's interfaces go in a
 * batched cleanup; an agent applies a watched change). Resolves to whether it did.
 */
export async function eventually(check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * Waits (up to 10 s) until no veth of a container gone is left: one off any
 * bridge, its peer in another namespace, which the kernel removes when it
 * gets to that namespace's deletion. A test that compares the host's links
 * before and after something starts from a settled host.
 */
export async function settledHost() {
  const leaving = () => ipJson(['-d', 'link']).filter((link) => link.linkinfo?.info_kind === 'veth' && !link.master && link.link_netnsid !== undefined);
  await eventually(() => leaving().length === 0, 10000);
}

/** Stops a process this test started, by its PID, and waits for it. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

/** Starts a UDP echo server inside `ns`: replies "<prefix>:<data>". */
export async function startUdpServer(ns, port, prefix = 'udp') {
  const script = `
    const socket = require('node:dgram').createSocket('udp4');
    socket.on('message', (data, peer) => socket.send('${prefix}:' + data, peer.port, peer.address));
    socket.bind(${port}, () => console.log('listening'));
  `;
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`udp server exited with ${code}`)));
  });
  return child;
}

/** Sends one UDP datagram from `ns` and resolves to the reply; rejects after the timeout. */
export function udpRequest(ns, host, port, message, timeoutMs = 2000) {
  const script = `
    const socket = require('node:dgram').createSocket('udp4');
    setTimeout(() => { console.error('timeout'); process.exit(2); }, ${timeoutMs});
    socket.on('message', (data) => { process.stdout.write(String(data)); process.exit(0); });
    socket.send(process.argv[3], Number(process.argv[2]), process.argv[1]);
  `;
  return runNode(ns, script, [host, String(port), message]);
}

/** Starts a TCP server inside `ns` that replies with the address it sees the client at. */
export async function startWhoAmIServer(ns, port) {
  const script = `
    require('node:net').createServer((s) => s.end(s.remoteAddress.replace(/^::ffff:/, '')))
      .listen(${port}, '::', () => console.log('listening'));
  `;
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return child;
}

/** A connection that must not go through: refused, unreachable or timed out, not a client that broke. */
export async function fails(promise) {
  const outcome = await promise.then(
    () => 'it connected',
    (error) => error.message,
  );
  // The client exits 2 on a timeout and 3 with the socket's error code (tcpRequest, udpRequest).
  expect(outcome, 'this connection must fail').to.match(/exited with (2: timeout|3: (ECONNREFUSED|EHOSTUNREACH|ENETUNREACH))/);
}

/**
 * A namespace standing for the outside world, joined to the sandbox host by
 * the veth `link` (its `eth0` end in the namespace), with `host` and `wan`
 * (IPv4, a /24) and, when given, `host6` and `wan6` (a /64) on the two ends.
 * Resolves to `{ netns, remove }`; `remove()` deletes the namespace and the veth.
 */
export async function createWan(link, { host, wan, host6, wan6 }) {
  const hostNs = NetNamespace.host();
  const ns = await NetNamespace.create(uniqueName('wan'));
  await hostNs.links.add({ kind: 'veth', name: link, up: true, peer: { name: 'eth0', netns: ns } });
  await ns.links.set('eth0', { up: true });
  await ns.links.set('lo', { up: true });
  await hostNs.addresses.add(link, `${host}/24`);
  await ns.addresses.add('eth0', `${wan}/24`);
  if (host6 && wan6) {
    await hostNs.addresses.add(link, `${host6}/64`, { nodad: true });
    await ns.addresses.add('eth0', `${wan6}/64`, { nodad: true });
  }
  const remove = async () => {
    await ns.delete();
    await hostNs.links.delete(link).catch(() => undefined);
  };
  return { netns: ns, remove };
}

/**
 * Runs `script` with `args` in a child process with NSNET_FAULT=`fault`:
 * its exit, the fault it says it injected, and the JSON of its last line.
 */
export async function runWithFault(script, args, fault) {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, NSNET_FAULT: fault }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code, signal] = await once(child, 'exit');
  const injected = /^nsnet-fault injected \S+ \d+ \w+: (.*)$/m.exec(stderr)?.[1];
  const line = stdout.trim().split('\n').at(-1);
  return { code, signal, stderr, injected, outcome: line ? JSON.parse(line) : undefined };
}

/** Every record of one kind in the state directory, as written (none before the first). */
export function stateRecords(kind) {
  const dir = join(process.env.NSNET_STATE_DIR, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8')));
}

/**
 * A suite's containers and networks, kept for its after hook to remove:
 * `container(key, network, options)` sets one up as `c[key]`; `network(options)`
 * makes one with `create` (createBridgeNetwork, createRoutedNetwork...) under a
 * unique name, with `defaults` under the options.
 */
export function suiteFixture(create, prefix, defaults = {}) {
  const fixture = { ids: [], networks: [], c: {} };
  fixture.container = async (key, network, options = {}) => {
    const id = uniqueName(key);
    fixture.ids.push(id);
    fixture.c[key] = await setupContainer(id, { network, ...options });
    return fixture.c[key];
  };
  fixture.network = async (options) => {
    const name = uniqueName(prefix);
    fixture.networks.push(name);
    await create({ name, ...defaults, ...options });
    return name;
  };
  return fixture;
}

/** Whether `pid` runs: not gone, and not a zombie its parent has yet to reap. */
export function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
