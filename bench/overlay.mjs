// Benchmark: overlay networks across two simulated hosts (test/hosts.mjs),
// with etcd on the underlay (test/etcd.mjs), in one run:
//   - setupContainer and teardownContainer on host A, one at a time: on an
//     overlay network against a bridge network of the same host, and the
//     kernel's floor (floor.c) measured in the same run;
//   - the time from the start of a setupContainer on A until host B's VXLAN
//     device holds the container's FDB and neighbour entries (B's kernel
//     can reach it), read on B's CLOCK_MONOTONIC, which A's shares;
//   - TCP throughput (iperf3, both ends pinned to one CPU with taskset, as the
//     kernel's figure was taken) between containers of the overlay network on
//     A and B; against a plain veth pair between two namespaces; and against
//     the same topology made by hand with `ip` and `bridge` (a bridge, a
//     VXLAN device with static FDB and neighbour entries, a veth);
//   - the start-up cost of 1,000 remote containers on A's VXLAN device: one
//     applyRemotes batch against 2,000 single requests, each awaited (the
//     same permanent entries in both).
//
//   scripts/sandbox node bench/overlay.mjs
//
// Rounds alternate the variants (NSNET_BENCH_ROUNDS, 5; of NSNET_BENCH_PER_ROUND,
// 20, containers each for setup; iperf3 runs of NSNET_BENCH_SECONDS, 3);
// prints medians and ratios. Without iperf3 the throughput part is skipped,
// with a message.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startEtcd } from '../test/etcd.mjs';
import { createHosts } from '../test/hosts.mjs';
import { measureFloor, timesFloor } from './floor.mjs';

const ROUNDS = Number(process.env.NSNET_BENCH_ROUNDS || 5);
const PER_ROUND = Number(process.env.NSNET_BENCH_PER_ROUND || 20);
const OVERLAY = 'ovbench';
const BRIDGE = 'brbench';
const SECONDS = Number(process.env.NSNET_BENCH_SECONDS || 3);
const REMOTES = 1000;
const IPERF3 = '/usr/bin/iperf3';
const CPU = '0';
const REMOTES_BATCH = fileURLToPath(new URL('../test/workers/remotes-batch.mjs', import.meta.url));
const VXLAN = 'nsvx-ovbench';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Runs commands in the sandbox: `exec(argv)` to the end (its stdout),
 * `start(argv)` in the background (once it prints: a function that awaits its
 * end, or with `stop` ends it by its PID first).
 */
const sandbox = {
  exec: (argv) =>
    new Promise((resolve, reject) => {
      execFile(argv[0], argv.slice(1), { encoding: 'utf8' }, (error, stdout, stderr) => (error ? reject(new Error(`${argv.join(' ')}: ${stderr}${stdout}`)) : resolve(stdout)));
    }),
  async start(argv) {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const ended = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)));
    });
    child.stdout.resume();
    return (stop) => {
      if (stop && child.exitCode === null) child.kill();
      return ended;
    };
  },
};

/** The same, in a simulated host (its namespaces, through its worker). */
function inHost(host) {
  return {
    exec: (argv) => host.exec(argv),
    async start(argv) {
      await host.run(
        async (nsnet, { command }, keep) => {
          const child = require('node:child_process').spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
          keep.background = { child, ended: new Promise((resolve) => child.once('exit', resolve)) };
          await new Promise((resolve, reject) => {
            child.stdout.once('data', resolve);
            child.once('exit', (code) => reject(new Error(`${command.join(' ')} exited with ${code}`)));
          });
          child.stdout.resume();
        },
        { command: argv },
      );
      return (stop) =>
        host.run(
          async (nsnet, { stop: stopIt }, keep) => {
            if (stopIt && keep.background.child.exitCode === null) keep.background.child.kill();
            await keep.background.ended;
          },
          { stop },
        );
    },
  };
}

/**
 * iperf3 between two ends, each `{ runner, enter }` (`enter`: the argv
 * prefix that enters the end's namespace), both pinned to CPU; bits per second.
 */
async function iperf(server, client, to, port) {
  const pinned = ['taskset', '-c', CPU, IPERF3, '-p', String(port)];
  // Flushed at once: a pipe's output would wait in iperf3's buffer, and its first line says it listens.
  const ended = await server.runner.start([...server.enter, ...pinned, '-s', '-1', '--forceflush']);
  let done = false;
  try {
    const out = await client.runner.exec([...client.enter, ...pinned, '-c', to, '-t', String(SECONDS), '-J']);
    done = true;
    return JSON.parse(out).end.sum_received.bits_per_second;
  } finally {
    await ended(!done);
  }
}

