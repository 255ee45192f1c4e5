// Benchmark: published ports at scale. One container publishes 10 ports, then
// 10,000; connection latency through a published port is measured from a
// `wan` namespace (the outside) with 10 and with 10,000 published, and
// against a rule-per-port ruleset (Docker's layout: one DNAT rule per port in
// a chain) built in the same run.
//
//   npm run bench            (runs this file inside scripts/sandbox)
//
// NSNET_BENCH_PORTS overrides the 10,000.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

const PORTS = Number(process.env.NSNET_BENCH_PORTS || 10000);
const HOST = '198.51.100.1';
const WAN = '198.51.100.2';
const NSNET_BASE = 20000; // nsnet publishes NSNET_BASE..
const RULES_BASE = 40000; // the rule-per-port table covers RULES_BASE..
const CONNECTIONS = 300;

const nft = (args, input) => execFileSync('nft', args, { encoding: 'utf8', input });

/** Median ms per connection over CONNECTIONS sequential connects from `ns`. */
function latency(ns, port) {
  const script = `
    const net = require('node:net');
    const times = [];
    (async () => {
      for (let i = 0; i < ${CONNECTIONS}; i++) {
        const start = process.hrtime.bigint();
        await new Promise((resolve, reject) => {
          const s = net.connect(${port}, '${HOST}', () => s.write('x'));
          s.on('data', () => { s.destroy(); resolve(); });
          s.on('error', reject);
        });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      times.sort((a, b) => a - b);
      console.log(times[times.length >> 1]);
    })().catch((e) => { console.error(e.message); process.exit(1); });
  `;
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`latency client exited ${code}`))));
  });
}

function ruleScript(container, count) {
  const rules = Array.from({ length: count }, (_, i) => `add rule ip perport prerouting ip daddr ${HOST} tcp dport ${RULES_BASE + i} dnat to ${container}:80`);
  return ['add table ip perport', 'add chain ip perport prerouting { type nat hook prerouting priority -110; }', ...rules].join('\n');
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('run inside a throw-away namespace: npm run bench');
  const host = NetNamespace.host();
  const wan = await NetNamespace.create('bench-wan');
  await host.links.add({ kind: 'veth', name: 'wan0', up: true, peer: { name: 'eth0', netns: wan } });
  await wan.links.set('eth0', { up: true });
  await host.addresses.add('wan0', `${HOST}/24`);
  await wan.addresses.add('eth0', `${WAN}/24`);
  await createBridgeNetwork({ name: 'ports', subnet: '10.170.0.0/24' });

  const few = Array.from({ length: 10 }, (_, i) => `${NSNET_BASE + i}:80`);
  let start = performance.now();
  const c = await setupContainer('ports', { network: 'ports', publish: few });
  const setupFew = performance.now() - start;
  const server = c.netns.spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.on('data', () => s.end('y'))).listen(80, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => server.stdout.once('data', resolve));
  const latencyFew = await latency(wan, NSNET_BASE + 9);
  await teardownContainer('ports');
  server.kill();

  const many = Array.from({ length: PORTS }, (_, i) => `${NSNET_BASE + i}:80`);
  start = performance.now();
  const big = await setupContainer('ports', { network: 'ports', publish: many });
  const setupMany = performance.now() - start;
  const server2 = big.netns.spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.on('data', () => s.end('y'))).listen(80, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => server2.stdout.once('data', resolve));
  const latencyMany = await latency(wan, NSNET_BASE + PORTS - 1);

  start = performance.now();
  nft(['-f', '-'], ruleScript(big.endpoint.ipv4, PORTS));
  const rulesBuild = performance.now() - start;
  const latencyRulesLast = await latency(wan, RULES_BASE + PORTS - 1);
  const latencyRulesFirst = await latency(wan, RULES_BASE);
  nft(['delete', 'table', 'ip', 'perport']);

  start = performance.now();
  await teardownContainer('ports');
  const teardownMany = performance.now() - start;
  server2.kill();
  await removeNetwork('ports');
  await wan.delete();

  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log(`\nOne container, published ports (${CONNECTIONS} connections per latency figure, medians, from a wan namespace)\n`);
  console.log(`nsnet: publish 10 ports (whole setupContainer)          ${ms(setupFew)}`);
  console.log(`nsnet: publish ${PORTS} ports (whole setupContainer)     ${ms(setupMany)}`);
  console.log(`nsnet: teardown with ${PORTS} ports                       ${ms(teardownMany)}`);
  console.log(`rule per port: nft -f of ${PORTS} DNAT rules              ${ms(rulesBuild)}`);
  console.log('');
  console.log(`latency via nsnet, 10 published                          ${latencyFew.toFixed(3)} ms`);
  console.log(`latency via nsnet, ${PORTS} published (last port)        ${latencyMany.toFixed(3)} ms   ratio ${(latencyMany / latencyFew).toFixed(2)}`);
  console.log(`latency via rule per port, first of ${PORTS} rules       ${latencyRulesFirst.toFixed(3)} ms`);
  console.log(`latency via rule per port, last of ${PORTS} rules        ${latencyRulesLast.toFixed(3)} ms   ratio ${(latencyRulesLast / latencyFew).toFixed(2)}`);
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
