// Benchmark: one container at a time, set up then torn down, the way a
// runtime starts them: a new namespace on one bridge network with an
// address and a default route; then again with one published port each and
// masquerade.
//
//   npm run bench            (runs this file inside scripts/sandbox)
//
// Contenders: nsnet's setupContainer / teardownContainer, on a bridge network
// and on a routed network (no bridge: a host route per container); iproute2 with one
// `ip -batch` for the host side and one `ip -n NS -batch` for the container
// side (teardown: `ip netns del`), plus one `nft` per published port (a DNAT
// rule, deleted by handle); the CNI reference plugins bridge + host-local
// (+ portmap), executed as a runtime executes them (skipped with a note when
// Debian's containernetworking-plugins is not installed); netavark, given
// the JSON a runtime gives it (addresses chosen by the runtime, as podman
// does), skipped with a note when Debian's netavark is not installed; in the
// table without a published port, nsnet on a macvlan and on an ipvlan network
// (a veth standing for the parent NIC; skipped with a note where the kernel
// has no such links).
//
// Before the contenders of each table the kernel's floor (floor.c: the same
// containers made with nothing but the system calls) runs in the same run;
// every contender's setup is printed as a multiple of the floor's setup, and
// its teardown as a multiple of the floor's setup too: the target is a
// teardown no slower than the floor's setup.
//
// Last, the routed network's flatness: 2,000 containers on one routed
// network (past the 1,023 ports a bridge takes), the setup of the last
// hundred against the first hundred (bench/routed-flatness.mjs).
//
// NSNET_BENCH_CONTAINERS overrides the count (200). `--rounds N` (or
// NSNET_BENCH_ROUNDS) repeats the whole run N times and prints each round,
// then the medians across rounds.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { createBridgeNetwork, createIpvlanNetwork, createMacvlanNetwork, createRoutedNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { measureFloor, settleKernel, times } from './floor.mjs';
import { routedFlatness } from './routed-flatness.mjs';

