// Benchmark: a whole container run by a real runtime, `podman run --rm ...
// true` (Podman 4 on its CNI backend, a busybox root filesystem:
// test/podman.mjs), on an nsnet network (nsnet-cni, its service running),
// on the CNI reference plugins (bridge + host-local + portmap, Debian's
// containernetworking-plugins; skipped with a note when not installed), on
// a CNI network of the reference loopback plugin alone (Podman's own CNI
// work: the namespace, libcni, a plugin run for ADD and DEL, its cache) and
// with `--network none`, with and without a published port (`-p`).
// Rounds are interleaved, each contender once per round, in an order that
// turns, so that a machine whose speed drifts slows all alike; medians. What
// a network costs is its median over `--network none`'s.
//
//   npm run bench            (runs this file inside scripts/sandbox)
//
// NSNET_BENCH_RUNTIME overrides the number of rounds (20).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { removeNetwork } from '../dist/index.js';
import { createPodman, stopCniService } from '../test/podman.mjs';

const ROUNDS = Number(process.env.NSNET_BENCH_RUNTIME || 20);
const WARM_UP = 2;
const REFERENCE = ['/usr/lib/cni', '/opt/cni/bin'].find((dir) => ['bridge', 'host-local', 'portmap', 'loopback'].every((p) => existsSync(join(dir, p))));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const nsnetList = {
  cniVersion: '1.0.0',
  name: 'benchrt',
  plugins: [{ type: 'nsnet-cni', subnet: '10.153.0.0/24', ipMasq: true, capabilities: { portMappings: true } }],
};

const referenceList = (dataDir) => ({
  cniVersion: '1.0.0',
  name: 'benchrtref',
  plugins: [
    {
      type: 'bridge',
      bridge: 'cnirt0',
      isGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', subnet: '10.152.0.0/24', routes: [{ dst: '0.0.0.0/0' }], dataDir },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});

/** A network of the loopback plugin alone: lo up, which Podman does anyway; no interface. */
const loopbackList = { cniVersion: '1.0.0', name: 'benchrtlo', plugins: [{ type: 'loopback' }] };

/** One `podman run --rm`, timed from start to exit (ms). */
async function timedRun(podman, args) {
  const start = performance.now();
  const child = spawn('podman', args, { env: podman.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`podman ${args.join(' ')} failed (exit ${code}): ${stderr}`);
  return performance.now() - start;
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('run the benchmark inside a throw-away namespace: npm run bench');
  console.log(`\nA runtime: podman run --rm ... true (Podman 4, CNI backend), ${ROUNDS} rounds, interleaved\n`);
  const lists = [nsnetList];
  const dataDir = '/run/cni-bench-runtime'; // host-local's leases, on the sandbox's /run
  if (REFERENCE) lists.push(referenceList(dataDir), loopbackList);
  const podman = await createPodman({ lists, pluginDirs: REFERENCE ? [REFERENCE] : [] });
  const runArgs = (network, port) => ['run', '--rm', '--network', network, ...(port ? ['-p', `${port}:80`] : []), '--rootfs', podman.rootfs, 'true'];
  const contenders = [
    { label: '--network none', args: runArgs('none') },
    { label: 'nsnet-cni', args: runArgs(nsnetList.name) },
    { label: 'nsnet-cni, -p', args: runArgs(nsnetList.name, 18580) },
  ];
  if (REFERENCE) {
    contenders.push({ label: 'CNI loopback alone', args: runArgs(loopbackList.name) });
    contenders.push({ label: 'CNI bridge + host-local + portmap', args: runArgs('benchrtref') });
    contenders.push({ label: 'CNI bridge + host-local + portmap, -p', args: runArgs('benchrtref', 18581) });
  } else {
    console.log('(CNI plugins not installed, skipped: apt-get install containernetworking-plugins)\n');
  }
  try {
    // Each contender gives its container an address of its network (none: only lo).
    const shows = async (network) => podman.ok(['run', '--rm', '--network', network, '--rootfs', podman.rootfs, 'ip', '-o', '-4', 'addr']);
    if (!/inet 10\.153\.0\.\d+\//.test(await shows(nsnetList.name))) throw new Error('the nsnet container has no address of its network');
    if (REFERENCE && !/inet 10\.152\.0\.\d+\//.test(await shows('benchrtref'))) throw new Error('the reference container has no address of its network');
    if (/eth0/.test(await shows('none'))) throw new Error('the --network none container has an eth0');
    for (const contender of contenders) contender.times = [];
    for (let round = 0; round < WARM_UP + ROUNDS; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(round + i) % contenders.length];
        const ms = await timedRun(podman, contender.args);
        if (round >= WARM_UP) contender.times.push(ms);
      }
    }
  } finally {
    await podman.close();
    await stopCniService();
    await removeNetwork(nsnetList.name, { force: true });
    if (REFERENCE) {
      execFileSync('ip', ['link', 'del', 'cnirt0'], { stdio: 'ignore' });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  printResults(contenders);
}

function printResults(contenders) {
  const none = median(contenders[0].times);
  const byLabel = Object.fromEntries(contenders.map((c) => [c.label, median(c.times)]));
  const rows = [['podman run --rm ... true', 'median ms', 'over --network none, ms']];
  for (const c of contenders) rows.push([c.label, byLabel[c.label].toFixed(1), c === contenders[0] ? '-' : (byLabel[c.label] - none).toFixed(1)]);
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  for (const row of rows) console.log(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('   '));
  console.log('');
  const reference = 'CNI bridge + host-local + portmap';
  if (byLabel[reference] !== undefined) {
    for (const suffix of ['', ', -p']) {
      const ours = byLabel[`nsnet-cni${suffix}`] - none;
      const theirs = byLabel[`${reference}${suffix}`] - none;
      console.log(`network cost${suffix ? ' with -p' : ''}: nsnet ${ours.toFixed(1)} ms, reference ${theirs.toFixed(1)} ms: ${(theirs / ours).toFixed(1)}x less for nsnet`);
    }
    const podmansOwn = byLabel['CNI loopback alone'] - none;
    const above = (label) => (byLabel[label] - none - podmansOwn).toFixed(1);
    console.log(
      `Podman's own CNI work (the loopback plugin alone): ${podmansOwn.toFixed(1)} ms; above it nsnet ${above('nsnet-cni')} ms (${above('nsnet-cni, -p')} with -p), reference ${above(reference)} ms (${above(`${reference}, -p`)} with -p)`,
    );
  }
  console.log('(medians; a cost is the median minus that of --network none, which makes no network at all;');
  console.log(" a whole podman run varies by tens of ms from run to run, so a few ms above Podman's own work is within noise)");
}

await main();
