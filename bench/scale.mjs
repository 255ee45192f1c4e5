// Benchmark: one network with many containers (1,000), set up one at a time
// on a /16, then torn down one at a time. Does nsnet slow down as containers
// add up? Printed:
//   - the median setup of containers 1-20 and of the last 20, and their ratio
//     (target: at most 1.2), beside the kernel floor's own (floor.c, the same
//     number of containers, in the same run);
//   - the wall time of `nsnet ps --json`, `nsnet network inspect` and
//     `nsnet topology` with every container up (target: under 150 ms each;
//     median of 5), beside node's own start (`node -e 0`);
//   - this process's memory growth per container (RSS and V8 heap, after a
//     full GC) and the state directory's size per container (du);
//   - the median teardown.
// The kernel is the judge: every address distinct and present after setup
// (oracle.mjs), no namespace left after teardown.
//
//   scripts/sandbox node bench/scale.mjs     (npm run bench runs it too)
//
// NSNET_BENCH_CONTAINERS overrides the 1,000.
import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { measureFloor, timesFloor } from './floor.mjs';
import { checkContainers, checkGone, expectation } from './oracle.mjs';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 1000);
const WINDOW = 20; // as floor.c's
const RUNS = 5;
const NETWORK = 'scale';
const CLI = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'nsnet.js');
const LISTINGS = [['ps', '--json'], ['network', 'inspect', NETWORK], ['topology']];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');

function memory() {
  collectGarbage();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Bytes the state directory takes: apparent size and disk blocks. */
function stateSize() {
  const dir = process.env.NSNET_STATE_DIR;
  const du = (flag) => Number(execFileSync('du', ['-s', flag, dir], { encoding: 'utf8' }).split('\t')[0]);
  return { apparent: du('-b'), disk: du('-k') * 1024 };
}

/** Median wall time of RUNS runs of a program, and its output (the last). */
async function timeProgram(file, args) {
  const times = [];
  let output = '';
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    output = (await promisify(execFile)(file, args, { encoding: 'utf8', maxBuffer: 1 << 28 })).stdout;
    times.push(performance.now() - start);
  }
  return { ms: median(times), output };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') {
    throw new Error('run the benchmark inside a throw-away namespace: scripts/sandbox node bench/scale.mjs');
  }
  if (COUNT < 2 * WINDOW) throw new Error(`NSNET_BENCH_CONTAINERS must be at least ${2 * WINDOW}`);
  await NetNamespace.host().links.list();
  console.log(`\n${COUNT} containers on one network (a /16), set up one at a time, then torn down one at a time\n`);
  const floor = await measureFloor(COUNT, { burst: false });

  await createBridgeNetwork({ name: NETWORK, subnet: '10.155.0.0/16' });
  await teardownContainer((await setupContainer('swarm', { network: NETWORK })).id); // loads and runs the code once, untimed
  const memoryBefore = memory();
  const stateBefore = stateSize();
  const setup = [];
  const expected = new Map();
  for (let i = 0; i < COUNT; i++) {
    const start = performance.now();
    const container = await setupContainer(`s${i}`, { network: NETWORK });
    setup.push(performance.now() - start);
    expected.set(container.id, expectation(container));
  }
  const memoryAfter = memory();
  const stateAfter = stateSize();
  await checkContainers(expected);

  const listings = [];
  for (const args of LISTINGS) listings.push({ label: `nsnet ${args.join(' ')}`, ...(await timeProgram(process.execPath, [CLI, ...args])) });
  const listed = JSON.parse(listings[0].output).containers.length;
  if (listed !== COUNT) throw new Error(`nsnet ps --json lists ${listed} containers, not ${COUNT}`);
  const bareNode = await timeProgram(process.execPath, ['-e', '0']);

  const teardown = [];
  for (let i = 0; i < COUNT; i++) {
    const start = performance.now();
    await teardownContainer(`s${i}`);
    teardown.push(performance.now() - start);
  }
  await checkGone(expected);
  await removeNetwork(NETWORK);

  const early = median(setup.slice(0, WINDOW));
  const late = median(setup.slice(-WINDOW));
  const rows = [
    ['', 'nsnet', 'kernel floor', 'nsnet / floor'],
    [`setup, median of containers 1-${WINDOW} (ms)`, early.toFixed(2), floor.early.toFixed(2), timesFloor(early, floor.early)],
    [`setup, median of containers ${COUNT - WINDOW + 1}-${COUNT} (ms)`, late.toFixed(2), floor.late.toFixed(2), timesFloor(late, floor.late)],
    ['  late / early (target <= 1.2)', `${(late / early).toFixed(2)}x`, `${(floor.late / floor.early).toFixed(2)}x`, ''],
    [`setup, median of all ${COUNT} (ms)`, median(setup).toFixed(2), floor.setup.toFixed(2), timesFloor(median(setup), floor.setup)],
    [`teardown, median of all ${COUNT} (ms)`, median(teardown).toFixed(2), floor.teardown.toFixed(2), `${timesFloor(median(teardown), floor.setup)} floor setup`],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));

  console.log(`\nwith ${COUNT} containers up, wall time of the command (median of ${RUNS}; target < 150 ms):`);
  for (const { label, ms } of listings) console.log(`  ${label.padEnd(32)} ${ms.toFixed(1).padStart(7)} ms`);
  console.log(`  ${'node -e 0 (node starting alone)'.padEnd(32)} ${bareNode.ms.toFixed(1).padStart(7)} ms`);

  console.log(`\nper container set up (growth over ${COUNT}):`);
  console.log(`  this process's RSS            ${kib((memoryAfter.rss - memoryBefore.rss) / COUNT)}`);
  console.log(`  this process's V8 heap used   ${kib((memoryAfter.heapUsed - memoryBefore.heapUsed) / COUNT)}`);
  console.log(`  state directory, apparent     ${kib((stateAfter.apparent - stateBefore.apparent) / COUNT)}`);
  console.log(`  state directory, on disk      ${kib((stateAfter.disk - stateBefore.disk) / COUNT)}`);
  console.log('');
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