/** Two namespaces of the sandbox joined by a veth: 10.216.0.1 and .2. */
function makeVethPair(names) {
  ip('netns', 'add', names[0]);
  ip('netns', 'add', names[1]);
  ip('-n', names[0], 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', names[1]);
  names.forEach((ns, i) => {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'address', 'add', `10.216.0.${i + 1}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
  });
}

/** The namespace of a host's hand-made container (/run/netns is one directory for all hosts). */
const handMadeNs = (host) => `hm${host.netns}`;

/**
 * On each host, by `ip` and `bridge` commands: a bridge, a VXLAN device
 * (nolearning, proxy, VNI 4343, port 4790) on it, a namespace with a veth on
 * it at 10.217.0.<i+10>, and the other host's namespace as static entries.
 */
async function makeHandMadeVxlan(hosts) {
  const macs = [];
  for (const [i, host] of hosts.entries()) {
    const sh = (...argv) => host.exec(argv);
    await sh('ip', 'netns', 'add', handMadeNs(host));
    await sh('ip', 'link', 'add', 'hmbr', 'mtu', '1450', 'type', 'bridge');
    await sh('ip', 'link', 'set', 'hmbr', 'up');
    await sh('ip', 'link', 'add', 'hmvx', 'mtu', '1450', 'type', 'vxlan', 'id', '4343', 'local', host.address, 'dstport', '4790', 'nolearning', 'proxy');
    await sh('ip', 'link', 'set', 'hmvx', 'master', 'hmbr', 'up');
    await sh('ip', 'link', 'add', 'hmve', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', handMadeNs(host));
    await sh('ip', 'link', 'set', 'hmve', 'master', 'hmbr', 'up');
    await sh('ip', '-n', handMadeNs(host), 'link', 'set', 'lo', 'up');
    await sh('ip', '-n', handMadeNs(host), 'address', 'add', `10.217.0.${i + 10}/24`, 'dev', 'eth0');
    await sh('ip', '-n', handMadeNs(host), 'link', 'set', 'eth0', 'up');
    macs.push(JSON.parse(await sh('ip', '-n', handMadeNs(host), '-j', 'link', 'show', 'eth0'))[0].address);
  }
  for (const [i, host] of hosts.entries()) {
    const j = 1 - i;
    await host.exec(['bridge', 'fdb', 'add', macs[j], 'dev', 'hmvx', 'self', 'permanent', 'dst', hosts[j].address]);
    await host.exec(['ip', 'neigh', 'add', `10.217.0.${j + 10}`, 'lladdr', macs[j], 'dev', 'hmvx', 'nud', 'permanent']);
  }
}

async function throughput(a, b, onB) {
  if (!existsSync(IPERF3)) {
    console.log(`throughput: skipped (${IPERF3} is missing; Debian's iperf3 package has it)`);
    return;
  }
  const veth = [`bv${process.pid}a`, `bv${process.pid}b`];
  makeVethPair(veth);
  await makeHandMadeVxlan([a, b]);
  // An nsnet container's namespace is mounted in its host's NSNET_NETNS_DIR.
  const container = (host, id) => ['nsenter', `--net=${host.root}/netns/${id}`];
  const variants = {
    veth: () => iperf({ runner: sandbox, enter: ['ip', 'netns', 'exec', veth[1]] }, { runner: sandbox, enter: ['ip', 'netns', 'exec', veth[0]] }, '10.216.0.2', 5201),
    handMade: () => iperf({ runner: inHost(b), enter: ['ip', 'netns', 'exec', handMadeNs(b)] }, { runner: inHost(a), enter: ['ip', 'netns', 'exec', handMadeNs(a)] }, '10.217.0.11', 5202),
    nsnet: () => iperf({ runner: inHost(b), enter: container(b, 'iperf-b') }, { runner: inHost(a), enter: container(a, 'iperf-a') }, onB, 5203),
  };
  const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(variants)) results[name].push(await variants[name]());
    }
  } finally {
    for (const ns of veth) ip('netns', 'delete', ns);
    for (const host of [a, b]) await host.exec(['ip', 'netns', 'delete', handMadeNs(host)]);
  }
  const gbits = Object.fromEntries(Object.entries(results).map(([name, values]) => [name, median(values) / 1e9]));
  console.log(`TCP throughput, iperf3 ${SECONDS} s, both ends on CPU ${CPU}, median of ${ROUNDS} (Gbit/s):`);
  console.log(`  veth pair            ${gbits.veth.toFixed(2)}`);
  console.log(`  hand-made VXLAN      ${gbits.handMade.toFixed(2)}  (${(gbits.handMade / gbits.veth).toFixed(2)}x veth)`);
  console.log(`  nsnet VXLAN          ${gbits.nsnet.toFixed(2)}  (${(gbits.nsnet / gbits.veth).toFixed(2)}x veth, ${(gbits.nsnet / gbits.handMade).toFixed(2)}x hand-made)`);
  // Round by round, to judge the noise of a shared machine.
  const perRound = (name) => results[name].map((value) => (value / 1e9).toFixed(2)).join(' ');
  console.log(`  rounds: veth ${perRound('veth')} | hand-made ${perRound('handMade')} | nsnet ${perRound('nsnet')}`);
}

