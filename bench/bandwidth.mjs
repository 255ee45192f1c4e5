// Benchmark: what a bandwidth limit adds to a container's setup and
// teardown. setupContainer without limits, with an ingress limit only (one
// tbf on the host end), and with both directions (the ifb made and tagged,
// its tbf, the ingress qdisc and redirect filter), one container at a time;
// and, as a peer, the same limits made on an unlimited container by `ip` and
// `tc` processes (one per step, as a script would).
//
//   scripts/sandbox node bench/bandwidth.mjs
//
// Rounds alternate the variants, NSNET_BENCH_CONTAINERS / NSNET_BENCH_ROUNDS
// setups each (120 / 4); each setup is checked with `tc -j qdisc show`, and
// teardowns are timed too. Prints medians in ms and the difference to the
// setup without limits.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 120);
const ROUNDS = Number(process.env.NSNET_BENCH_ROUNDS || 4);
const PER_ROUND = Math.ceil(COUNT / ROUNDS);
const NETWORK = 'bwbench';
const BOTH = { ingress: { rate: '100mbit' }, egress: { rate: '100mbit' } };

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const run = (command, ...args) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function check(hostEnd, kinds) {
  const found = JSON.parse(run('tc', '-j', 'qdisc', 'show', 'dev', hostEnd)).map((q) => q.kind);
  for (const kind of kinds) if (!found.includes(kind)) throw new Error(`${hostEnd} lacks a ${kind} qdisc: ${found}`);
}

/** The limits of BOTH made by processes, as a script with ip and tc would. */
function byProcesses(hostEnd, ifb) {
  run('ip', 'link', 'add', ifb, 'type', 'ifb');
  run('ip', 'link', 'set', ifb, 'up');
  run('tc', 'qdisc', 'add', 'dev', hostEnd, 'root', 'tbf', 'rate', '100mbit', 'burst', '125000', 'latency', '25ms');
  run('tc', 'qdisc', 'add', 'dev', hostEnd, 'ingress');
  run('tc', 'filter', 'add', 'dev', hostEnd, 'parent', 'ffff:', 'protocol', 'all', 'prio', '1', 'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', ifb);
  run('tc', 'qdisc', 'add', 'dev', ifb, 'root', 'tbf', 'rate', '100mbit', 'burst', '125000', 'latency', '25ms');
}

const variants = {
  none: { options: {}, kinds: [] },
  ingress: { options: { bandwidth: { ingress: BOTH.ingress } }, kinds: ['tbf'] },
  both: { options: { bandwidth: BOTH }, kinds: ['tbf', 'ingress'] },
  processes: { options: {}, kinds: ['tbf', 'ingress'], after: byProcesses },
};

let serial = 0;

async function round(name, times) {
  const { options, kinds, after } = variants[name];
  const ids = [];
  for (let i = 0; i < PER_ROUND; i++) {
    const id = `bw${serial++}`;
    const start = performance.now();
    const container = await setupContainer(id, { network: NETWORK, ...options });
    if (after) after(container.endpoint.hostIfname, `ifbp${serial}`);
    times.setup.push(performance.now() - start);
    check(container.endpoint.hostIfname, kinds);
    ids.push([id, `ifbp${serial}`]);
  }
  for (const [id, ifb] of ids) {
    const start = performance.now();
    await teardownContainer(id);
    if (after) run('ip', 'link', 'del', ifb);
    times.teardown.push(performance.now() - start);
  }
}

await createBridgeNetwork({ name: NETWORK, subnet: '10.161.0.0/16', firewall: 'none' });
const times = Object.fromEntries(Object.keys(variants).map((name) => [name, { setup: [], teardown: [] }]));
for (const name of Object.keys(variants)) await round(name, { setup: [], teardown: [] }); // warm-up
for (let r = 0; r < ROUNDS; r++) for (const name of Object.keys(variants)) await round(name, times[name]);
await removeNetwork(NETWORK);

const base = { setup: median(times.none.setup), teardown: median(times.none.teardown) };
const labels = { none: 'no limit', ingress: 'ingress limit (tbf)', both: 'both directions (tbf, ifb + tbf)', processes: 'both, by ip/tc processes' };
console.log(`setupContainer / teardownContainer, one at a time, ${ROUNDS} alternating rounds of ${PER_ROUND}; medians:`);
for (const [name, { setup, teardown }] of Object.entries(times)) {
  const s = median(setup);
  const t = median(teardown);
  const delta = name === 'none' ? '' : `  (+${(s - base.setup).toFixed(3)} / +${(t - base.teardown).toFixed(3)} ms)`;
  console.log(`  ${labels[name].padEnd(34)} setup ${s.toFixed(3)} ms, teardown ${t.toFixed(3)} ms${delta}`);
}
