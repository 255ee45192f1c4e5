// Benchmark: the CNI plugin executed as a runtime executes it, one container
// at a time: ADD (veth on a bridge, address, default route, one published
// port) and then DEL, N = 100. The runtime makes and deletes the namespaces
// (not timed). Contenders: nsnet-cni's fast path (the native front end
// answered by a running `nsnet cni serve`); its cold start (no service: the
// first call starts one, the others use it); the plugin in node once per
// call (NSNET_CNI_NO_SERVICE=1); and the reference plugins bridge +
// host-local + portmap as one chain (skipped with a note when Debian's
// containernetworking-plugins is not installed). VERSION through each path
// shows how much of a call is process start-up.
//
// The runtime starts each plugin with posix_spawn (exec-server.c), as
// containerd and CRI-O do through Go; a second table repeats the fast path
// and the reference through node's own spawn, which costs more per call.
//
// Then where the fast path's ADD goes, its physical parts measured apart in
// the same run: the runtime starting a program that does nothing (noop.c,
// without the C library and with glibc's start-up), VERSION through the
// front end (its start and the round trip to the service), and the kernel's
// own work for the ADD (floor.c with a published port: the veth, its
// configuration, the port; the runtime makes the namespace).
//
//   npm run bench            (runs this file inside scripts/sandbox)
//
// NSNET_BENCH_CNI overrides the count (100).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { NetNamespace, removeNetwork } from '../dist/index.js';
import { CniRuntime } from '../test/cni-runtime.mjs';
import { startExecServer } from './exec-server.mjs';
import { measureFloor } from './floor.mjs';