async function remotesStartUp(a) {
  const times = { batch: [], single: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['batch', 'single']) {
      times[mode].push(JSON.parse(await a.exec([process.execPath, REMOTES_BATCH, VXLAN, String(REMOTES), mode, 'add'])).ms);
      await a.exec([process.execPath, REMOTES_BATCH, VXLAN, String(REMOTES), mode, 'remove']);
    }
  }
  const batch = median(times.batch);
  const single = median(times.single);
  console.log(`${REMOTES} remote containers (FDB + neighbour entry each), median of ${ROUNDS}:`);
  console.log(`  one batch            ${batch.toFixed(1)} ms`);
  console.log(`  2,000 single requests ${single.toFixed(1)} ms  (batch ${(single / batch).toFixed(1)}x faster)`);
}

// Steps run in a host's worker: their source is sent, so they name nothing of this module.

/** Sets up `count` containers one at a time, then tears them down one at a time: each one's setup and teardown in ms, and when its setup began (ns, monotonic). */
async function setUpAndDown(nsnet, { network, count, watched }) {
  const timings = [];
  for (let i = 0; i < count; i++) {
    const began = process.hrtime.bigint();
    const { endpoint } = await nsnet.setupContainer(`${network}-${i}`, { network });
    timings.push({ setup: Number(process.hrtime.bigint() - began) / 1e6, began: began.toString(), ipv4: endpoint.ipv4 });
  }
  // The other host has had its entries meanwhile: its watcher is done before the teardowns are timed.
  await new Promise((resolve) => setTimeout(resolve, watched ? 300 : 0));
  for (let i = 0; i < count; i++) {
    const began = process.hrtime.bigint();
    await nsnet.teardownContainer(`${network}-${i}`);
    timings[i].teardown = Number(process.hrtime.bigint() - began) / 1e6;
  }
  return timings;
}

/**
 * Listens to the kernel's neighbour events on the VXLAN device (no polling),
 * noting when each address first got its IPv4 neighbour entry, the last of
 * its entries applyRemotes adds (ns, monotonic); ends once every address
 * want() names has one (or after `timeoutMs`), and returns theirs. Only those
 * count: an entry of an earlier pass's container may be programmed late.
 */
async function watchFor(nsnet, { vxlan, timeoutMs }, keep) {
  const host = nsnet.NetNamespace.host();
  const events = host.events({ neighbours: true });
  await events.opened;
  const seen = new Map();
  const complete = () => keep.wanted !== undefined && keep.wanted.every((address) => seen.has(address));
  Object.assign(keep, { watching: true, seen, complete, events, wanted: undefined });
  const timer = setTimeout(() => events.close(), timeoutMs);
  for await (const event of events) {
    if (event.type === 'neighbour' && event.action === 'new' && event.family === 4 && event.dev === vxlan && !seen.has(event.address)) {
      seen.set(event.address, process.hrtime.bigint().toString());
    }
    if (complete()) break;
  }
  clearTimeout(timer);
  return Object.fromEntries((keep.wanted ?? []).filter((address) => seen.has(address)).map((address) => [address, seen.get(address)]));
}

/** Tells watchFor which addresses it waits for. */
async function want(nsnet, { addresses }, keep) {
  keep.wanted = addresses;
  if (keep.complete()) keep.events.close();
  return null;
}

/** Whether watchFor is listening. */
async function watching(nsnet, arg, keep) {
  const listening = keep.watching === true;
  keep.watching = false;
  return listening;
}

