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
// Each setup is checked (address and default route, as `ip -j` reads them),
// after the round's last.
// The floor (bench/floor.c: only the kernel's work per container, with a
// published port) runs once a round with the round's count. Prints medians
// in ms, and ratios to the floor; beside them, the kernel's part of what a
// pooled setup still does (the floor's `configure` and `port` steps: lo and
// eth0 up, the address and route, the map element; the pool does the two
// links ahead, so this is more than its part), and how long the JS thread
// was on a CPU during each setup (its schedstat: the state files, the
// requests' encoding, the promise hops; what is not overlapped with it is
// the wait for the kernel and the thread pool).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { measureFloor } from './floor.mjs';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 200);
const ROUNDS = Number(process.env.NSNET_BENCH_ROUNDS || 4);
const PER_ROUND = Math.ceil(COUNT / ROUNDS);
const NETWORK = 'poolbench';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** Time the JS thread (the process's first) has been on a CPU, in ms. */
const onCpu = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function check(id, address) {
  const [eth0] = JSON.parse(ip('-j', '-n', id, '-4', 'addr', 'show', 'dev', 'eth0'));
  if (eth0?.addr_info[0]?.local !== address) throw new Error(`${id} lacks ${address}`);
  if (!ip('-n', id, 'route', 'show', 'default').includes('via')) throw new Error(`${id} has no default route`);
}

let port = 20000;
let serial = 0;

/**
 * One round: PER_ROUND setups timed, then checked (after the last, as in
 * containers.mjs: the `ip` processes of a check made the next setup slower),
 * then torn down.
 */
async function round(times, { pool, waitFull, cpu = [] }) {
  const ids = [];
  const addresses = [];
  for (let i = 0; i < PER_ROUND; i++) {
    if (waitFull) await pool.filled();
    const id = `pb${serial++}`;
    const cpuBefore = onCpu();
    const start = performance.now();
    const container = await setupContainer(id, { network: NETWORK, publish: [`${port++}:80`] });
    times.push(performance.now() - start);
    cpu.push(onCpu() - cpuBefore);
    ids.push(id);
    addresses.push(container.endpoint.ipv4);
  }
  ids.forEach((id, i) => check(id, addresses[i]));
  for (const id of ids) await teardownContainer(id);
}

const network = await createBridgeNetwork({ name: NETWORK, subnet: '10.160.0.0/16' });
const pool = network.pool(0);
const times = { floor: [], kernelPart: [], unpooled: [], full: [], backToBack: [], unpooledCpu: [], fullCpu: [] };
// A warm-up round of each, not counted.
await round([], { pool, waitFull: false });
for (let r = 0; r < ROUNDS; r++) {
  const floor = await measureFloor(PER_ROUND, { port: true, burst: false });
  times.floor.push(floor.setup);
  times.kernelPart.push(floor.configure + floor.port);
  pool.resize(0);
  await pool.drain();
  await round(times.unpooled, { pool, waitFull: false, cpu: times.unpooledCpu });
  pool.resize(PER_ROUND);
  await pool.filled();
  await round(times.full, { pool, waitFull: true, cpu: times.fullCpu });
  await pool.filled();
  await round(times.backToBack, { pool, waitFull: false });
}
await removeNetwork(NETWORK);
const floorMs = median(times.floor);

const ratio = (ms) => ` (${(ms / floorMs).toFixed(2)}x the floor)`;
const row = (label, values) => console.log(`  ${label.padEnd(44)}${median(values).toFixed(3)} ms${ratio(median(values))}`);
console.log(`setupContainer, one at a time, one published port, ${ROUNDS} alternating rounds of ${PER_ROUND}; medians:`);
console.log(`  ${"floor (kernel's work only)".padEnd(44)}${floorMs.toFixed(3)} ms`);
row("the floor's configure + port steps", times.kernelPart);
row('unpooled', times.unpooled);
row('  its JS thread on a CPU', times.unpooledCpu);
row('pooled, pool full before each', times.full);
row('  its JS thread on a CPU', times.fullCpu);
row(`pooled, back to back (pool of ${PER_ROUND})`, times.backToBack);
