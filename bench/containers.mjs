// Benchmark: one container at a time, set up then torn down, the way a
// runtime starts them: a new namespace on one bridge network with an
// address and a default route (no ports).
//
//   npm run bench            (runs this file inside scripts/sandbox)
//
// Contenders: nsnet's setupContainer / teardownContainer; iproute2 with one
// `ip -batch` for the host side and one `ip -n NS -batch` for the container
// side (teardown: `ip netns del`); the CNI reference plugins bridge +
// host-local, executed as a runtime executes them (skipped with a note when
// Debian's containernetworking-plugins is not installed).
//
// NSNET_BENCH_CONTAINERS overrides the count (200).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 200);
const NETNS_DIR = process.env.NSNET_NETNS_DIR || '/run/netns';
const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipBatch(args, commands) {
  const result = spawnSync('ip', [...args, '-batch', '-'], { input: `${commands.join('\n')}\n`, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip -batch failed: ${result.stderr.trim()}`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Times setup and teardown of COUNT containers, one at a time; checks each setup. */
async function run(contender) {
  await contender.prepare?.();
  const setup = [];
  const teardown = [];
  for (let i = 0; i < COUNT; i++) {
    const id = `${contender.prefix}${i}`;
    let start = performance.now();
    const address = await contender.setup(id, i);
    setup.push(performance.now() - start);
    // Not timed: the container really has its address and default route.
    const [eth0] = JSON.parse(ip('-j', '-n', id, '-4', 'addr', 'show', 'dev', 'eth0'));
    if (eth0?.addr_info[0]?.local !== address) throw new Error(`${contender.label}: ${id} lacks ${address}`);
    if (!ip('-n', id, 'route', 'show', 'default').includes('via')) throw new Error(`${contender.label}: ${id} has no default route`);
    start = performance.now();
    await contender.teardown(id, i);
    teardown.push(performance.now() - start);
  }
  await contender.finish?.();
  return { setup: median(setup), teardown: median(teardown) };
}

function nsnetContender() {
  const network = 'bench';
  return {
    label: 'nsnet',
    prefix: 'nc',
    prepare: () => createBridgeNetwork({ name: network, subnet: '10.150.0.0/16' }),
    async setup(id) {
      return (await setupContainer(id, { network })).endpoint.ipv4;
    },
    teardown: (id) => teardownContainer(id),
    finish: () => removeNetwork(network),
  };
}

function ipBatchContender() {
  const bridge = 'ipbr0';
  return {
    label: 'ip -batch',
    prefix: 'ic',
    prepare() {
      ipBatch([], [`link add ${bridge} type bridge`, `addr add 10.151.0.1/16 dev ${bridge}`, `link set ${bridge} up`]);
    },
    setup(id, i) {
      const address = `10.151.${1 + (i >> 8)}.${i & 255}`;
      ipBatch([], [
        `netns add ${id}`,
        `link add v${id} mtu 1500 type veth peer name eth0 netns ${id}`,
        `link set v${id} master ${bridge} up`,
      ]);
      ipBatch(['-n', id], ['link set lo up', 'link set eth0 up', `addr add ${address}/16 dev eth0`, 'route add default via 10.151.0.1']);
      return address;
    },
    teardown: (id) => ip('netns', 'del', id),
    finish: () => ip('link', 'del', bridge),
  };
}

function cniContender(binDir) {
  const dataDir = '/run/cni-bench';
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bench',
    type: 'bridge',
    bridge: 'cnibr0',
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ipam: { type: 'host-local', subnet: '10.152.0.0/16', dataDir },
  });
  const plugin = (command, id) => {
    const result = spawnSync(path.join(binDir, 'bridge'), [], {
      input: config,
      encoding: 'utf8',
      env: {
        ...process.env,
        CNI_COMMAND: command,
        CNI_CONTAINERID: id,
        CNI_NETNS: path.join(NETNS_DIR, id),
        CNI_IFNAME: 'eth0',
        CNI_PATH: binDir,
      },
    });
    if (result.status !== 0) throw new Error(`CNI ${command} failed: ${result.stdout}${result.stderr}`);
    return result.stdout;
  };
  return {
    label: 'CNI bridge + host-local',
    prefix: 'cc',
    setup(id) {
      ip('netns', 'add', id);
      const result = JSON.parse(plugin('ADD', id));
      return result.ips[0].address.split('/')[0];
    },
    teardown(id) {
      plugin('DEL', id);
      ip('netns', 'del', id);
    },
    finish() {
      ip('link', 'del', 'cnibr0');
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') {
    throw new Error('run the benchmark inside a throw-away namespace: npm run bench');
  }
  // Named namespaces are in the sandbox's private netns directory.
  await NetNamespace.host().links.list();
  console.log(`\n${COUNT} containers, one at a time: new namespace, veth on a bridge, address, default route; then teardown\n`);
  const contenders = [nsnetContender(), ipBatchContender()];
  const cniDir = CNI_DIRS.find((dir) => fs.existsSync(path.join(dir, 'bridge')) && fs.existsSync(path.join(dir, 'host-local')));
  if (cniDir) contenders.push(cniContender(cniDir));
  else console.log('(CNI plugins not installed, skipped: apt-get install containernetworking-plugins)\n');

  const results = [];
  for (const contender of contenders) results.push({ label: contender.label, ...(await run(contender)) });
  const nsnet = results[0];
  const rows = [['contender', 'setup ms (median)', 'teardown ms (median)', 'nsnet faster: setup', 'teardown']];
  for (const r of results) {
    rows.push([r.label, r.setup.toFixed(2), r.teardown.toFixed(2), `${(r.setup / nsnet.setup).toFixed(1)}x`, `${(r.teardown / nsnet.teardown).toFixed(1)}x`]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