/**
 * Setup and teardown on the overlay network and a bridge network of host A,
 * alternating; then, in a pass of its own, the time until B's kernel holds
 * each overlay container. The setups of that pass are not timed: B's watcher
 * is the benchmark's own load, on the same two cores.
 */
async function setupTimes(a, b) {
  const results = { [OVERLAY]: { setup: [], teardown: [] }, [BRIDGE]: { setup: [], teardown: [] }, reach: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const network of round % 2 ? [BRIDGE, OVERLAY] : [OVERLAY, BRIDGE]) {
      const timings = await a.run(setUpAndDown, { network, count: PER_ROUND, watched: false });
      results[network].setup.push(...timings.map((t) => t.setup));
      results[network].teardown.push(...timings.map((t) => t.teardown));
    }
    const watched = b.run(watchFor, { vxlan: VXLAN, timeoutMs: 60000 });
    while (!(await b.run(watching))) await new Promise((resolve) => setTimeout(resolve, 10));
    const timings = await a.run(setUpAndDown, { network: OVERLAY, count: PER_ROUND, watched: true });
    await b.run(want, { addresses: timings.map((timing) => timing.ipv4) });
    const appeared = await watched;
    const missing = timings.filter((timing) => appeared[timing.ipv4] === undefined);
    for (const timing of timings) if (appeared[timing.ipv4] !== undefined) results.reach.push(Number(BigInt(appeared[timing.ipv4]) - BigInt(timing.began)) / 1e6);
    if (missing.length) console.log(`round ${round}: ${missing.length} containers never appeared on B`);
  }
  const floor = await measureFloor(PER_ROUND * 2, { burst: false });
  const fmt = (ms) => `${ms.toFixed(2)} ms`;
  console.log(`${ROUNDS} alternating rounds of ${PER_ROUND} containers on host A, one at a time; medians:`);
  for (const network of [BRIDGE, OVERLAY]) {
    const setup = median(results[network].setup);
    const teardown = median(results[network].teardown);
    console.log(`  ${network === OVERLAY ? 'overlay' : 'bridge '}  setup ${fmt(setup)} (${timesFloor(setup, floor.setup)} the floor)  teardown ${fmt(teardown)}`);
  }
  console.log(`  overlay / bridge setup: ${(median(results[OVERLAY].setup) / median(results[BRIDGE].setup)).toFixed(2)}x; teardown: ${(median(results[OVERLAY].teardown) / median(results[BRIDGE].teardown)).toFixed(2)}x`);
  // The floor's teardown only closes its descriptors: the kernel frees the namespace later, so it is no ratio's base.
  console.log(`  kernel floor (floor.c): setup ${fmt(floor.setup)}, teardown ${fmt(floor.teardown)}`);
  const reach = [...results.reach].sort((x, y) => x - y);
  console.log(`  from setup start on A to the entries in B's kernel: p50 ${fmt(median(reach))}, p90 ${fmt(reach[Math.floor(reach.length * 0.9)])}, max ${fmt(reach[reach.length - 1])} (${reach.length} containers)`);
}

const hosts = await createHosts(2);
const [a, b] = hosts.list;
const etcd = await startEtcd({ host: hosts.serviceAddress });
try {
  for (const host of [a, b]) await host.run((nsnet, store) => nsnet.createOverlayNetwork({ name: 'ovbench', subnet: '10.222.0.0/16', store }).then(() => null), etcd.url);
  await a.run((nsnet) => nsnet.createBridgeNetwork({ name: 'brbench', subnet: '10.223.0.0/16' }).then(() => null));
  await setupTimes(a, b);
  // One container of the overlay network on each host, for iperf3; B's reached from A's once A's agent programmed it.
  await a.run((nsnet) => nsnet.setupContainer('iperf-a', { network: 'ovbench' }).then(() => null));
  const onB = await b.run((nsnet) => nsnet.setupContainer('iperf-b', { network: 'ovbench' }).then(({ endpoint }) => endpoint.ipv4));
  for (let tries = 0; !(await a.json(['ip', '-j', 'neigh', 'show', 'dev', VXLAN])).some((entry) => entry.dst === onB); tries++) {
    if (tries > 100) throw new Error(`${onB} never programmed on host A`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await throughput(a, b, onB);
  await remotesStartUp(a);
} finally {
  await hosts.close();
  await etcd.stop();
}
