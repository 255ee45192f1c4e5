// Benchmark: nsnet against iproute2 for veth and network namespace churn.
//
//   npm run bench            (runs this file inside scripts/sandbox)
//
// Steps, for each contender:
//   1. create N veth pairs, each peer placed in one of a few target namespaces,
//      then delete them by their host end (the peer goes with it);
//   2. create M named namespaces, then delete them.
// Contenders: nsnet (concurrent requests, batched by the library), one
// `ip -batch -` process per step, and one `ip` process per operation.
//
// NSNET_BENCH_VETHS and NSNET_BENCH_NAMESPACES override N and M, and
// NSNET_BENCH_ROUNDS the number of rounds (the table shows the medians).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { NetNamespace } from '../dist/index.js';
import { settleKernel } from './floor.mjs';

const VETHS = countFromEnv('NSNET_BENCH_VETHS', 1000);
const NAMESPACES = countFromEnv('NSNET_BENCH_NAMESPACES', 200);
// Each contender runs this many rounds, interleaved; the table shows medians.
const ROUNDS = countFromEnv('NSNET_BENCH_ROUNDS', 3);
// The veth peers are spread over this many namespaces, made before timing.
const TARGETS = Math.min(10, VETHS);
// nsnet requests issued together with Promise.all.
const NSNET_CHUNK = 250;
const NETNS_DIR = process.env.NSNET_NETNS_DIR || '/run/netns';
const SETTLE_TIMEOUT_MS = 60_000;

function countFromEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  // The upper bound keeps interface names within the kernel's 15 characters.
  if (!Number.isInteger(value) || value < 1 || value > 99_999) {
    console.error(`${name} must be an integer from 1 to 99999, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

// ---------------------------------------------------------------------------
// What each contender works on. Names carry the contender's prefix so that
// contenders never collide; interface names stay within 15 characters.

function vethPlan(prefix) {
  const targets = Array.from({ length: TARGETS }, (_, t) => `${prefix}-t${t}`);
  const veths = Array.from({ length: VETHS }, (_, i) => ({
    host: `${prefix}-h${i}`,
    peer: `${prefix}-p${i}`,
    target: targets[i % TARGETS],
  }));
  return { prefix, targets, veths };
}

function namespaceNames(prefix) {
  return Array.from({ length: NAMESPACES }, (_, i) => `${prefix}-n${i}`);
}

// ---------------------------------------------------------------------------
// Contenders.

/** nsnet: every operation of a step issued concurrently, in chunks. */
function nsnetContender() {
  const host = NetNamespace.host();
  let targets = new Map();
  let created = [];
  return {
    label: 'nsnet',
    prefix: 'nsnet',
    async prepare(plan) {
      for (const name of plan.targets) targets.set(name, await NetNamespace.open(name));
      // Opens the host's netlink socket, as any earlier call of an application would.
      await host.links.list();
    },
    createVeths: (plan) =>
      inChunks(plan.veths, (v) =>
        host.links.add({ kind: 'veth', name: v.host, peer: { name: v.peer, netns: targets.get(v.target) } }),
      ),
    deleteVeths: (plan) => inChunks(plan.veths, (v) => host.links.delete(v.host)),
    finish() {
      // Open handles would keep the target namespaces alive after `ip netns del`.
      for (const ns of targets.values()) ns.close();
      targets = new Map();
    },
    async createNamespaces(names) {
      created = await inChunks(names, (name) => NetNamespace.create(name));
    },
    async deleteNamespaces() {
      await inChunks(created, (ns) => ns.delete());
      created = [];
    },
  };
}

/** One `ip -batch -` process per step. */
function ipBatchContender() {
  return {
    label: 'ip -batch',
    prefix: 'batch',
    createVeths: (plan) =>
      ipBatch(plan.veths.map((v) => `link add ${v.host} type veth peer name ${v.peer} netns ${v.target}`)),
    deleteVeths: (plan) => ipBatch(plan.veths.map((v) => `link del ${v.host}`)),
    createNamespaces: (names) => ipBatch(names.map((name) => `netns add ${name}`)),
    deleteNamespaces: (names) => ipBatch(names.map((name) => `netns del ${name}`)),
  };
}

/** One `ip` process per operation, run one after another. */
function ipPerOpContender() {
  return {
    label: 'ip per op',
    prefix: 'perop',
    createVeths(plan) {
      for (const v of plan.veths) ip('link', 'add', v.host, 'type', 'veth', 'peer', 'name', v.peer, 'netns', v.target);
    },
    deleteVeths(plan) {
      for (const v of plan.veths) ip('link', 'del', v.host);
    },
    createNamespaces(names) {
      for (const name of names) ip('netns', 'add', name);
    },
    deleteNamespaces(names) {
      for (const name of names) ip('netns', 'del', name);
    },
  };
}

/** Runs `fn` over `items`, NSNET_CHUNK at a time concurrently; resolves to the results in order. */
async function inChunks(items, fn) {
  const results = [];
  for (let i = 0; i < items.length; i += NSNET_CHUNK) {
    results.push(...(await Promise.all(items.slice(i, i + NSNET_CHUNK).map(fn))));
  }
  return results;
}

// ---------------------------------------------------------------------------
// iproute2 helpers.

/** Runs one `ip` command; throws with its error output when it fails. */
function ip(...args) {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`ip ${args.join(' ')} failed: ${String(error.stderr || error.message).trim()}`);
  }
}

/** Feeds commands to one `ip -batch -`, which stops at the first failure. */
function ipBatch(commands) {
  const result = spawnSync('ip', ['-batch', '-'], { input: commands.join('\n') + '\n', encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`ip -batch failed (status ${result.status}): ${result.stderr.trim().split('\n').slice(0, 5).join('\n')}`);
  }
}

/** Names of the veths in the host namespace, or in namespace `ns`. */
function vethNames(ns) {
  const args = ns ? ['-j', '-n', ns, 'link', 'show', 'type', 'veth'] : ['-j', 'link', 'show', 'type', 'veth'];
  return JSON.parse(ip(...args) || '[]').map((link) => link.ifname);
}

// ---------------------------------------------------------------------------
// Checks: a step only counts if its objects really exist, or are really gone.

function fail(message) {
  throw new Error(`check failed: ${message}`);
}

function checkVeths(plan, shouldExist) {
  const hostEnds = vethNames().filter((name) => name.startsWith(`${plan.prefix}-`));
  const want = shouldExist ? plan.veths.length : 0;
  if (hostEnds.length !== want) fail(`${want} host veth ends of ${plan.prefix} expected, found ${hostEnds.length}`);
  if (shouldExist) {
    const present = new Set(hostEnds);
    const missing = plan.veths.find((v) => !present.has(v.host));
    if (missing) fail(`host veth end ${missing.host} is missing`);
  }
  for (const target of plan.targets) {
    const want = shouldExist ? plan.veths.filter((v) => v.target === target).length : 0;
    const got = vethNames(target).length;
    if (got !== want) fail(`${want} veth peers expected in netns ${target}, found ${got}`);
  }
}

/** The namespaces with this prefix that are mounted in the netns directory. */
function mountedNamespaces(prefix) {
  const nsfs = fs.statSync('/proc/self/ns/net').dev;
  const inodes = new Set();
  for (const name of fs.readdirSync(NETNS_DIR)) {
    if (!name.startsWith(`${prefix}-`)) continue;
    const stat = fs.statSync(path.join(NETNS_DIR, name));
    // A plain file (no namespace mounted on it) would not count.
    if (stat.dev !== nsfs) fail(`${NETNS_DIR}/${name} is not a mounted network namespace`);
    inodes.add(stat.ino);
  }
  return inodes.size;
}

function checkNamespaces(prefix, want) {
  const got = mountedNamespaces(prefix);
  if (got !== want) fail(`${want} namespaces of ${prefix} expected in ${NETNS_DIR}, found ${got}`);
}

/** Polls `done` until it holds; the kernel tears namespaces down asynchronously. */
async function waitFor(what, done) {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  while (!done()) {
    if (performance.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function checkCleanState() {
  const leftovers = vethNames();
  if (leftovers.length) fail(`veths left in the host namespace: ${leftovers.slice(0, 5).join(', ')}`);
  const namespaces = fs.readdirSync(NETNS_DIR);
  if (namespaces.length) fail(`namespaces left in ${NETNS_DIR}: ${namespaces.slice(0, 5).join(', ')}`);
}

// ---------------------------------------------------------------------------
// Running.

/** Runs one timed step; resolves to operations per second. */
async function timed(operations, step) {
  const start = performance.now();
  await step();
  const seconds = (performance.now() - start) / 1000;
  return operations / seconds;
}

async function runContender(contender) {
  // Includes namespaces deleted before the benchmark started (the kernel's
  // teardown queue is shared by all namespaces of the machine).
  await settleKernel();
  checkCleanState();
  const rates = {};

  const plan = vethPlan(contender.prefix);
  for (const target of plan.targets) ip('netns', 'add', target);
  await contender.prepare?.(plan);
  rates.vethCreate = await timed(VETHS, () => contender.createVeths(plan));
  checkVeths(plan, true);
  await settleKernel();
  rates.vethDelete = await timed(VETHS, () => contender.deleteVeths(plan));
  checkVeths(plan, false);
  contender.finish?.();
  for (const target of plan.targets) ip('netns', 'del', target);
  // A veth left in a deleted namespace only goes once the kernel has torn it down.
  await waitFor(`the veths of ${contender.prefix} to go`, () =>
    vethNames().every((name) => !name.startsWith(`${contender.prefix}-`)),
  );

  const names = namespaceNames(contender.prefix);
  await settleKernel();
  rates.netnsCreate = await timed(NAMESPACES, () => contender.createNamespaces(names));
  checkNamespaces(contender.prefix, NAMESPACES);
  rates.netnsDelete = await timed(NAMESPACES, () => contender.deleteNamespaces(names));
  checkNamespaces(contender.prefix, 0);
  return rates;
}

const STEPS = [
  ['vethCreate', `veth create (${VETHS})`],
  ['vethDelete', `veth delete (${VETHS})`],
  ['netnsCreate', `netns create (${NAMESPACES})`],
  ['netnsDelete', `netns delete (${NAMESPACES})`],
];

/** The per-step median of several rounds' rates. */
function medians(runs) {
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return Object.fromEntries(STEPS.map(([key]) => [key, median(runs.map((rates) => rates[key]))]));
}

function printTable(results) {
  const { nsnet, batch, perop } = results;
  const rate = (value) => Math.round(value).toLocaleString('en-US');
  const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
  const rows = [
    ['step', 'nsnet ops/s', 'ip -batch ops/s', 'ip per op ops/s', 'nsnet vs batch', 'nsnet vs per-op'],
    ...STEPS.map(([key, label]) => [
      label,
      rate(nsnet[key]),
      rate(batch[key]),
      rate(perop[key]),
      ratio(nsnet[key], batch[key]),
      ratio(nsnet[key], perop[key]),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('   '));
  }
  console.log('\nnetns delete counts until the names are gone; the kernel tears the namespaces down afterwards,');
  console.log('in the background, for every contender alike (the benchmark waits for that between contenders).');
}

async function main() {
  // The benchmark creates and deletes interfaces in the namespace it runs in.
  if (process.env.NSNET_SANDBOX !== 'inside') {
    throw new Error('run the benchmark inside a throw-away namespace: npm run bench (scripts/sandbox node bench/links.mjs)');
  }
  fs.mkdirSync(NETNS_DIR, { recursive: true });
  const ipVersion = ip('-V').trim();
  console.log(`node ${process.version}, ${ipVersion}, kernel ${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`);
  console.log(`${VETHS} veths (peers over ${TARGETS} namespaces), ${NAMESPACES} namespaces, median of ${ROUNDS} rounds\n`);

  const contenders = [nsnetContender(), ipBatchContender(), ipPerOpContender()];
  const rounds = Object.fromEntries(contenders.map((c) => [c.prefix, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const contender of contenders) {
      process.stdout.write(`round ${round}/${ROUNDS}: ${contender.label} ...`);
      const start = performance.now();
      rounds[contender.prefix].push(await runContender(contender));
      console.log(` ${((performance.now() - start) / 1000).toFixed(1)} s`);
    }
  }
  console.log();
  printTable(Object.fromEntries(Object.entries(rounds).map(([prefix, runs]) => [prefix, medians(runs)])));
}

main().catch((error) => {
  console.error(`\nbenchmark aborted: ${error.message}`);
  process.exit(1);
});
