// Benchmark: how fast a for-await loop consumes ns.events().
//
//   scripts/sandbox node bench/events.mjs
//
// In one namespace with a bridge, each round:
//   1. live: `ip -batch` adds N routes (one process, so this one's event
//      loop only reads) while a for-await loop counts their events: events
//      per second from the first to the last, and whether it kept up (no
//      overrun). The kernel's own rate is the limit: the same batch with
//      nobody listening is timed too, and the ratio printed.
//   2. backlog: the same with the loop asleep until the batch is done, then
//      the queued events (up to the native queue's bound) consumed: the
//      consumer's own rate, parse and yield, with no producer to wait for.
// Routes (/32s on the bridge), not addresses: the kernel adds a route in
// about 10 us, while an address takes longer the more the device has (20,000
// IPv4 addresses on one device, some 20 s): the producer would be timed.
// NSNET_BENCH_EVENTS overrides N (default 20,000), NSNET_BENCH_ROUNDS the
// number of rounds (default 3; the table shows medians).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';

import { NetNamespace } from '../dist/index.js';

const N = countFromEnv('NSNET_BENCH_EVENTS', 20000);
const ROUNDS = countFromEnv('NSNET_BENCH_ROUNDS', 3);

/** A count from the environment: a whole number up to 65,000 (the routes' 10.R.x.y/32 names). */
function countFromEnv(name, fallback) {
  const value = Number(process.env[name] || fallback);
  if (Number.isInteger(value) && value >= 1 && value <= 65_000) return value;
  console.error(`${name} must be an integer from 1 to 65000, not ${JSON.stringify(process.env[name])}`);
  process.exit(2);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs `ip -n NS -batch -` on these lines; resolves to its wall time in ms. */
async function ipBatch(ns, lines) {
  const started = performance.now();
  const child = spawn('ip', ['-n', ns.name, '-batch', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin.end(lines.join('\n') + '\n');
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`ip -batch exited with ${code}`);
  return performance.now() - started;
}

const addLines = (round) => Array.from({ length: N }, (_, i) => `route add 10.${100 + round}.${i >> 8}.${i & 255}/32 dev b0`);
const flush = (ns) => ipBatch(ns, ['route flush dev b0']);

/** Counts route events of this round until N have come (or the batch ended past a loss). */
async function consume(events, prefix, produced) {
  let count = 0;
  let overruns = 0;
  let first;
  let last;
  let batchDone = false;
  produced.then(() => (batchDone = true));
  const quiet = () => setTimeout(() => batchDone && events.close(), 1000);
  let timer = quiet();
  for await (const event of events) {
    clearTimeout(timer);
    timer = quiet();
    if (event.type === 'overrun') overruns += 1;
    else if (event.action === 'new' && event.dst.startsWith(prefix)) {
      first ??= performance.now();
      last = performance.now();
      if (++count === N) break;
    }
  }
  clearTimeout(timer);
  events.close();
  return { count, overruns, perSecond: count > 1 ? ((count - 1) * 1000) / (last - first) : 0, elapsed: last - first };
}

async function liveRound(ns, round) {
  const events = ns.events({ routes: true });
  await events.opened;
  const produced = ipBatch(ns, addLines(round));
  const result = await consume(events, `10.${100 + round}.`, produced);
  result.produce = await produced;
  await flush(ns);
  return result;
}

async function backlogRound(ns, round) {
  const events = ns.events({ routes: true });
  await events.opened;
  await ipBatch(ns, addLines(round));
  const result = await consume(events, `10.${100 + round}.`, Promise.resolve());
  await flush(ns);
  return result;
}

async function aloneRound(ns, round) {
  const elapsed = await ipBatch(ns, addLines(round));
  await flush(ns);
  return elapsed;
}

const ns = await NetNamespace.create(`bench-events-${process.pid}`);
try {
  await ns.links.add({ kind: 'bridge', name: 'b0', up: true });
  const live = [];
  const backlog = [];
  const alone = [];
  for (let round = 0; round < ROUNDS; round++) {
    alone.push(await aloneRound(ns, round));
    live.push(await liveRound(ns, round));
    backlog.push(await backlogRound(ns, round));
  }
  const kernelRate = (N * 1000) / median(alone);
  const liveRate = median(live.map((r) => r.perSecond));
  const backlogRate = median(backlog.map((r) => r.perSecond));
  console.log(`ns.events(): ${N} route adds by one ip -batch, ${ROUNDS} rounds (medians)`);
  console.log(`  kernel alone (ip -batch, nobody listening) ${Math.round(kernelRate).toLocaleString('en')} adds/s`);
  console.log(
    `  live: for-await consumed                  ${Math.round(liveRate).toLocaleString('en')} events/s ` +
      `(${(liveRate / kernelRate).toFixed(2)} x the kernel's rate), ${live.map((r) => r.count).join('/')} of ${N} events, ` +
      `${live.reduce((sum, r) => sum + r.overruns, 0)} overruns`,
  );
  console.log(
    `  backlog: queued events consumed           ${Math.round(backlogRate).toLocaleString('en')} events/s ` +
      `(${backlog.map((r) => r.count).join('/')} queued before the loss, ${backlog.map((r) => r.overruns).join('/')} overruns)`,
  );
} finally {
  await ns.delete();
}
