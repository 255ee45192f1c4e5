// Benchmark: containers on an overlay network, on two simulated hosts
// (test/hosts.mjs) with etcd on the underlay (test/etcd.mjs).
//   - setupContainer and teardownContainer on host A, one at a time: on an
//     overlay network against a bridge network of the same host, and the
//     kernel's floor (floor.c) measured in the same run;
//   - the time from the start of a setupContainer on A until host B's VXLAN
//     device holds the container's FDB and neighbour entries (B's kernel
//     can reach it), read on B's CLOCK_MONOTONIC, which A's shares.
//
//   scripts/sandbox node bench/overlay-setup.mjs
//
// Rounds alternate the networks (NSNET_BENCH_ROUNDS, 5, of NSNET_BENCH_PER_ROUND,
// 20, containers each); prints medians and ratios.
import { startEtcd } from '../test/etcd.mjs';
import { createHosts } from '../test/hosts.mjs';
import { measureFloor, timesFloor } from './floor.mjs';

const ROUNDS = Number(process.env.NSNET_BENCH_ROUNDS || 5);
const PER_ROUND = Number(process.env.NSNET_BENCH_PER_ROUND || 20);
const OVERLAY = 'ovbench';
const BRIDGE = 'brbench';
const VXLAN = 'nsvx-ovbench';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Steps run in a host's worker: their source is sent, so they name nothing of this module.

/** Sets up `count` containers one at a time, then tears them down one at a time: each one's setup and teardown in ms, and when its setup began (ns, monotonic). */
async function setUpAndDown(nsnet, { network, count, macs }) {
  const timings = [];
  for (let i = 0; i < count; i++) {
    const began = process.hrtime.bigint();
    await nsnet.setupContainer(`${network}-${i}`, { network, ...(macs ? { mac: macs[i] } : {}) });
    timings.push({ setup: Number(process.hrtime.bigint() - began) / 1e6, began: began.toString() });
  }
  // The other host has had its entries meanwhile: its watcher is done before the teardowns are timed.
  await new Promise((resolve) => setTimeout(resolve, macs ? 300 : 0));
  for (let i = 0; i < count; i++) {
    const began = process.hrtime.bigint();
    await nsnet.teardownContainer(`${network}-${i}`);
    timings[i].teardown = Number(process.hrtime.bigint() - began) / 1e6;
  }
  return timings;
}

/** Listens to the kernel's neighbour events on the VXLAN device (no polling); when each of `macs` got its IPv4 neighbour entry, the last of its entries applyRemotes adds (ns, monotonic). */
async function watchFor(nsnet, { vxlan, macs, timeoutMs }, keep) {
  const host = nsnet.NetNamespace.host();
  const events = host.events({ neighbours: true });
  await events.opened;
  keep.watching = true;
  const seen = new Map();
  const timer = setTimeout(() => events.close(), timeoutMs);
  for await (const event of events) {
    if (event.type === 'neighbour' && event.action === 'new' && event.family === 4 && event.dev === vxlan && macs.includes(event.mac) && !seen.has(event.mac)) {
      seen.set(event.mac, process.hrtime.bigint().toString());
      if (seen.size === macs.length) break;
    }
  }
  clearTimeout(timer);
  return macs.map((mac) => seen.get(mac) ?? null);
}

/** Whether watchFor is listening. */
async function watching(nsnet, arg, keep) {
  const listening = keep.watching === true;
  keep.watching = false;
  return listening;
}

const hosts = await createHosts(2);
const [a, b] = hosts.list;
const etcd = await startEtcd({ host: hosts.serviceAddress });
try {
  for (const host of [a, b]) await host.run((nsnet, store) => nsnet.createOverlayNetwork({ name: 'ovbench', subnet: '10.222.0.0/16', store }).then(() => null), etcd.url);
  await a.run((nsnet) => nsnet.createBridgeNetwork({ name: 'brbench', subnet: '10.223.0.0/16' }).then(() => null));
  const results = { [OVERLAY]: { setup: [], teardown: [] }, [BRIDGE]: { setup: [], teardown: [] }, reach: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const network of round % 2 ? [BRIDGE, OVERLAY] : [OVERLAY, BRIDGE]) {
      const macs = network === OVERLAY ? Array.from({ length: PER_ROUND }, (_, i) => `02:ab:${round.toString(16).padStart(2, '0')}:00:00:${i.toString(16).padStart(2, '0')}`) : undefined;
      const watched = macs && b.run(watchFor, { vxlan: VXLAN, macs, timeoutMs: 60000 });
      while (macs && !(await b.run(watching))) await new Promise((resolve) => setTimeout(resolve, 10));
      const timings = await a.run(setUpAndDown, { network, count: PER_ROUND, macs });
      results[network].setup.push(...timings.map((t) => t.setup));
      results[network].teardown.push(...timings.map((t) => t.teardown));
      if (watched) {
        const appeared = await watched;
        for (const [i, at] of appeared.entries()) if (at !== null) results.reach.push(Number(BigInt(at) - BigInt(timings[i].began)) / 1e6);
        if (appeared.includes(null)) console.log(`round ${round}: ${appeared.filter((at) => at === null).length} containers never appeared on B`);
      }
    }
  }
  const floor = await measureFloor(PER_ROUND * 2, { burst: false });
  const fmt = (ms) => `${ms.toFixed(2)} ms`;
  console.log(`${ROUNDS} alternating rounds of ${PER_ROUND} containers on host A, one at a time; medians:`);
  for (const network of [BRIDGE, OVERLAY]) {
    const setup = median(results[network].setup);
    console.log(`  ${network === OVERLAY ? 'overlay' : 'bridge '}  setup ${fmt(setup)} (${timesFloor(setup, floor.setup)} the floor)  teardown ${fmt(median(results[network].teardown))}`);
  }
  console.log(`  overlay / bridge setup: ${(median(results[OVERLAY].setup) / median(results[BRIDGE].setup)).toFixed(2)}x; teardown: ${(median(results[OVERLAY].teardown) / median(results[BRIDGE].teardown)).toFixed(2)}x`);
  console.log(`  kernel floor (floor.c): setup ${fmt(floor.setup)}`);
  const reach = [...results.reach].sort((x, y) => x - y);
  console.log(`  from setup start on A to the entries in B's kernel: p50 ${fmt(median(reach))}, p90 ${fmt(reach[Math.floor(reach.length * 0.9)])}, max ${fmt(reach[reach.length - 1])} (${reach.length} containers)`);
} finally {
  await hosts.close();
  await etcd.stop();
}
