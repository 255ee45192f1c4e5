// Where a container's time goes: setupContainer and teardownContainer one at a
// time, and a burst of setups in one process, under V8's sampling profiler.
// For each it prints, per container and beside the kernel floor (floor.c)
// measured in the same run:
//   - the wall time, the event loop's busy time (the JS thread's own work:
//     JavaScript, and the system calls it makes itself) and the process's CPU
//     time (every thread: the JS thread, the addon's jobs on the thread pool,
//     and the kernel's work done for them);
//   - the JS thread's busy time split by source file of nsnet (a system call
//     or an addon call counts for the file that made it), with the garbage
//     collector and V8's own work apart; the largest first.
// The profiler slows everything down, and more than evenly: the figures come
// from a run without it, the split from a second run with it (its shares of
// the busy time, applied to the first run's).
//
//   scripts/sandbox node bench/where.mjs [--containers N] [--top K] [--dns]
//
// Without --dns the network resolves no names (dns: false), so that the
// resolver's share does not hide the rest; with it, as a user network is.
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { measureFloor, settleKernel, timesFloor } from './floor.mjs';

const { values: options } = parseArgs({
  options: { containers: { type: 'string', default: '200' }, top: { type: 'string', default: '12' }, dns: { type: 'boolean', default: false } },
});
const COUNT = Number(options.containers);
const TOP = Number(options.top);
const NETWORK = 'nsnet-where';
const DIST = `${path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'dist')}/`;
const SAMPLE_US = 200;

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: SAMPLE_US });

/** Wall, event loop busy and CPU time of `work`, in ms; with `profile`, V8's profile of it too. */
async function measured(work, profile = false) {
  if (profile) await session.post('Profiler.start');
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const start = performance.now();
  await work();
  const wall = performance.now() - start;
  const busy = performance.eventLoopUtilization(loop).active;
  const { user, system } = process.cpuUsage(cpu);
  const result = { wall, busy, cpu: (user + system) / 1000 };
  if (profile) result.profile = (await session.post('Profiler.stop')).profile;
  return result;
}

/** Busy time by nsnet source file (a sample counts for the innermost nsnet frame on its stack), in ms. */
function byFile(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const totals = new Map();
  profile.samples.forEach((id, i) => {
    const leaf = nodes.get(id).callFrame;
    if (leaf.functionName === '(idle)') return;
    let key = ['(garbage collector)', '(program)'].includes(leaf.functionName) ? leaf.functionName : undefined;
    for (let at = id; !key && at !== undefined; at = parents.get(at)) {
      const { url } = nodes.get(at).callFrame;
      if (url === 'node:inspector') return; // the profiler's own work, handing over its profile
      if (url.includes(DIST)) key = url.slice(url.indexOf(DIST) + DIST.length).replace(/\.js$/, '');
    }
    key ??= '(node, outside nsnet)';
    totals.set(key, (totals.get(key) ?? 0) + profile.timeDeltas[i] / 1000);
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

function report(title, run, profiled, floor) {
  const each = (ms) => `${(ms / COUNT).toFixed(3)} ms`;
  console.log(`\n${title}: wall ${each(run.wall)} (${timesFloor(run.wall / COUNT, floor)} the floor's ${floor} ms), event loop busy ${each(run.busy)}, CPU ${each(run.cpu)}`);
  const split = byFile(profiled.profile);
  const sampled = split.reduce((sum, [, ms]) => sum + ms, 0);
  console.log("  the event loop's busy time by file, per container (share of the profiled run's, applied to this run's):");
  for (const [file, ms] of split.slice(0, TOP)) {
    const share = ms / sampled;
    console.log(`    ${((share * run.busy) / COUNT * 1000).toFixed(0).padStart(6)} µs  ${(share * 100).toFixed(0).padStart(3)}%  ${file}`);
  }
}

const floor = await measureFloor(COUNT, { burst: true });
await createBridgeNetwork({ name: NETWORK, subnet: '10.153.0.0/16', dns: options.dns });
try {
  const ids = Array.from({ length: COUNT }, (_, i) => `where-${i}`);
  // Warm: the code paths compiled, the bridge's first ports made.
  for (const id of ids.slice(0, 20)) await setupContainer(id, { network: NETWORK });
  for (const id of ids.slice(0, 20)) await teardownContainer(id);
  const oneByOne = (profile) => measured(async () => {
    for (const id of ids) await setupContainer(id, { network: NETWORK });
  }, profile);
  const teardowns = (profile) => measured(async () => {
    for (const id of ids) await teardownContainer(id);
  }, profile);
  const burst = (profile) => measured(() => Promise.all(ids.map((id) => setupContainer(id, { network: NETWORK }))), profile);
  // Each run starts once the kernel has cleaned up the namespaces deleted before it.
  const runs = { setup: [], teardown: [], burst: [] };
  for (const profile of [false, true]) {
    await settleKernel();
    runs.setup.push(await oneByOne(profile));
    runs.teardown.push(await teardowns(profile));
    await settleKernel();
    runs.burst.push(await burst(profile));
    await Promise.all(ids.map((id) => teardownContainer(id)));
  }
  console.log(`${COUNT} containers on a bridge network${options.dns ? ' that resolves names' : ' (dns: false)'}; profiled runs sampled every ${SAMPLE_US} µs`);
  report('setup, one at a time', ...runs.setup, floor.setup);
  report('teardown, one at a time', ...runs.teardown, floor.setup);
  report(`setup, ${COUNT} at once (Promise.all)`, ...runs.burst, floor.burst.setup);
} finally {
  await removeNetwork(NETWORK, { force: true });
}
