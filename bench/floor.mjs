// The kernel's floor (floor.c) for the benchmarks: built once with `cc -O2`
// (again only when floor.c is newer than the program), run inside the
// caller's sandbox, its figures parsed. Every benchmark prints its figures as
// ratios to these, measured in the same run.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const SOURCE = path.join(path.dirname(new URL(import.meta.url).pathname), 'floor.c');
const BINARY = path.join(tmpdir(), `nsnet-bench-${process.getuid()}`, 'floor');

function build() {
  const built = fs.statSync(BINARY, { throwIfNoEntry: false });
  if (built && built.mtimeMs >= fs.statSync(SOURCE).mtimeMs) return BINARY;
  fs.mkdirSync(path.dirname(BINARY), { recursive: true });
  const partial = `${BINARY}.${process.pid}`; // benchmarks started together must not run a half-written program
  try {
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', partial, SOURCE, '-lpthread'], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`cannot build ${SOURCE} with cc (the C compiler that builds the addon): ${error.message}`);
  }
  fs.renameSync(partial, BINARY);
  return BINARY;
}

const STEPS = ['netns', 'veth', 'configure', 'port', 'setup', 'teardown'];
const SETTLE_TIMEOUT_MS = 60000;

/**
 * Waits until the kernel has finished tearing down the namespaces deleted so
 * far (it does so on a worker, after the deletion returned, for milliseconds
 * per namespace), so that this work does not slow down what runs next.
 * Namespaces are cleaned up in order: once a sentinel namespace deleted last
 * has lost its veth (whose host end then disappears), the earlier ones are
 * done too.
 */
export async function settleKernel() {
  const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const sentinel = `settle-${process.pid}`; // also an interface name: 15 characters at most
  ip('netns', 'add', sentinel);
  ip('link', 'add', sentinel, 'type', 'veth', 'peer', 'name', 'settle-peer', 'netns', sentinel);
  ip('netns', 'del', sentinel);
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (ip('-br', 'link', 'show', 'type', 'veth').split('\n').some((line) => line.startsWith(`${sentinel}@`) || line.startsWith(`${sentinel} `))) {
    if (Date.now() > deadline) throw new Error(`the kernel did not clean up deleted namespaces within ${SETTLE_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs floor once: { netns, veth, configure, port, setup, teardown } in ms;
 * one at a time also { early, late }, the median setup of the first and of
 * the last 20 containers.
 */
async function runFloor(args) {
  const { stdout } = await promisify(execFile)(build(), args.map(String), { encoding: 'utf8' }).catch((error) => {
    throw new Error(`floor ${args.join(' ')} failed: ${(error.stderr || error.message).trim()}`);
  });
  const figures = {};
  const figure = (name) => stdout.match(new RegExp(`\\b${name} ([0-9.]+)`))?.[1];
  for (const step of STEPS) {
    if (!figure(step)) throw new Error(`floor ${args.join(' ')}: no ${step} figure in: ${stdout.trim()}`);
    figures[step] = Number(figure(step));
  }
  for (const extra of ['early', 'late']) if (figure(extra)) figures[extra] = Number(figure(extra));
  return figures;
}

/**
 * The floor for `count` containers: medians one at a time, and `burst`
 * (all `count` at once, ms per container). With `port`, each container also
 * publishes one port (a map element), counted in `setup` and `teardown`.
 * Returns once the kernel has cleaned up the floor's namespaces: a
 * contender measured right after would otherwise share the CPU and the
 * kernel's locks with that work.
 */
export async function measureFloor(count, { port = false, burst = true } = {}) {
  const flags = port ? ['--port'] : [];
  const figures = await runFloor([count, ...flags]);
  await settleKernel();
  if (burst) {
    figures.burst = await runFloor([count, 'burst', ...flags]);
    await settleKernel();
  }
  return figures;
}

/**
 * The floor of a routed network's `count` containers, all kept until the
 * end (`floor N routed [ipv6]`): per step, the median of the first and of
 * the last 100 setups, { netns, veth, configure, setup: { first, last } },
 * in ms; veth counts the host's routes to the container too.
 */
export async function measureRoutedFloor(count, { dualStack = false } = {}) {
  const args = [count, 'routed', ...(dualStack ? ['ipv6'] : [])];
  const { stdout } = await promisify(execFile)(build(), args.map(String), { encoding: 'utf8' }).catch((error) => {
    throw new Error(`floor ${args.join(' ')} failed: ${(error.stderr || error.message).trim()}`);
  });
  await settleKernel();
  const figures = {};
  for (const step of ['netns', 'veth', 'configure', 'setup']) {
    const found = stdout.match(new RegExp(`\\b${step} ([0-9.]+) -> ([0-9.]+)`));
    if (!found) throw new Error(`floor ${args.join(' ')}: no ${step} figures in: ${stdout.trim()}`);
    figures[step] = { first: Number(found[1]), last: Number(found[2]) };
  }
  return figures;
}

/** A ratio as the tables print it: "4.5x", two decimals below 1 ("0.07x"); blank when undefined. */
export function times(ratio) {
  if (ratio === undefined) return '';
  return `${ratio.toFixed(ratio < 1 ? 2 : 1)}x`;
}

/** A figure as a multiple of the floor's. */
export const timesFloor = (value, floor) => times(value / floor);

// Run alone (`scripts/sandbox node bench/floor.mjs [N]`): the floor's figures, without and with a published port.
if (process.argv[1] === new URL(import.meta.url).pathname) {
  const count = Number(process.argv[2] || 200);
  for (const port of [false, true]) {
    const { burst, ...one } = await measureFloor(count, { port });
    console.log(`kernel floor, ${count} containers${port ? ', one published port each' : ''} (ms)`);
    console.log(`  one at a time (medians): ${Object.entries(one).map(([step, ms]) => `${step} ${ms}`).join('  ')}`);
    console.log(`  burst (per container):   ${Object.entries(burst).map(([step, ms]) => `${step} ${ms}`).join('  ')}`);
  }
}
