// The routed network at scale: NSNET_BENCH_ROUTED (2,000) containers set up
// one at a time on one routed network, past the 1,023 ports a bridge takes.
// A container's setup should cost the same whether it is the first or the
// two-thousandth (a host route is one more entry in the kernel's FIB trie;
// the firewall's sets are hashes): the median setup of the last hundred
// against the first hundred's, with this process's CPU time per setup split
// into user (nsnet's JavaScript and the addon) and system (the kernel's work
// in its system calls): where the growth is.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { createRoutedNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { measureRoutedFloor, settleKernel, times } from './floor.mjs';

const COUNT = Number(process.env.NSNET_BENCH_ROUTED || 2000);
const SAMPLE = 100;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Both families' way: IPv4 only, where each container has disable_ipv6
 * written inside (as Docker does), and dual-stack, where nothing is written
 * inside and the namespace's sysctl directories are not opened (a
 * namespace's first lookup under /proc/sys grows with the number of
 * namespaces: bench/sysctl-scale.c measures it alone).
 */
export async function routedFlatness() {
  await flatness('IPv4 only', {}, { dualStack: false });
  await flatness('dual-stack', { ipv6: { subnet: 'fd00:155::/64' } }, { dualStack: true });
}

async function flatness(label, options, floorOptions) {
  const network = 'benchflat';
  const { bridge: prefix } = await createRoutedNetwork({ name: network, subnet: '10.155.0.0/16', ...options });
  const setup = [];
  const user = [];
  const system = [];
  const teardown = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      await setupContainer(`nf${i}`, { network });
      setup.push(performance.now() - start);
      const used = process.cpuUsage(cpu);
      user.push(used.user / 1000);
      system.push(used.system / 1000);
    }
    // Checked, not timed: every container has its host route.
    const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show'], { encoding: 'utf8', maxBuffer: 64 << 20 })).filter((r) => r.dev?.startsWith(prefix));
    if (routes.length !== COUNT) throw new Error(`routed network: ${routes.length} host routes for ${COUNT} containers`);
    for (let i = 0; i < COUNT; i++) {
      const start = performance.now();
      await teardownContainer(`nf${i}`);
      teardown.push(performance.now() - start);
    }
  } finally {
    await removeNetwork(network, { force: true });
    await settleKernel();
  }
  const first = median(setup.slice(0, SAMPLE));
  const last = median(setup.slice(-SAMPLE));
  console.log(`routed network (${label}), ${COUNT.toLocaleString('en')} containers one at a time: setup of the first ${SAMPLE} ${first.toFixed(2)} ms (median), of the last ${SAMPLE} ${last.toFixed(2)} ms: last / first ${times(last / first)}`);
  const split = (values) => `${median(values.slice(0, SAMPLE)).toFixed(2)} -> ${median(values.slice(-SAMPLE)).toFixed(2)} ms`;
  console.log(`  CPU per setup, first ${SAMPLE} -> last ${SAMPLE} (medians): user ${split(user)}, system ${split(system)}`);
  console.log(`  teardown of the first ${SAMPLE} ${median(teardown.slice(0, SAMPLE)).toFixed(2)} ms, of the last ${SAMPLE} ${median(teardown.slice(-SAMPLE)).toFixed(2)} ms`);
  // The same containers made by floor.c with only the system calls, in the same run: how much of the growth is the kernel's own.
  const floor = await measureRoutedFloor(COUNT, floorOptions);
  const step = (name) => `${name} ${floor[name].first.toFixed(2)} -> ${floor[name].last.toFixed(2)} ms`;
  console.log(`  the kernel's own (floor.c), first ${SAMPLE} -> last ${SAMPLE}: ${step('setup')} (last / first ${times(floor.setup.last / floor.setup.first)}; ${step('netns')}, ${step('veth')} with the host routes, ${step('configure')})`);
  console.log(`  nsnet over the kernel's floor: first ${SAMPLE} ${times(first / floor.setup.first)}, last ${SAMPLE} ${times(last / floor.setup.last)}; growth beyond the kernel's ${(last - first - (floor.setup.last - floor.setup.first)).toFixed(2)} ms\n`);
}
