// Benchmark: many containers at once on one bridge network. A burst of 200
// setupContainer calls with Promise.all in one process; then 4 node processes
// of 50 each at once (started and warmed up before the timer, released
// together); then all 200 torn down at once the same way. Without and then
// with one published port each. Before the timer each process sets up and
// tears down one container, so that the burst does not time node loading
// nsnet.
//
// Printed: wall time, and wall time / count ("amortised" ms per container),
// as multiples of the kernel's floor in the same run (floor.c one container at
// a time, and `floor N burst`: every namespace, then the veths 32 to a
// request, then each configuration). After each burst the kernel is the
// judge (oracle.mjs): every address and host port present and distinct, and
// after the teardown none left. It stops with an error otherwise.
//
//   scripts/sandbox node bench/bursts.mjs     (npm run bench runs it too)
//
// NSNET_BENCH_BURST overrides the count (200), NSNET_BENCH_PROCESSES the
// number of processes (4).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { measureFloor, timesFloor } from './floor.mjs';
import { checkContainers, checkGone, expectation } from './oracle.mjs';

const COUNT = Number(process.env.NSNET_BENCH_BURST || 200);
const PROCESSES = Number(process.env.NSNET_BENCH_PROCESSES || 4);
const NETWORK = 'burst';
const PORT_BASE = 20000;
const WORKER = path.join(path.dirname(new URL(import.meta.url).pathname), 'burst-worker.mjs');

/** Waits until the kernel has removed the veths of deleted namespaces, so the next burst starts even. */
async function settle(bridge) {
  const deadline = Date.now() + 60000;
  while (JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'master', bridge], { encoding: 'utf8' }) || '[]').length > 0) {
    if (Date.now() > deadline) throw new Error(`veths of deleted namespaces still on ${bridge} after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function timed(work) {
  const start = performance.now();
  const result = await work();
  return { ms: performance.now() - start, result };
}

/** The whole burst in this process. */
async function oneProcess(withPort) {
  const publish = (i) => (withPort ? [`${PORT_BASE + i}:80`] : []);
  await teardownContainer((await setupContainer('bwarm', { network: NETWORK })).id);
  const ids = Array.from({ length: COUNT }, (_, i) => `b${i}`);
  const setup = await timed(() => Promise.all(ids.map((id, i) => setupContainer(id, { network: NETWORK, publish: publish(i) }))));
  const expected = new Map(setup.result.map((c) => [c.id, expectation(c)]));
  await checkContainers(expected);
  const teardown = await timed(() => Promise.all(ids.map((id) => teardownContainer(id))));
  return { setup: setup.ms, teardown: teardown.ms, expected };
}

/** COUNT / PROCESSES containers in each of PROCESSES node processes, released together. */
async function manyProcesses(withPort) {
  const share = Math.floor(COUNT / PROCESSES);
  const workers = Array.from({ length: PROCESSES }, (_, w) => {
    const child = spawn(process.execPath, [WORKER, NETWORK, `p${w}c`, String(share), withPort ? String(PORT_BASE + w * share) : 'none'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`burst worker ${w} ended early (status ${child.exitCode})`);
      return value;
    };
    return { child, next };
  });
  const all = (command) => Promise.all(workers.map(async (worker) => {
    if (command) worker.child.stdin.write(`${command}\n`);
    return worker.next();
  }));
  await all(); // each says "ready"
  const setup = await timed(() => all('setup'));
  const expected = new Map(setup.result.flatMap((line) => JSON.parse(line)));
  await checkContainers(expected);
  const teardown = await timed(() => all('teardown'));
  await Promise.all(workers.map(({ child }) => {
    child.stdin.end();
    return child.exitCode === null ? once(child, 'exit') : undefined;
  }));
  return { setup: setup.ms, teardown: teardown.ms, expected };
}

function printTable(floor, results) {
  const rows = [[
    'burst', 'setup wall ms', 'per container', '/ floor setup', `/ floor ${COUNT} burst`,
    'teardown wall ms', 'per container', '/ floor setup', `/ floor ${COUNT} burst teardown`,
  ]];
  const floorRows = [
    { label: 'kernel floor, one at a time (medians)', setup: floor.setup * COUNT, teardown: floor.teardown * COUNT },
    { label: `kernel floor, ${COUNT} burst`, setup: floor.burst.setup * COUNT, teardown: floor.burst.teardown * COUNT },
  ];
  for (const r of [...floorRows, ...results]) {
    const [setupEach, teardownEach] = [r.setup / COUNT, r.teardown / COUNT];
    rows.push([
      r.label, r.setup.toFixed(0), setupEach.toFixed(3), timesFloor(setupEach, floor.setup), timesFloor(setupEach, floor.burst.setup),
      r.teardown.toFixed(0), teardownEach.toFixed(3), timesFloor(teardownEach, floor.setup), timesFloor(teardownEach, floor.burst.teardown),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') {
    throw new Error('run the benchmark inside a throw-away namespace: scripts/sandbox node bench/bursts.mjs');
  }
  if (COUNT % PROCESSES !== 0) throw new Error(`NSNET_BENCH_BURST (${COUNT}) must be a multiple of NSNET_BENCH_PROCESSES (${PROCESSES})`);
  await NetNamespace.host().links.list();
  console.log(`\n${COUNT} containers at once on one bridge network, then torn down at once; ms per container = wall time / ${COUNT}\n`);
  for (const withPort of [false, true]) {
    const floor = await measureFloor(COUNT, { port: withPort });
    const network = await createBridgeNetwork({ name: NETWORK, subnet: '10.154.0.0/16' });
    const results = [];
    for (const [label, burst] of [
      [`1 process, Promise.all of ${COUNT}`, oneProcess],
      [`${PROCESSES} processes of ${COUNT / PROCESSES}`, manyProcesses],
    ]) {
      await settle(network.bridge);
      const result = await burst(withPort);
      await checkGone(result.expected);
      results.push({ label, ...result });
    }
    await settle(network.bridge);
    await removeNetwork(NETWORK);
    console.log(withPort ? 'with one published port each:' : 'no published port:');
    printTable(floor, results);
    console.log('');
  }
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
