// Benchmark: setupContainer from a warm pool against setupContainer without
// one, one container at a time, against the kernel's floor in the same run.
//
//   scripts/sandbox node bench/pool.mjs
//
// Rounds alternate (pooled, unpooled, ...), each of NSNET_BENCH_CONTAINERS /
// NSNET_BENCH_ROUNDS setups (200 / 4) with one published port, then their
// teardowns (not timed). Pooled setups are timed two ways: with the pool
// full before each one (waited for, untimed: the critical path alone), and
// back to back, the pool topping up behind them as a burst would see it.
// Each setup is checked (address and default route, as `ip -j` reads them).
// The floor is a program that does only the kernel's work per container
// (NSNET_BENCH_FLOOR: its path; run once a round with the round's count, its
// line "setup X" read); without it the floor is left out, and the benchmark
// says so. Prints medians in ms, and ratios to the floor.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 200);
const ROUNDS = Number(process.env.NSNET_BENCH_ROUNDS || 4);
const PER_ROUND = Math.ceil(COUNT / ROUNDS);
const FLOOR = process.env.NSNET_BENCH_FLOOR;
const NETWORK = 'poolbench';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function check(id, address) {
  const [eth0] = JSON.parse(ip('-j', '-n', id, '-4', 'addr', 'show', 'dev', 'eth0'));
  if (eth0?.addr_info[0]?.local !== address) throw new Error(`${id} lacks ${address}`);
  if (!ip('-n', id, 'route', 'show', 'default').includes('via')) throw new Error(`${id} has no default route`);
}

/** The floor's median setup of `count` containers, in ms: in a network namespace of its own, as it makes its bridge each run. */
function floor(count) {
  const out = execFileSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$0" "$1"', FLOOR, String(count)], { encoding: 'utf8' });
  const setup = out.match(/setup ([\d.]+)/);
  if (!setup) throw new Error(`the floor program printed no setup figure: ${out}`);
  return Number(setup[1]);
}

let port = 20000;
let serial = 0;

/** One round: PER_ROUND setups timed, checked, then torn down. */
async function round(times, { pool, waitFull }) {
  const ids = [];
  for (let i = 0; i < PER_ROUND; i++) {
    if (waitFull) await pool.filled();
    const id = `pb${serial++}`;
    const start = performance.now();
    const container = await setupContainer(id, { network: NETWORK, publish: [`${port++}:80`] });
    times.push(performance.now() - start);
    check(id, container.endpoint.ipv4);
    ids.push(id);
  }
  for (const id of ids) await teardownContainer(id);
}

const network = await createBridgeNetwork({ name: NETWORK, subnet: '10.160.0.0/16' });
const pool = network.pool(0);
const times = { floor: [], unpooled: [], full: [], backToBack: [] };
// A warm-up round of each, not counted.
await round([], { pool, waitFull: false });
for (let r = 0; r < ROUNDS; r++) {
  if (FLOOR) times.floor.push(floor(PER_ROUND));
  pool.resize(0);
  await pool.drain();
  await round(times.unpooled, { pool, waitFull: false });
  pool.resize(PER_ROUND);
  await pool.filled();
  await round(times.full, { pool, waitFull: true });
  await pool.filled();
  await round(times.backToBack, { pool, waitFull: false });
}
await removeNetwork(NETWORK);
const floorMs = FLOOR ? median(times.floor) : undefined;

const ratio = (ms) => (floorMs ? ` (${(ms / floorMs).toFixed(2)}x the floor)` : '');
console.log(`setupContainer, one at a time, one published port, ${ROUNDS} alternating rounds of ${PER_ROUND}; medians:`);
if (floorMs) console.log(`  floor (kernel's work only)          ${floorMs.toFixed(3)} ms`);
else console.log('  floor: not measured (set NSNET_BENCH_FLOOR to the floor program)');
console.log(`  unpooled                            ${median(times.unpooled).toFixed(3)} ms${ratio(median(times.unpooled))}`);
console.log(`  pooled, pool full before each        ${median(times.full).toFixed(3)} ms${ratio(median(times.full))}`);
console.log(`  pooled, back to back (pool of ${PER_ROUND})  ${median(times.backToBack).toFixed(3)} ms${ratio(median(times.backToBack))}`);
