// Soak: churn for a long time and look for what leaks or drifts.
//
//   scripts/sandbox node bench/soak.mjs --minutes 30
//
// Worker processes (bench/soak-worker.mjs; 4 by default) set up and tear
// down containers with published ports on one network, through the public
// API. Meanwhile this script SIGKILLs a random worker now and then (while it
// is in an operation) and starts another in its slot, flushes the whole
// ruleset (`nft flush ruleset`) every few minutes, has a worker run
// reconcile() every minute and after each flush, samples records and kernel
// every 10 s for duplicate addresses and host ports, and checks a published
// port of a live container with a real TCP connection from a `wan`
// namespace every 30 s (and once in each flush window). Worker 0 is never
// killed: its descriptors and resident memory are sampled to see whether
// they stay flat. At the end it stops the workers, runs a final reconcile,
// tears every container down and checks that nothing is left: no veth,
// bridge or namespace, no nf_tables element, no lease, host port, endpoint
// or container record that belongs to nothing.
//
// A line each minute; a summary at the end; exit status 1 when a check
// failed. Not part of CI (it runs for as long as it is told).
import { execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs, promisify } from 'node:util';

import { createBridgeNetwork, listContainers, NetNamespace, reconcile, removeNetwork, teardownContainer } from '../dist/index.js';
import { leaks, processFigures, sample } from './soak-inspect.mjs';

const { values: options } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    workers: { type: 'string', default: '4' },
    'flush-every': { type: 'string', default: '180' }, // s
    'reconcile-every': { type: 'string', default: '60' }, // s
    'kill-every': { type: 'string', default: '20' }, // s, on average
    'check-every': { type: 'string', default: '30' }, // s
    'sample-every': { type: 'string', default: '10' }, // s
    'pause-ms': { type: 'string', default: '150' }, // between one worker's operations, on average
    'max-live': { type: 'string', default: '6' }, // containers per worker
    // A worker started in a killed one's slot leaves that one's containers to reconcile and the final teardown.
    'leave-orphans': { type: 'boolean', default: false },
  },
});
const MINUTES = Number(options.minutes);
const WORKERS = Number(options.workers);
const FLUSH_EVERY = Number(options['flush-every']) * 1000;
const FIRST_FLUSH = Math.min(90000, FLUSH_EVERY / 2);
/** How long a flush stays unrepaired before its reconcile: the flush window. */
const FLUSH_WINDOW = 20000;
const RECONCILE_EVERY = Number(options['reconcile-every']) * 1000;
const KILL_EVERY = Number(options['kill-every']) * 1000;
const CHECK_EVERY = Number(options['check-every']) * 1000;
const SAMPLE_EVERY = Number(options['sample-every']) * 1000;
const MAX_LIVE = Number(options['max-live']);

const NETWORK = 'soak';
const WAN = 'soak-wan';
const HOST_ADDRESS = '198.51.100.1';
const WAN_ADDRESS = '198.51.100.2';
const FIXED_PORTS = [31000, 31049];
/** fds: the long-lived worker's count may move by this many (see the verdict). */
const FD_TOLERANCE = 2 * MAX_LIVE + 4;
/** Resident memory: the long-lived worker's may grow by this fraction. */
const RSS_TOLERANCE = 0.15;