const COUNT = Number(process.env.NSNET_BENCH_CONTAINERS || 200);
const { values: options } = parseArgs({ options: { rounds: { type: 'string', default: process.env.NSNET_BENCH_ROUNDS || '1' } } });
const ROUNDS = Number(options.rounds);
const NETNS_DIR = process.env.NSNET_NETNS_DIR || '/run/netns';
const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const NETAVARK = ['/usr/lib/podman/netavark', '/usr/libexec/podman/netavark'].find((file) => fs.existsSync(file));

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipBatch(args, commands) {
  const result = spawnSync('ip', [...args, '-batch', '-'], { input: `${commands.join('\n')}\n`, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip -batch failed: ${result.stderr.trim()}`);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Sets up COUNT containers one at a time, then tears them down one at a
 * time; times each step and checks each setup (not timed). The checks come
 * after the last setup, as the floor's come after its last: a check between
 * two setups starts two `ip` processes, and the next setup then paid for
 * their start and exit (100 nsnet setups: 4.0 ms each with the checks
 * between them, 2.6 ms with the same checks after).
 */
async function run(contender) {
  await contender.prepare?.();
  const setup = [];
  const teardown = [];
  const addresses = [];
  for (let i = 0; i < COUNT; i++) {
    const id = `${contender.prefix}${i}`;
    const start = performance.now();
    addresses.push(await contender.setup(id, i));
    setup.push(performance.now() - start);
  }
  for (let i = 0; i < COUNT; i++) {
    const [id, address] = [`${contender.prefix}${i}`, addresses[i]];
    const [eth0] = JSON.parse(ip('-j', '-n', id, '-4', 'addr', 'show', 'dev', 'eth0'));
    if (eth0?.addr_info[0]?.local !== address) throw new Error(`${contender.label}: ${id} lacks ${address}`);
    if (!ip('-n', id, 'route', 'show', 'default').includes('via')) throw new Error(`${contender.label}: ${id} has no default route`);
  }
  for (let i = 0; i < COUNT; i++) {
    const start = performance.now();
    await contender.teardown(`${contender.prefix}${i}`, i);
    teardown.push(performance.now() - start);
  }
  await contender.finish?.();
  await settleKernel(); // so that the next contender starts even
  return { setup: median(setup), teardown: median(teardown) };
}

const hostPort = (i) => 20000 + i;

/** nsnet on a bridge network, or (`routed`) on a routed network. */
function nsnetContender(withPort, routed = false) {
  const network = routed ? 'benchr' : 'bench';
  return {
    label: routed ? 'nsnet, routed network' : 'nsnet',
    prefix: routed ? 'nr' : 'nc',
    prepare: () => (routed ? createRoutedNetwork({ name: network, subnet: '10.154.0.0/16' }) : createBridgeNetwork({ name: network, subnet: '10.150.0.0/16' })),
    async setup(id, i) {
      const publish = withPort ? [`${hostPort(i)}:80`] : [];
      return (await setupContainer(id, { network, publish })).endpoint.ipv4;
    },
    teardown: (id) => teardownContainer(id),
    finish: () => removeNetwork(network),
  };
}

/** The parent of the macvlan and ipvlan contenders: a veth standing for the NIC, both ends up in the sandbox's host, so it has carrier. */
const LAN_PARENT = 'benchlan0';

/**
 * nsnet on a macvlan or ipvlan network (no published port: these drivers
 * publish none): the child made straight in the namespace, instead of a veth
 * and a bridge port. `skip` says why the kernel cannot run it.
 */
function lanContender(driver) {
  const network = `bench-${driver}`;
  const create = driver === 'macvlan' ? createMacvlanNetwork : createIpvlanNetwork;
  return {
    label: `nsnet ${driver}`,
    prefix: driver === 'macvlan' ? 'nm' : 'ni',
    async prepare() {
      ip('link', 'add', LAN_PARENT, 'up', 'type', 'veth', 'peer', 'name', 'benchlan1');
      ip('link', 'set', 'benchlan1', 'up');
      await create({ name: network, parent: LAN_PARENT, subnet: '10.151.0.0/16', mode: driver === 'macvlan' ? 'bridge' : 'l2' });
    },
    setup: async (id) => (await setupContainer(id, { network })).endpoint.ipv4,
    teardown: (id) => teardownContainer(id),
    async finish() {
      await removeNetwork(network);
      ip('link', 'delete', LAN_PARENT);
    },
  };
}

/** Whether the kernel has `driver` links: a child made on a scratch veth, and deleted. */
function kernelHas(driver) {
  try {
    ip('link', 'add', 'benchprobe0', 'type', 'veth', 'peer', 'name', 'benchprobe1');
    ip('link', 'add', 'link', 'benchprobe0', 'name', 'benchprobe2', 'type', driver);
    return true;
  } catch {
    return false;
  } finally {
    spawnSync('ip', ['link', 'delete', 'benchprobe0']);
  }
}

function nft(...args) {
  return execFileSync('nft', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipBatchContender(withPort) {
  const bridge = 'ipbr0';
  const handles = new Map();
  return {
    label: withPort ? 'ip -batch + nft' : 'ip -batch',
    prefix: 'ic',
    prepare() {
      ipBatch([], [`link add ${bridge} type bridge`, `addr add 10.151.0.1/16 dev ${bridge}`, `link set ${bridge} up`]);
      if (!withPort) return;
      nft('add', 'table', 'ip', 'benchnat');
      nft('add', 'chain', 'ip', 'benchnat', 'pre', '{ type nat hook prerouting priority dstnat; }');
      nft('add', 'chain', 'ip', 'benchnat', 'post', '{ type nat hook postrouting priority srcnat; }');
      nft('add', 'rule', 'ip', 'benchnat', 'post', 'ip', 'saddr', '10.151.0.0/16', 'oifname', '!=', bridge, 'masquerade');
    },
    setup(id, i) {
      const address = `10.151.${1 + (i >> 8)}.${i & 255}`;
      ipBatch([], [
        `netns add ${id}`,
        `link add v${id} mtu 1500 type veth peer name eth0 netns ${id}`,
        `link set v${id} master ${bridge} up`,
      ]);
      ipBatch(['-n', id], ['link set lo up', 'link set eth0 up', `addr add ${address}/16 dev eth0`, 'route add default via 10.151.0.1']);
      if (withPort) {
        const echo = nft('--echo', '--handle', 'add', 'rule', 'ip', 'benchnat', 'pre', 'tcp', 'dport', String(hostPort(i)), 'dnat', 'to', `${address}:80`);
        handles.set(id, echo.match(/# handle (\d+)/)[1]);
      }
      return address;
    },
    teardown(id) {
      if (withPort) nft('delete', 'rule', 'ip', 'benchnat', 'pre', 'handle', handles.get(id));
      ip('netns', 'del', id);
    },
    finish() {
      ip('link', 'del', bridge);
      if (withPort) nft('delete', 'table', 'ip', 'benchnat');
    },
  };
}

function cniContender(binDir, withPort) {
  const dataDir = '/run/cni-bench';
  const bridgeConfig = {
    cniVersion: '1.0.0',
    name: 'bench',
    type: 'bridge',
    bridge: 'cnibr0',
    isGateway: true,
    isDefaultGateway: true,
    ipMasq: withPort,
    hairpinMode: true,
    ipam: { type: 'host-local', subnet: '10.152.0.0/16', dataDir },
  };
  const portmapConfig = (i, prevResult) => ({
    cniVersion: '1.0.0',
    name: 'bench',
    type: 'portmap',
    capabilities: { portMappings: true },
    runtimeConfig: { portMappings: [{ hostPort: hostPort(i), containerPort: 80, protocol: 'tcp' }] },
    prevResult,
  });
  const results = new Map();
  const plugin = (type, config, command, id) => {
    const result = spawnSync(path.join(binDir, type), [], {
      input: JSON.stringify(config),
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
    if (result.status !== 0) throw new Error(`CNI ${type} ${command} failed: ${result.stdout}${result.stderr}`);
    return result.stdout;
  };
  return {
    label: withPort ? 'CNI bridge + host-local + portmap' : 'CNI bridge + host-local',
    prefix: 'cc',
    setup(id, i) {
      ip('netns', 'add', id);
      let result = JSON.parse(plugin('bridge', bridgeConfig, 'ADD', id));
      if (withPort) result = JSON.parse(plugin('portmap', portmapConfig(i, result), 'ADD', id));
      results.set(id, result);
      return result.ips[0].address.split('/')[0];
    },
    teardown(id, i) {
      // DEL in reverse order, each with the cached result, as libcni does.
      const prevResult = results.get(id);
      if (withPort) plugin('portmap', portmapConfig(i, prevResult), 'DEL', id);
      plugin('bridge', { ...bridgeConfig, prevResult }, 'DEL', id);
      results.delete(id);
      ip('netns', 'del', id);
    },
    finish() {
      ip('link', 'del', 'cnibr0');
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function netavarkContender(withPort) {
  const configDir = '/run/netavark-bench';
  const options = (id, i) => ({
    container_id: id.padEnd(64, '0'),
    container_name: id,
    port_mappings: withPort ? [{ host_ip: '', container_port: 80, host_port: hostPort(i), range: 1, protocol: 'tcp' }] : [],
    networks: { bench: { static_ips: [address(i)], interface_name: 'eth0' } },
    network_info: {
      bench: {
        name: 'bench',
        id: 'b'.repeat(64),
        driver: 'bridge',
        network_interface: 'navbr0',
        subnets: [{ subnet: '10.153.0.0/16', gateway: '10.153.0.1' }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
      },
    },
  });
  const address = (i) => `10.153.${1 + (i >> 8)}.${i & 255}`;
  const netavark = (command, id, i) => {
    const result = spawnSync(NETAVARK, ['--config', configDir, command, path.join(NETNS_DIR, id)], {
      input: JSON.stringify(options(id, i)),
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`netavark ${command} failed: ${result.stdout}${result.stderr}`);
  };
  return {
    label: 'netavark',
    prefix: 'vc',
    setup(id, i) {
      ip('netns', 'add', id);
      netavark('setup', id, i);
      return address(i);
    },
    teardown(id, i) {
      netavark('teardown', id, i);
      ip('netns', 'del', id);
    },
    finish() {
      // netavark removes its bridge with the last container.
      fs.rmSync(configDir, { recursive: true, force: true });
    },
  };
}

const TABLES = [
  { withPort: false, title: 'no published port:' },
  { withPort: true, title: 'with one published port each, and masquerade:' },
];

/** One round: for each table, the floor and then every contender, one after another. */
async function round(cniDir) {
  const tables = [];
  for (const { withPort } of TABLES) {
    const floor = await measureFloor(COUNT, { port: withPort, burst: false });
    const contenders = [nsnetContender(withPort), nsnetContender(withPort, true), ipBatchContender(withPort)];
    if (cniDir) contenders.push(cniContender(cniDir, withPort));
    if (NETAVARK) contenders.push(netavarkContender(withPort));
    if (!withPort) contenders.push(...['macvlan', 'ipvlan'].filter(kernelHas).map(lanContender));
    const results = [{ label: `kernel floor (bench/floor.c)${withPort ? ', map element' : ''}`, setup: floor.setup, teardown: floor.teardown }];
    for (const contender of contenders) results.push({ label: contender.label, ...(await run(contender)) });
    tables.push(withRatios(results));
  }
  return tables;
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') {
    throw new Error('run the benchmark inside a throw-away namespace: npm run bench');
  }
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds must be a positive whole number: ${options.rounds}`);
  // Named namespaces are in the sandbox's private netns directory.
  await NetNamespace.host().links.list();
  console.log(`\n${COUNT} containers set up one at a time (new namespace, veth on a bridge, address, default route), then torn down one at a time\n`);
  const cniDir = CNI_DIRS.find((dir) => ['bridge', 'host-local', 'portmap'].every((p) => fs.existsSync(path.join(dir, p))));
  if (!cniDir) console.log('(CNI plugins not installed, skipped: apt-get install containernetworking-plugins)\n');
  if (!NETAVARK) console.log('(netavark not installed, skipped: apt-get install netavark)\n');
  for (const driver of ['macvlan', 'ipvlan']) if (!kernelHas(driver)) console.log(`(nsnet ${driver}: the kernel has no ${driver} links, skipped)\n`);
  const rounds = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const tables = await round(cniDir);
    rounds.push(tables);
    TABLES.forEach(({ title }, t) => {
      console.log(`${ROUNDS > 1 ? `round ${r}/${ROUNDS}, ` : ''}${title}`);
      printTable(tables[t]);
      console.log('');
    });
  }
  if (ROUNDS > 1) {
    TABLES.forEach(({ title }, t) => {
      console.log(`median of ${ROUNDS} rounds (times, and each ratio: the median of the rounds' ratios), ${title}`);
      const FIELDS = ['setup', 'teardown', 'setupVsFloor', 'teardownVsFloor', 'setupVsNsnet', 'teardownVsNsnet'];
      printTable(rounds[0][t].map((row, c) => ({
        label: row.label,
        ...Object.fromEntries(FIELDS.map((field) => [field, median(rounds.map((tables) => tables[t][c][field]))])),
      })));
      console.log('');
    });
  }
  await routedFlatness();
}

/** Each row's ratios to the floor (the first row) and to nsnet (the second). */
function withRatios(results) {
  const [floor, nsnet] = results;
  return results.map((r) => ({
    ...r,
    setupVsFloor: r.setup / floor.setup,
    teardownVsFloor: r.teardown / floor.setup,
    setupVsNsnet: r === floor ? undefined : r.setup / nsnet.setup,
    teardownVsNsnet: r === floor ? undefined : r.teardown / nsnet.teardown,
  }));
}

function printTable(results) {
  const rows = [['contender', 'setup ms (median)', 'teardown ms (median)', 'setup / floor setup', 'teardown / floor setup', 'nsnet faster: setup', 'teardown']];
  for (const r of results) {
    rows.push([r.label, r.setup.toFixed(2), r.teardown.toFixed(2), times(r.setupVsFloor), times(r.teardownVsFloor), times(r.setupVsNsnet), times(r.teardownVsNsnet)]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