const COUNT = Number(process.env.NSNET_BENCH_CNI || 100);
const root = path.join(path.dirname(new URL(import.meta.url).pathname), '..');
const REFERENCE = ['/usr/lib/cni', '/opt/cni/bin'].find((dir) => ['bridge', 'host-local', 'portmap'].every((p) => fs.existsSync(path.join(dir, p))));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const nodeEnv = { NSNET_NODE: process.execPath, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` };

function pluginDir() {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'nsnet-bench-cni-'));
  fs.symlinkSync(path.join(root, 'build', 'Release', 'nsnet-cni'), path.join(dir, 'nsnet-cni'));
  return dir;
}

const nsnetList = (name, subnet) => ({
  cniVersion: '1.0.0',
  name,
  plugins: [{ type: 'nsnet-cni', subnet, ipMasq: true, capabilities: { portMappings: true } }],
});

const referenceList = (name, bridge, subnet) => ({
  cniVersion: '1.0.0',
  name,
  plugins: [
    { type: 'bridge', bridge, isGateway: true, isDefaultGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', subnet, dataDir: '/run/cni-bench-cni' } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});

/** One container through one contender: ADD, then DEL; the namespace made and deleted around it. */
async function oneContainer(contender, i) {
  const id = `${contender.prefix}${i}`;
  const ns = await NetNamespace.create(id);
  const attachment = { containerId: id, netns: ns.path, ifname: 'eth0' };
  const runtimeConfig = { portMappings: [{ hostPort: 20000 + i, containerPort: 80, protocol: 'tcp' }] };
  let start = performance.now();
  const result = await contender.runtime.addNetworkList(contender.list, attachment, runtimeConfig);
  contender.add.push(performance.now() - start);
  if (!result.ips?.[0]?.address) throw new Error(`${contender.label}: no address for ${id}`);
  start = performance.now();
  await contender.runtime.delNetworkList(contender.list, attachment, runtimeConfig);
  contender.del.push(performance.now() - start);
  // The runtime deletes the namespace right after DEL. nsnet's service leaves the veth to go
  // with it, where the reference deletes it within DEL: timed to the host end's disappearance,
  // the two do the same work.
  await ns.delete();
  await linkGone(result.interfaces[1].name);
  contender.delGone.push(performance.now() - start);
  // The kernel frees a deleted namespace in the background: let that pass, untimed, before the next one.
  await new Promise((resolve) => setTimeout(resolve, 30));
}

/** Waits until the host has no link of this name (the kernel removes a namespace's veths in the background). */
async function linkGone(name) {
  const host = NetNamespace.host();
  for (const deadline = Date.now() + 10000; Date.now() < deadline; ) {
    if (!(await host.links.get(name).then(() => true, () => false))) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`${name} is still there 10 s after its namespace was deleted`);
}

/**
 * The contenders take turns, container by container, so that a machine
 * whose speed drifts during the run (these VMs do) slows all of them alike.
 */
async function timeContenders(contenders) {
  for (let i = 0; i < COUNT; i++) for (const contender of contenders) await oneContainer(contender, i);
  for (let i = 0; i < 20; i++) {
    for (const contender of contenders) {
      const start = performance.now();
      await contender.runtime.exec(contender.list.plugins[0].type, 'VERSION', { cniVersion: '1.0.0' });
      contender.version.push(performance.now() - start);
    }
  }
  return contenders.map((c) => ({
    label: c.label,
    add: median(c.add),
    first: c.add[0],
    del: median(c.del),
    delGone: median(c.delGone),
    version: median(c.version),
  }));
}

const contender = (label, runtime, list, prefix) => ({ label, runtime, list, prefix, add: [], del: [], delGone: [], version: [] });

function printTable(title, results) {
  const reference = results.find((r) => r.label.startsWith('CNI'));
  const rows = [[title, 'ADD ms', 'first ADD ms', 'DEL ms', 'DEL + veth gone ms', 'start-up ms (VERSION)', 'faster than reference: ADD', 'DEL', 'DEL + veth gone']];
  for (const r of results) {
    const ratio = (mine, theirs) => (reference ? `${(theirs / mine).toFixed(1)}x` : '-');
    rows.push([
      r.label,
      ...[r.add, r.first, r.del, r.delGone, r.version].map((ms) => ms.toFixed(2)),
      ratio(r.add, reference?.add),
      ratio(r.del, reference?.del),
      ratio(r.delGone, reference?.delGone),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));
  console.log('');
}

/** noop.c built into `dir`: without the C library, and with glibc (static). */
function buildNoops(dir) {
  const source = path.join(root, 'bench', 'noop.c');
  const bare = path.join(dir, 'noop');
  const withLibc = path.join(dir, 'noop-libc');
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-static', '-nostdlib', '-o', bare, source], { stdio: 'inherit' });
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-static', '-DNOOP_WITH_LIBC', '-o', withLibc, source], { stdio: 'inherit' });
  return { bare, withLibc };
}

/**
 * The parts of a fast-path ADD, measured apart and in turns: the runtime
 * starting a program that does nothing, and VERSION through the front end.
 */
async function startUps(execute, noops, version) {
  const parts = { bare: [], withLibc: [], version: [] };
  for (let i = 0; i < 50; i++) {
    for (const [part, file] of [['bare', noops.bare], ['withLibc', noops.withLibc]]) {
      const start = performance.now();
      await execute(file, {}, '');
      parts[part].push(performance.now() - start);
    }
    const start = performance.now();
    await version();
    parts.version.push(performance.now() - start);
  }
  return Object.fromEntries(Object.entries(parts).map(([part, times]) => [part, median(times)]));
}

function printBreakdown(fast, parts, floor) {
  const service = fast.add - parts.version;
  const kernel = floor.veth + floor.configure + floor.port;
  const rows = [
    ['the runtime starts a program that does nothing (static, no C library)', parts.bare],
    ['  the same with glibc\'s start-up (static; the front end is built without it)', parts.withLibc],
    ['VERSION through the front end: its start and the round trip to the service', parts.version],
    ['  of which the round trip and the service answering', parts.version - parts.bare],
    ['the service\'s ADD beyond that (ADD - VERSION)', service],
    ['  of which the kernel\'s work (floor.c --port: veth, configure, port)', kernel],
    ['  the rest: nsnet\'s own (records, checks, thread hops, the resolver), and waits for a CPU', service - kernel],
    ['ADD through the front end', fast.add],
  ];
  console.log('where a fast-path ADD goes (medians, ms)');
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, ms] of rows) console.log(`  ${label.padEnd(width)}   ${ms.toFixed(2).padStart(6)}`);
  console.log('');
}

/** Node starting and ending with nothing to do, through `execute`: the floor of running node per call. */
async function nodeAlone(dir, execute) {
  const script = path.join(dir, 'node-alone');
  fs.writeFileSync(script, `#!${process.execPath}\n`, { mode: 0o755 });
  const times = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    await execute(script, {}, '');
    times.push(performance.now() - start);
  }
  return median(times);
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('run the benchmark inside a throw-away namespace: npm run bench');
  console.log(`\nCNI: ${COUNT} containers, one at a time: ADD (one published port) then DEL, through the plugin executables\n`);
  const dir = pluginDir();
  let execServer;
  const socket = path.join(dir, 'cni.sock');
  const service = spawn(process.execPath, [path.join(root, 'bin', 'nsnet.js'), 'cni', 'serve', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  await once(service.stderr, 'data');
  const coldSocket = path.join(dir, 'cold.sock');
  const fastEnv = { ...nodeEnv, NSNET_CNI_SOCKET: socket };
  try {
    execServer = startExecServer(dir);
    // As containerd and CRI-O start plugins: posix_spawn (Go's os/exec forks with vfork).
    const runtime = (dirs, env) => new CniRuntime(dirs, env, execServer.execute);
    const contenders = [
      contender('nsnet-cni, fast path (front end + service)', runtime([dir], fastEnv), nsnetList('benchfast', '10.154.0.0/16'), 'nf'),
      contender('nsnet-cni, cold start (first call starts the service)', runtime([dir], { ...nodeEnv, NSNET_CNI_SOCKET: coldSocket }), nsnetList('benchcold', '10.157.0.0/16'), 'nc'),
    ];
    if (REFERENCE) contenders.push(contender('CNI bridge + host-local + portmap', runtime([REFERENCE], {}), referenceList('benchref', 'cnibr1', '10.155.0.0/16'), 'rf'));
    else console.log('(CNI plugins not installed, skipped: apt-get install containernetworking-plugins)\n');
    const perCall = contender(
      'nsnet-cni, NSNET_CNI_NO_SERVICE=1 (node per call)',
      runtime([dir], { ...nodeEnv, NSNET_CNI_NO_SERVICE: '1', NSNET_CNI_SOCKET: path.join(dir, 'none.sock') }),
      nsnetList('benchslow', '10.156.0.0/16'),
      'ns',
    );
    const results = await timeContenders(contenders);
    // Apart: its node processes' start and exit would weigh on the others' figures.
    results.splice(2, 0, ...(await timeContenders([perCall])));
    printTable('runtime starting plugins with posix_spawn, as Go runtimes do', results);
    const fast = contenders[0];
    const parts = await startUps(execServer.execute, buildNoops(dir), () => fast.runtime.exec('nsnet-cni', 'VERSION', { cniVersion: '1.0.0' }));
    printBreakdown(results[0], parts, await measureFloor(COUNT, { port: true, burst: false }));
    console.log(`node itself, started with nothing to do: ${(await nodeAlone(dir, execServer.execute)).toFixed(2)} ms\n`);
    // The same fast path and reference through node's own spawn (the test suite's runtime), on networks of their own.
    const throughNode = [contender('nsnet-cni, fast path (front end + service)', new CniRuntime([dir], fastEnv), nsnetList('benchnode', '10.158.0.0/16'), 'mf')];
    if (REFERENCE) throughNode.push(contender('CNI bridge + host-local + portmap', new CniRuntime([REFERENCE]), referenceList('benchref2', 'cnibr2', '10.159.0.0/16'), 'mr'));
    printTable("runtime starting plugins with node's child_process.spawn", await timeContenders(throughNode));
  } finally {
    service.kill('SIGTERM');
    await once(service, 'exit');
    // The service the cold start made: stopped by the PID it wrote.
    if (fs.existsSync(`${coldSocket}.pid`)) process.kill(Number(fs.readFileSync(`${coldSocket}.pid`, 'utf8')), 'SIGTERM');
    await execServer?.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const name of ['benchfast', 'benchcold', 'benchslow', 'benchnode']) await removeNetwork(name, { force: true });
  if (REFERENCE) for (const bridge of ['cnibr1', 'cnibr2']) execIp('link', 'del', bridge);
  console.log(
    "(medians; a chain's figure is all its plugins; start-up is a VERSION call through the same path: process start,\n and for the service paths the round trip to the service)",
  );
}

function execIp(...args) {
  execFileSync('ip', args, { stdio: 'ignore' });
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