const env = { stateDir: process.env.NSNET_STATE_DIR, netnsDir: process.env.NSNET_NETNS_DIR, ownNamespaces: [WAN], ownLinks: ['wan0'] };
const command = promisify(execFile);
const nft = (args) => command('nft', args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const started = Date.now();
const clock = (t = Date.now()) => {
  const s = Math.round((t - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

// ---------------------------------------------------------------- figures

const stats = {
  ops: { setup: { ok: 0, failures: [] }, teardown: { ok: 0, failures: [] } },
  durations: { setup: [], teardown: [] },
  kills: 0,
  killedMidOperation: 0,
  killedDuring: new Map(), // container id -> what the kill interrupted
  crashes: [],
  errors: [], // of this script's own tasks
  flushes: 0,
  reconciles: { ok: 0, failed: {}, lost: 0, cleaned: {}, failures: [] },
  reconcileRuns: [], // { start, end } as seen from here
  checks: { ok: 0, expectedFailures: 0, failures: [], skipped: 0 },
  samples: 0,
  maxLive: 0,
  problems: [],
  staleSamples: [], // samples that found DNAT elements no record holds
  longLived: [], // { minute, fds, rss }
};
/** The flush windows: from a flush until a reconcile that began after it has finished. */
const windows = [];
const inFlushWindow = (start, end) => windows.some((w) => end >= w.start && (w.end === undefined || start <= w.end));

/** While a reconcile ran (from its request to its reply, or its worker's death). */
const duringReconcile = (start, end) => stats.reconcileRuns.some((r) => end >= r.start && (r.end === undefined || start <= r.end));

/**
 * A failed operation's class. Expected: a fixed host port another container
 * holds (PORT_IN_USE), and whatever a flush breaks until its reconcile.
 * Unexpected otherwise; those that overlap a reconcile run are told apart.
 */
function classify({ code, start, end }) {
  if (code === 'PORT_IN_USE') return 'port taken';
  if (inFlushWindow(start, end)) return 'in flush window';
  return duringReconcile(start, end) ? 'unexpected, during a reconcile' : 'unexpected';
}

/** The failures of one kind of operation by code and class: { "CODE (class)": { count, example } }. */
function failureTable(op) {
  const table = {};
  for (const failure of stats.ops[op].failures) {
    const key = `${failure.code} (${classify(failure)})`;
    table[key] ??= { count: 0, example: failure.message };
    table[key].count += 1;
  }
  return table;
}

const unexpected = (failed) => Object.entries(failed).filter(([key]) => key.includes('(unexpected'));
const sum = (object) => Object.values(object).reduce((total, { count }) => total + count, 0);
const listCounts = (failed) =>
  Object.entries(failed)
    .map(([key, { count }]) => `${key} ${count}`)
    .join(', ') || 'none';

function minuteLine() {
  const setup = { ok: stats.ops.setup.ok, failed: failureTable('setup') };
  const teardown = { ok: stats.ops.teardown.ok, failed: failureTable('teardown') };
  const { checks, reconciles } = stats;
  const last = stats.longLived.at(-1);
  return [
    `[${clock()}] setups ${setup.ok} ok, ${sum(setup.failed)} failed`,
    `teardowns ${teardown.ok} ok, ${sum(teardown.failed)} failed`,
    `failures: ${listCounts({ ...prefixed('setup', setup.failed), ...prefixed('teardown', teardown.failed) })}`,
    `kills ${stats.kills}`,
    `flushes ${stats.flushes}`,
    `reconciles ${reconciles.ok}${sum(reconciles.failed) ? ` (+${sum(reconciles.failed)} failed)` : ''}`,
    `traffic ${checks.ok} ok, ${checks.expectedFailures} failed in flush window, ${checks.failures.length} failed`,
    `samples ${stats.samples} (${stats.problems.length} duplicates, ${stats.staleSamples.length} with stale DNAT)`,
    last ? `worker 0: ${last.fds} fds, ${(last.rss / 1024).toFixed(1)} MB` : 'worker 0: -',
  ].join(' | ');
}

const prefixed = (op, failed) => Object.fromEntries(Object.entries(failed).map(([key, value]) => [`${op} ${key}`, value]));

// ---------------------------------------------------------------- workers

const slots = [];
/** The time is up: no new flush, kill or reconcile. */
let ending = false;
/** The workers are being stopped. */
let stopping = false;

function startWorker(slot, generation) {
  const config = {
    slot,
    generation,
    network: NETWORK,
    minLive: 2,
    maxLive: MAX_LIVE,
    pauseMs: Number(options['pause-ms']),
    fixedPorts: FIXED_PORTS,
    adopt: !options['leave-orphans'],
  };
  const child = fork(new URL('./soak-worker.mjs', import.meta.url), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const worker = { slot, generation, child, pid: child.pid, inOperation: undefined, waiters: new Set(), pinned: false, killed: false };
  child.on('message', (message) => onMessage(worker, message));
  child.on('exit', (code, signal) => {
    for (const waiter of worker.waiters) waiter(undefined);
    if (!worker.killed && !stopping) {
      stats.crashes.push(`worker ${slot} (pid ${worker.pid}) exited: ${signal ?? code}`);
      slots[slot] = startWorker(slot, generation + 1);
    }
  });
  return worker;
}

function onMessage(worker, message) {
  if (message.t === 'begin') worker.inOperation = message;
  if (message.t === 'op') {
    worker.inOperation = undefined;
    if (message.ok) {
      stats.ops[message.op].ok += 1;
      stats.durations[message.op].push(message.end - message.start);
    } else stats.ops[message.op].failures.push({ code: message.code, message: message.message, start: message.start, end: message.end });
  }
  for (const waiter of worker.waiters) waiter(message);
}

/** The next message of `worker` for which `match` holds; undefined if it exits or after `timeoutMs`. */
function nextMessage(worker, match, timeoutMs) {
  return new Promise((resolve) => {
    const done = (value) => {
      clearTimeout(timer);
      worker.waiters.delete(waiter);
      resolve(value);
    };
    const waiter = (message) => (message === undefined || match(message)) && done(message);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    worker.waiters.add(waiter);
  });
}

const anyWorker = () => slots[Math.floor(Math.random() * slots.length)];

/** Kills a worker (not worker 0, not one holding a pinned container) with SIGKILL, preferably mid-operation, and starts another in its slot. */
async function killOne() {
  const candidates = slots.filter((w) => w.slot !== 0 && !w.pinned);
  if (!candidates.length) return;
  const victim = candidates[Math.floor(Math.random() * candidates.length)];
  await nextMessage(victim, (m) => m.t === 'begin', 2000);
  await sleep(Math.random() * 15);
  if (ending || victim.pinned) return;
  victim.killed = true;
  if (victim.inOperation) stats.killedMidOperation += 1;
  if (victim.inOperation) stats.killedDuring.set(victim.inOperation.id, `[${clock()}] worker ${victim.slot} was killed in the ${victim.inOperation.op} of ${victim.inOperation.id}`);
  const exited = once(victim.child, 'exit');
  process.kill(victim.pid, 'SIGKILL');
  await exited;
  stats.kills += 1;
  slots[victim.slot] = startWorker(victim.slot, victim.generation + 1);
}

// ------------------------------------------------- flushes and reconciles

async function flush() {
  await nft(['flush', 'ruleset']);
  stats.flushes += 1;
  windows.push({ start: Date.now() });
}

/** Has a worker run reconcile(); a reconcile that began after a flush ends its window. */
async function reconcileOnce() {
  const worker = anyWorker();
  const run = { start: Date.now() };
  stats.reconcileRuns.push(run);
  worker.child.send({ t: 'reconcile' });
  const reply = await nextMessage(worker, (m) => m.t === 'reconciled', 60000);
  run.end = Date.now();
  const { reconciles } = stats;
  if (!reply) {
    reconciles.lost += 1; // its worker was killed meanwhile
    return false;
  }
  if (!reply.ok) {
    reconciles.failed[reply.code] ??= { count: 0, example: reply.message };
    reconciles.failed[reply.code].count += 1;
    return false;
  }
  reconciles.ok += 1;
  for (const [kind, count] of Object.entries(reply.cleaned)) reconciles.cleaned[kind] = (reconciles.cleaned[kind] ?? 0) + count;
  reconciles.failures.push(...reply.failures);
  for (const w of windows) if (w.end === undefined && reply.start >= w.start) w.end = reply.end;
  return true;
}

/** Reconciles until one succeeds (a worker may be killed under it). */
async function reconcileNow() {
  while (!ending && !(await reconcileOnce())) await sleep(1000);
}

// ------------------------------------------------------------- traffic

const SERVER = `require('node:net').createServer((s) => s.on('data', () => s.end('soak'))).listen(80, () => console.log('listening'))`;
const CLIENT = `
  const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: 3000 });
  let reply = '';
  s.on('connect', () => s.write('x'));
  s.on('data', (d) => (reply += d));
  s.on('end', () => { console.log(reply); process.exit(reply === 'soak' ? 0 : 4); });
  s.on('timeout', () => { console.log('timeout'); process.exit(2); });
  s.on('error', (e) => { console.log(e.code); process.exit(3); });
`;
const processes = new Set();

/** Spawns node in `ns`; resolves to [child, first line of output or 'exit N']. */
async function nodeIn(ns, args) {
  const child = ns.spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  processes.add(child);
  child.on('exit', () => processes.delete(child));
  let out = '';
  const line = await new Promise((resolve) => {
    child.stdout.on('data', (d) => (out += d).includes('\n') && resolve(out.trim()));
    child.on('exit', (code, signal) => resolve(out.trim() || `exit ${signal ?? code}`));
  });
  return [child, line];
}

/** For a failed check: the host's neighbour entry for the container's address, the container's MAC, and the port's DNAT element. */
async function whatTheKernelHas({ id, address, hostPort }) {
  const json = async (cmd, args) => JSON.parse((await command(cmd, args).catch(() => ({ stdout: 'null' }))).stdout || 'null');
  const [neighbour] = (await json('ip', ['-j', 'neigh', 'show', 'to', address])) ?? [];
  const [eth0] = (await json('ip', ['-j', '-n', id, 'link', 'show', 'eth0'])) ?? [];
  const map = (await json('nft', ['-j', 'list', 'map', 'inet', 'nsnet', 'ports4_any']))?.nftables.find((e) => e.map)?.map;
  const element = (map?.elem ?? []).find(([key]) => key.concat[1] === hostPort);
  return [
    `host neighbour ${neighbour ? `${neighbour.lladdr} ${neighbour.state?.join(',')}` : 'none'}`,
    `container eth0 ${eth0?.address ?? 'missing'}`,
    `DNAT ${element ? JSON.stringify(element[1].concat) : 'missing'}`,
  ].join(', ');
}

/** Connects from `wan` to the published port of a live container pinned by a worker, with a server started in its namespace. */
async function trafficCheck(wan) {
  let worker;
  let pinned;
  for (const candidate of [...slots].sort(() => Math.random() - 0.5)) {
    worker = candidate;
    worker.pinned = true;
    worker.child.send({ t: 'pin' });
    pinned = await nextMessage(worker, (m) => m.t === 'pinned', 5000);
    if (pinned && !pinned.none) break;
    worker.pinned = false;
  }
  let server;
  try {
    if (!pinned || pinned.none) {
      stats.checks.skipped += 1;
      return;
    }
    const start = Date.now();
    const ns = await NetNamespace.open(pinned.netnsPath);
    let line;
    try {
      [server, line] = await nodeIn(ns, ['-e', SERVER]);
    } finally {
      ns.close();
    }
    if (line !== 'listening') throw new Error(`server in ${pinned.id}: ${line}`);
    const connect = async () => (await nodeIn(wan, ['-e', CLIENT, HOST_ADDRESS, String(pinned.hostPort)]))[1];
    const reply = await connect();
    if (reply === 'soak') stats.checks.ok += 1;
    else if (inFlushWindow(start, Date.now())) stats.checks.expectedFailures += 1;
    else {
      const seen = await whatTheKernelHas(pinned);
      await sleep(5000);
      const again = await connect();
      stats.checks.failures.push(`[${clock(start)}] ${pinned.id} (${pinned.address}) port ${pinned.hostPort}: ${reply}; ${seen}; 5 s later: ${again}`);
    }
  } catch (error) {
    stats.checks.failures.push(`[${clock()}] ${pinned?.id}: ${error.message}`);
  } finally {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = once(server, 'exit');
      process.kill(server.pid, 'SIGTERM');
      await exited;
    }
    if (pinned?.id) worker.child.connected && worker.child.send({ t: 'unpin', id: pinned.id });
    worker.pinned = false;
  }
}

// ------------------------------------------------------------- samples

async function takeSample() {
  const result = await sample(env);
  stats.samples += 1;
  stats.maxLive = Math.max(stats.maxLive, result.endpoints);
  stats.problems.push(...result.problems.map((p) => `[${clock()}] ${p}`));
  if (result.stale.length) stats.staleSamples.push(`[${clock()}] ${result.stale.length}: ${result.stale.slice(0, 3).join(', ')}`);
  const long = slots[0];
  if (long) stats.longLived.push({ minute: Math.floor((Date.now() - started) / 60000) + 1, ...processFigures(long.pid) });
}

/** Per minute of the run: the medians of worker 0's samples in it. */
function longLivedSeries() {
  const minutes = new Map();
  for (const s of stats.longLived) minutes.set(s.minute, [...(minutes.get(s.minute) ?? []), s]);
  return [...minutes].map(([minute, samples]) => ({ minute, fds: median(samples.map((s) => s.fds)), rss: median(samples.map((s) => s.rss)) }));
}

/**
 * Flat: the last minute's median within a tolerance of the second minute's
 * (the first is warm-up: code compiled, pools and caches filled). fds: by
 * FD_TOLERANCE (2 per container a worker may hold, as a namespace and its
 * netlink socket stay open while it lives, plus 4); resident memory: by
 * RSS_TOLERANCE (15%: the garbage collector lets the heap breathe by a few
 * MB).
 */
function verdict(series) {
  const second = series.find((s) => s.minute === 2);
  const last = series.at(-1);
  if (!second || last.minute <= 2) return { text: 'not judged (fewer than 3 minutes)', flat: true };
  const fdsFlat = Math.abs(last.fds - second.fds) <= FD_TOLERANCE;
  const rssFlat = last.rss <= second.rss * (1 + RSS_TOLERANCE);
  const text = `fds ${fdsFlat ? 'flat' : 'NOT flat'} (${second.fds} -> ${last.fds}, tolerance ±${FD_TOLERANCE}); rss ${rssFlat ? 'flat' : 'NOT flat'} (${(second.rss / 1024).toFixed(1)} -> ${(last.rss / 1024).toFixed(1)} MB, tolerance +${RSS_TOLERANCE * 100}%)`;
  return { text, flat: fdsFlat && rssFlat };
}

// ------------------------------------------------------------- the run

/**
 * Runs `fn` every `ms` (first after `first`) until stopped; its errors are
 * recorded, not thrown. Returns the stop: it waits for a run under way.
 */
function every(ms, first, fn) {
  let timer;
  let running = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = fn()
      .catch((error) => stats.errors.push(`[${clock()}] ${error.message}`))
      .finally(() => !stopped && (timer = setTimeout(tick, ms)));
  };
  timer = setTimeout(tick, first);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}

async function makeWan() {
  const host = NetNamespace.host();
  const wan = await NetNamespace.create(WAN);
  await host.links.add({ kind: 'veth', name: 'wan0', up: true, peer: { name: 'eth0', netns: wan } });
  await wan.links.set('eth0', { up: true });
  await host.addresses.add('wan0', `${HOST_ADDRESS}/24`);
  await wan.addresses.add('eth0', `${WAN_ADDRESS}/24`);
  return wan;
}

/** Ends every process this script started, by PID. */
function killAll() {
  for (const worker of slots) if (worker.child.exitCode === null && worker.child.signalCode === null) process.kill(worker.pid, 'SIGKILL');
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
}

async function stopWorkers() {
  stopping = true;
  const exits = slots.map((w) => (w.child.exitCode === null && w.child.signalCode === null ? once(w.child, 'exit') : undefined));
  for (const w of slots) if (w.child.connected) w.child.send({ t: 'stop' });
  await Promise.race([Promise.all(exits), sleep(15000)]);
  killAll();
}

/** The end: final reconcile, every container torn down, then what is left (polled: the kernel removes a deleted namespace's veth in the background). */
async function finish() {
  const final = await reconcile();
  const containers = await listContainers();
  const teardownFailures = [];
  for (const container of containers) await teardownContainer(container.id).catch((e) => teardownFailures.push(`${container.id}: ${e.code} ${e.message}`));
  const start = Date.now();
  let left = await leaks({ ...env, expectNone: true });
  while (left.length && Date.now() - start < 30000) {
    await sleep(500);
    left = await leaks({ ...env, expectNone: true });
  }
  return { final, containers: containers.length, teardownFailures, left, settledMs: Date.now() - start };
}

/** What a kill interrupted, for a leak that names a container's namespace. */
function killNote(leak) {
  const id = leak.match(/(?:^namespace |\/)(w\d+g\d+n\d+)\b/)?.[1];
  return id && stats.killedDuring.has(id) ? `: ${stats.killedDuring.get(id)}` : '';
}

function report(end) {
  const setup = { ok: stats.ops.setup.ok, failed: failureTable('setup') };
  const teardown = { ok: stats.ops.teardown.ok, failed: failureTable('teardown') };
  const { reconciles, checks } = stats;
  const series = longLivedSeries();
  const flat = verdict(series);
  const lines = ['', `soak summary after ${clock()} (${WORKERS} workers, up to ${MAX_LIVE} containers each)`];
  lines.push(`setups: ${setup.ok} ok (median ${median(stats.durations.setup)?.toFixed(1)} ms), ${sum(setup.failed)} failed`);
  lines.push(`teardowns: ${teardown.ok} ok (median ${median(stats.durations.teardown)?.toFixed(1)} ms), ${sum(teardown.failed)} failed`);
  for (const [op, failed] of [['setup', setup.failed], ['teardown', teardown.failed]]) {
    for (const [key, { count, example }] of Object.entries(failed)) lines.push(`  ${op} failed, ${key}: ${count}, e.g. ${example}`);
  }
  lines.push(`kills: ${stats.kills} (SIGKILL, ${stats.killedMidOperation} in the middle of an operation); workers that died by themselves: ${stats.crashes.length}`);
  for (const crash of stats.crashes) lines.push(`  ${crash}`);
  for (const error of stats.errors) lines.push(`  error in the soak script: ${error}`);
  const windowSeconds = windows.filter((w) => w.end).map((w) => ((w.end - w.start) / 1000).toFixed(1));
  lines.push(`flushes: ${stats.flushes} (windows until reconcile: ${windowSeconds.join(', ') || '-'} s)`);
  lines.push(`reconciles: ${reconciles.ok} ok, ${sum(reconciles.failed)} failed, ${reconciles.lost} lost with a killed worker; removed: ${JSON.stringify(reconciles.cleaned)}`);
  for (const [code, { count, example }] of Object.entries(reconciles.failed)) lines.push(`  reconcile failed, ${code}: ${count}, e.g. ${example}`);
  for (const failure of new Set(reconciles.failures)) lines.push(`  reconcile could not: ${failure}`);
  lines.push(`traffic checks from wan: ${checks.ok} ok, ${checks.expectedFailures} failed in a flush window (expected: the DNAT rules are gone until reconcile), ${checks.failures.length} failed otherwise, ${checks.skipped} skipped (no container to pin)`);
  for (const failure of checks.failures) lines.push(`  ${failure}`);
  lines.push(`samples: ${stats.samples}, at most ${stats.maxLive} live endpoints; duplicate addresses or host ports: ${stats.problems.length}`);
  for (const problem of stats.problems.slice(0, 20)) lines.push(`  ${problem}`);
  lines.push(`samples with DNAT elements (ports4_any) that no endpoint record holds: ${stats.staleSamples.length}`);
  for (const stale of stats.staleSamples.slice(0, 20)) lines.push(`  ${stale}`);
  lines.push(`worker 0 (never killed), medians per minute: ${series.map((s) => `${s.minute}: ${s.fds} fds ${(s.rss / 1024).toFixed(1)} MB`).join('; ')}`);
  lines.push(`worker 0 verdict: ${flat.text}`);
  if (end) {
    lines.push(`final reconcile removed: ${JSON.stringify(Object.fromEntries(Object.entries(end.final).filter(([, v]) => Array.isArray(v) && v.length).map(([k, v]) => [k, v.length])))}; then ${end.containers} containers torn down, ${end.teardownFailures.length} failed`);
    for (const failure of end.teardownFailures) lines.push(`  ${failure}`);
    lines.push(`left behind (after ${(end.settledMs / 1000).toFixed(1)} s): ${end.left.length ? '' : 'nothing'}`);
    for (const leak of end.left) lines.push(`  ${leak}${killNote(leak)}`);
    lines.push(`removing the network: ${end.removeNetwork}; left after it: ${end.afterRemove.length ? '' : 'nothing'}`);
    for (const leak of end.afterRemove) lines.push(`  ${leak}${killNote(leak)}`);
  }
  lines.push('expected, not counted as problems: setups refused PORT_IN_USE (workers ask for fixed host ports from a shared range),');
  lines.push('failures in a flush window (setups with published ports fail until reconcile puts the table back), traffic checks in a flush window.');
  const failed = [
    unexpected(setup.failed).length && 'unexpected setup failures',
    unexpected(teardown.failed).length && 'unexpected teardown failures',
    checks.failures.length && 'traffic checks failed outside flush windows',
    stats.problems.length && 'duplicates observed',
    stats.staleSamples.length && 'stale DNAT elements observed',
    stats.crashes.length && 'workers died by themselves',
    stats.errors.length && 'errors in the soak script',
    !flat.flat && 'worker 0 not flat',
    !end && 'the run did not finish',
    (end?.left.length || end?.afterRemove.length) && 'state left behind',
    end?.teardownFailures.length && 'final teardowns failed',
    end && end.removeNetwork !== 'ok' && 'the network could not be removed',
  ].filter(Boolean);
  lines.push(failed.length ? `SOAK FAILED: ${failed.join('; ')}` : 'SOAK PASSED');
  console.log(lines.join('\n'));
  return failed.length === 0;
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('run it inside the sandbox: scripts/sandbox node bench/soak.mjs --minutes 30');
  const wan = await makeWan();
  await createBridgeNetwork({ name: NETWORK, subnet: '10.160.0.0/24' });
  for (let slot = 0; slot < WORKERS; slot++) slots.push(startWorker(slot, 0));
  console.log(`soak: ${MINUTES} min, ${WORKERS} workers; a line each minute`);
  const timers = [
    every(60000, 60000, async () => console.log(minuteLine())),
    every(SAMPLE_EVERY, SAMPLE_EVERY, takeSample),
    every(CHECK_EVERY, CHECK_EVERY, () => trafficCheck(wan)),
    every(RECONCILE_EVERY, RECONCILE_EVERY, reconcileNow),
    every(FLUSH_EVERY, FIRST_FLUSH, async () => {
      await flush();
      await sleep(5000);
      await trafficCheck(wan); // fails: the rules are gone
      await sleep(FLUSH_WINDOW - 5000);
      await reconcileNow();
    }),
    // A kill every KILL_EVERY on average, at random moments.
    every(KILL_EVERY / 2, KILL_EVERY / 2, async () => {
      await sleep(Math.random() * KILL_EVERY);
      await killOne();
    }),
  ];
  await sleep(MINUTES * 60000);
  ending = true;
  await Promise.all(timers.map((stop) => stop()));
  console.log(minuteLine());
  await stopWorkers();
  const end = await finish();
  end.removeNetwork = await removeNetwork(NETWORK).then(() => 'ok', (e) => `${e.code}: ${e.message}`);
  end.afterRemove = await leaks({ ...env, expectNone: true });
  await wan.delete();
  return report(end);
}

process.on('SIGINT', () => {
  stopping = true;
  killAll();
  report(undefined);
  process.exit(130);
});

main()
  .then((passed) => process.exit(passed ? 0 : 1))
  .catch((error) => {
    stopping = true;
    killAll();
    console.error(`soak aborted: ${error.stack}`);
    report(undefined);
    process.exit(1);
  });
