// Benchmark: does a container cost more when a thousand others are alive?
// NSNET_BENCH_CONTAINERS (1,000) containers on one /16 bridge network, set up
// one at a time, then torn down last first, without and then with one
// published port each; prints the median time per container in windows:
// containers 1-20, the 20 before the middle and the last 20 (for teardown:
// how many were alive). Twice:
//
//   records   nsnet's own work, no kernel: what a connect does under the
//             state lock (lease, host port, endpoint record, marked ready)
//             and what a teardown does (ports owned, leases, ports, record),
//             for endpoints of namespaces that are not made;
//   whole     setupContainer / teardownContainer.
//
// What the kernel itself adds as a bridge gains ports is the floor's first
// and last 20 (bench/floor.c), which bench/scale.mjs prints beside nsnet's:
//
//   scripts/sandbox node bench/scale-records.mjs
import { performance } from 'node:perf_hooks';

import { portsOwnedBy } from '../dist/firewall/ports.js';
import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { checkConnectInput } from '../dist/network/connect-options.js';
import { markReady, planEndpoint, recordEndpoint } from '../dist/network/endpoint-plan.js';
import { forgetEndpointLocked } from '../dist/network/teardown.js';
import { currentStore } from '../dist/state/store.js';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 1000);
if (COUNT < 60) throw new Error('NSNET_BENCH_CONTAINERS must be at least 60');
const NETWORK = 'scale';
const WINDOWS = [[1, 20], [Math.floor(COUNT / 2) - 19, Math.floor(COUNT / 2)], [COUNT - 19, COUNT]];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const publish = (withPort, i) => (withPort ? [`${20000 + i}:80`] : []);

async function timed(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** The records of COUNT endpoints, in namespaces that are not made (a path and an inode). */
async function records(withPort) {
  const store = currentStore();
  const network = await store.read('networks', NETWORK);
  const endpoints = [];
  const setup = [];
  const teardown = [];
  for (let i = 1; i <= COUNT; i++) {
    const input = checkConnectInput({ publish: publish(withPort, i) });
    const ns = { path: `/run/netns/scale-unmade${i}`, inode: 9000000 + i, label: `namespace scale-unmade${i}` };
    setup[i] = await timed(async () => {
      const { record } = await recordEndpoint(network, ns, planEndpoint(network, input));
      await markReady(network, { ...record, status: 'ready' });
      endpoints[i] = record;
    });
  }
  for (let i = COUNT; i >= 1; i--) {
    const record = endpoints[i];
    teardown[i] = await timed(() =>
      store.locked(async () => {
        await portsOwnedBy(store, record.ports, record.id);
        await forgetEndpointLocked(record);
      }),
    );
  }
  return { setup, teardown };
}

async function whole(withPort) {
  const setup = [];
  const teardown = [];
  for (let i = 1; i <= COUNT; i++) setup[i] = await timed(() => setupContainer(`sc${i}`, { network: NETWORK, publish: publish(withPort, i) }));
  for (let i = COUNT; i >= 1; i--) teardown[i] = await timed(() => teardownContainer(`sc${i}`));
  return { setup, teardown };
}

const cell = (times, [a, b]) => median(times.slice(a, b + 1)).toFixed(3).padStart(12);
console.log(`${COUNT} containers on one /16 network, set up one at a time, then torn down last first; ms per container, medians`);
console.log(`${''.padEnd(34)}${WINDOWS.map(([a, b]) => `${a}-${b}`.padStart(12)).join('')}   last / first`);
await createBridgeNetwork({ name: NETWORK, subnet: '10.152.0.0/16' });
for (const withPort of [false, true]) {
  for (const [label, run] of [['records', records], ['whole', whole]]) {
    const times = await run(withPort);
    for (const step of ['setup', 'teardown']) {
      const first = median(times[step].slice(1, 21));
      const last = median(times[step].slice(COUNT - 19, COUNT + 1));
      const name = `${withPort ? 'port' : 'no port'}, ${label}, ${step}`;
      console.log(`${name.padEnd(34)}${WINDOWS.map((w) => cell(times[step], w)).join('')}   ${(last / first).toFixed(2)}x`);
    }
  }
}
await removeNetwork(NETWORK);
