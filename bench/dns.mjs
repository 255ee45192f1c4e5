// Benchmark: name resolution for containers, measured with dnsperf from
// inside a container's namespace, against the resolvers runtimes use.
//
//   scripts/sandbox node bench/dns.mjs
//
// Contenders, each listening on its own bridge's gateway in the sandbox and
// asked from a namespace on that bridge, with NSNET_BENCH_DNS_NAMES names
// (200: web0 ... web199, each with an alias):
//  - nsnet: containers set up with setupContainer(id, { network, name,
//    aliases }) on a user network; its resolver service starts on demand and
//    is ended by its pid file afterwards (skipped, with a note, when
//    setupContainer takes no names or nothing answers on the gateway);
//  - aardvark-dns (Podman's), run as Podman runs it: `aardvark-dns --config
//    DIR -p 53 run`, DIR/<network> holding the gateway (and the network's
//    upstream server) then one line a container; updated as netavark does,
//    the file rewritten then SIGHUP;
//  - dnsmasq, serving a hosts file (`--addn-hosts`, a domain for the search
//    suffix, no cache), updated by rewriting the file then SIGHUP.
// Forwarded lookups go to an upstream dnsmasq in the `wan` namespace
// (198.51.100.2; made when the sandbox has no `wan`), serving a hosts file:
// nsnet finds it in the host's resolv.conf (NSNET_HOST_RESOLV_CONF),
// aardvark-dns as its network's DNS server, dnsmasq with --server.
//
// Rows: queries/s at full speed (dnsperf -l NSNET_BENCH_DNS_SECONDS, 5) and
// p50 / p99 latency at NSNET_BENCH_DNS_RATE q/s (1000; dnsperf -Q, its
// per-query latencies from -v), for bare names (web17), names with the
// search suffix (web17.<network>, web17.dns.podman, web17.<domain>) and
// forwarded names; then the queries lost or failed while
// NSNET_BENCH_DNS_CHURN containers (50) are set up and torn down one at a
// time, at NSNET_BENCH_DNS_RATE q/s; and how many of NSNET_BENCH_DNS_VISIBLE
// containers (100) have a name that does not answer a query sent the moment
// their connect returns. Ratios compare nsnet with each peer.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { createBridgeNetwork, getNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

const NAMES = Number(process.env.NSNET_BENCH_DNS_NAMES || 200);
const SECONDS = Number(process.env.NSNET_BENCH_DNS_SECONDS || 5);
const RATE = Number(process.env.NSNET_BENCH_DNS_RATE || 1000);
const CHURN = Number(process.env.NSNET_BENCH_DNS_CHURN || 50);
const VISIBLE = Number(process.env.NSNET_BENCH_DNS_VISIBLE || 100);
const NETNS_DIR = process.env.NSNET_NETNS_DIR || '/run/netns';
const DNS_SOCKET = process.env.NSNET_DNS_SOCKET || '/run/nsnet/dns.sock';
const AARDVARK = ['/usr/lib/podman/aardvark-dns', '/usr/libexec/podman/aardvark-dns'].find((file) => fs.existsSync(file));
const UPSTREAM = '198.51.100.2';
const DNS_PACKET = createRequire(import.meta.url).resolve('dns-packet');

const run = (command, ...args) => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const which = (program) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((dir) => path.join(dir, program)).find((file) => fs.existsSync(file));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** The run's files (query lists, the peers' tables, resolv.conf): made in main(), removed at the end. */
let work;

/** The queries dnsperf sends: one line a name, for `count` names made by `name(i)`. */
function queryFile(label, count, name) {
  const file = path.join(work, `${label}.queries`);
  fs.writeFileSync(file, Array.from({ length: count }, (_, i) => `${name(i)} A\n`).join(''));
  return file;
}

/** dnsperf's own figures, and the per-query latencies (ms, sorted) when run with -v. */
function parseDnsperf(output) {
  const figure = (label) => Number(output.match(new RegExp(`${label}:\\s+([0-9.]+)`))?.[1] ?? NaN);
  const latencies = [...output.matchAll(/^> \S+ \S+ \S+ ([0-9.]+)$/gm)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  const codes = Object.fromEntries([...(output.match(/Response codes:\s+(.*)/)?.[1] ?? '').matchAll(/([A-Z]+) (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    sent: figure('Queries sent'),
    completed: figure('Queries completed'),
    lost: figure('Queries lost'),
    qps: figure('Queries per second'),
    failed: Object.entries(codes).reduce((sum, [code, n]) => sum + (code === 'NOERROR' ? 0 : n), 0),
    p50: latencies.length ? at(0.5) : NaN,
    p99: latencies.length ? at(0.99) : NaN,
  };
}

/** Starts dnsperf in namespace `netns`; resolves to its parsed figures once it ends (or is interrupted by stop()). */
function startDnsperf(netns, server, file, { seconds, rate, verbose }) {
  const args = ['netns', 'exec', netns, 'dnsperf', '-s', server, '-d', file, '-l', String(seconds), '-t', '1'];
  if (rate) args.push('-Q', String(rate));
  if (verbose) args.push('-v');
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (errors += chunk));
  const done = once(child, 'close').then(([code]) => {
    if (code !== 0) throw new Error(`dnsperf ${args.slice(3).join(' ')} failed (${code}): ${errors.trim()}`);
    return parseDnsperf(output);
  });
  return { done, stop: () => child.kill('SIGINT') };
}

const dnsperf = (netns, server, file, options) => startDnsperf(netns, server, file, options).done;

/**
 * A process in namespace `netns` that sends one A query at a time to
 * `server` and says how it was answered: `query(name)` resolves to
 * { rcode, answers } (rcode 'TIMEOUT' after 1 s).
 */
function startQuerier(netns, server) {
  const script = `
    const dgram = require('node:dgram'), packet = require(${JSON.stringify(DNS_PACKET)});
    const socket = dgram.createSocket('udp4');
    let pending;
    socket.on('message', (message) => {
      const answer = packet.decode(message);
      if (!pending || answer.id !== pending.id) return;
      clearTimeout(pending.timer);
      pending = undefined;
      process.stdout.write(answer.rcode + ' ' + answer.answers.filter((a) => a.type === 'A').length + '\\n');
    });
    require('node:readline').createInterface({ input: process.stdin }).on('line', (name) => {
      const id = Math.floor(Math.random() * 65536);
      pending = { id, timer: setTimeout(() => { pending = undefined; process.stdout.write('TIMEOUT 0\\n'); }, 1000) };
      socket.send(packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), 53, ${JSON.stringify(server)});
    });
    process.stdin.on('end', () => socket.close());`;
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const [rcode, answers] = buffer.slice(0, end).split(' ');
      buffer = buffer.slice(end + 1);
      waiting.shift()?.({ rcode, answers: Number(answers) });
    }
  });
  let queue = Promise.resolve();
  return {
    query(name) {
      const answered = queue.then(() => new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${name}\n`);
      }));
      queue = answered;
      return answered;
    },
    async close() {
      child.stdin.end();
      await once(child, 'close');
    },
  };
}

/** Waits until `name` answers through `querier` (up to `ms`); says whether it did. */
async function answers(querier, name, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await querier.query(name)).answers > 0) return true;
    await sleep(50);
  }
  return false;
}

/** A file's text (or a link's target), '' when there is none. */
function readOrNothing(file, read = (f) => fs.readFileSync(f, 'utf8')) {
  try {
    return read(file);
  } catch {
    return '';
  }
}

/** A process we started, ended by its pid, and waited for. */
async function endProcess(pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); i++) await sleep(20);
}

/** A bridge with `gateway`/16 and a namespace `netns` on it at `address`, as a container would be. */
function makeBridgeAndClient(bridge, gateway, netns, address) {
  run('ip', 'link', 'add', bridge, 'type', 'bridge');
  run('ip', 'address', 'add', `${gateway}/16`, 'dev', bridge);
  run('ip', 'link', 'set', bridge, 'up');
  run('ip', 'netns', 'add', netns);
  run('ip', 'link', 'add', `${bridge}c`, 'master', bridge, 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
  run('ip', '-n', netns, 'address', 'add', `${address}/16`, 'dev', 'eth0');
  run('ip', '-n', netns, 'link', 'set', 'eth0', 'up');
  run('ip', '-n', netns, 'link', 'set', 'lo', 'up');
  run('ip', '-n', netns, 'route', 'add', 'default', 'via', gateway);
}

function removeBridgeAndClient(bridge, netns) {
  run('ip', 'netns', 'del', netns);
  run('ip', 'link', 'del', bridge);
}

/** The address of entry `i` of a peer's table: web names first, then the ones that come and go. */
const peerAddress = (prefix, i) => `${prefix}.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`;

/** The two peers keep a table of names in a file they re-read on SIGHUP, as their runtimes have them do. */
function fileTable(render) {
  const entries = new Map();
  return {
    entries,
    write(file) {
      fs.writeFileSync(`${file}.new`, render([...entries.values()]));
      fs.renameSync(`${file}.new`, file);
    },
  };
}

function aardvarkContender(dnsmasqUpstream) {
  const network = 'dnsaard';
  const gateway = '10.172.0.1';
  const dir = path.join(work, 'aardvark');
  const file = path.join(dir, network);
  const idOf = (name) => createHash('sha256').update(name).digest('hex');
  // Podman's layout (aardvark-dns 1.4): the gateway and the network's DNS servers, then "id ipv4 ipv6 names".
  const table = fileTable((entries) => `${gateway} ${dnsmasqUpstream}\n${entries.map((e) => `${idOf(e.name)} ${e.address}  ${e.names.join(',')}\n`).join('')}`);
  let pid;
  let serial = NAMES;
  const reload = () => {
    try {
      process.kill(pid, 'SIGHUP');
    } catch (error) {
      throw new Error(`aardvark-dns (pid ${pid}) had exited: SIGHUP ${error.code}`);
    }
  };
  return {
    label: `aardvark-dns ${run(AARDVARK, '--version').trim().split(' ').pop()}`,
    server: gateway,
    client: 'dns-aard-client',
    search: (name) => `${name}.dns.podman`,
    async start() {
      fs.mkdirSync(dir);
      makeBridgeAndClient('dnsaard0', gateway, this.client, '10.172.0.250');
      table.entries.set('client', { name: 'client', names: ['client'], address: '10.172.0.250' });
      for (let i = 0; i < NAMES; i++) table.entries.set(`web${i}`, { name: `web${i}`, names: [`web${i}`, `alias${i}`], address: peerAddress('10.172', i) });
      table.write(file);
      // It forks, and its parent exits once the child has written its pid file.
      execFileSync(AARDVARK, ['--config', dir, '-p', '53', 'run'], { stdio: 'ignore' });
      pid = Number(fs.readFileSync(path.join(dir, 'aardvark.pid'), 'utf8'));
    },
    async add(name) {
      table.entries.set(name, { name, names: [name], address: peerAddress('10.172', serial++) });
      table.write(file);
      reload();
    },
    async remove(name) {
      table.entries.delete(name);
      table.write(file);
      reload();
    },
    async stop() {
      if (pid) await endProcess(pid);
      removeBridgeAndClient('dnsaard0', this.client);
    },
  };
}

function dnsmasqContender(dnsmasq, domain = 'dnsbench') {
  const gateway = '10.173.0.1';
  const hosts = path.join(work, 'dnsmasq.hosts');
  const table = fileTable((entries) => entries.map((e) => `${e.address} ${e.names.join(' ')}\n`).join(''));
  let child;
  let serial = NAMES;
  return {
    label: `dnsmasq ${run(dnsmasq, '--version').match(/version (\S+)/)[1]}`,
    server: gateway,
    client: 'dns-masq-client',
    search: (name) => `${name}.${domain}`,
    async start() {
      makeBridgeAndClient('dnsmasq0', gateway, this.client, '10.173.0.250');
      for (let i = 0; i < NAMES; i++) table.entries.set(`web${i}`, { names: [`web${i}`, `alias${i}`], address: peerAddress('10.173', i) });
      table.write(hosts);
      // No cache (forwarded answers are forwarded each time, as by the others); root, the one user a
      // sandbox's user namespace maps; no pid file.
      child = spawn(dnsmasq, ['--no-daemon', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--listen-address', gateway, '--bind-interfaces', '--port', '53',
        `--server=${UPSTREAM}`, `--domain=${domain}`, '--expand-hosts', `--local=/${domain}/`, '--cache-size=0', '--user=root', '--pid-file=', '--log-facility=/dev/null'], { stdio: 'ignore' });
    },
    async add(name) {
      table.entries.set(name, { names: [name], address: peerAddress('10.173', serial++) });
      table.write(hosts);
      child.kill('SIGHUP');
    },
    async remove(name) {
      table.entries.delete(name);
      table.write(hosts);
      child.kill('SIGHUP');
    },
    async stop() {
      if (child?.exitCode === null) await endProcess(child.pid);
      removeBridgeAndClient('dnsmasq0', this.client);
    },
  };
}

function nsnetContender() {
  const network = 'dnsbench';
  const ids = [];
  return {
    label: 'nsnet',
    search: (name) => `${name}.${network}`,
    async start() {
      const resolvConf = path.join(work, 'host-resolv.conf');
      fs.writeFileSync(resolvConf, `nameserver ${UPSTREAM}\n`);
      process.env.NSNET_HOST_RESOLV_CONF = resolvConf;
      // The resolver lets each container forward 1,000 queries a second; the forwarded row
      // measures forwarding itself, as for the peers, which have no such limit.
      process.env.NSNET_DNS_FORWARD_RATE ||= '1000000';
      await createBridgeNetwork({ name: network, subnet: '10.171.0.0/16' });
      this.server = (await getNetwork(network)).gateway;
      try {
        const client = await setupContainer('dnsbench-client', { network, name: 'client' });
        ids.push('dnsbench-client');
        this.client = client.netns.name;
      } catch (error) {
        if (error.code === 'INVALID_ARGUMENT') return `setupContainer takes no container name here (${error.message})`;
        throw error;
      }
      for (let i = 0; i < NAMES; i++) {
        await setupContainer(`dnsbench-web${i}`, { network, name: `web${i}`, aliases: [`alias${i}`] });
        ids.push(`dnsbench-web${i}`);
      }
      return undefined;
    },
    async add(name) {
      await setupContainer(`dnsbench-${name}`, { network, name });
    },
    async remove(name) {
      await teardownContainer(`dnsbench-${name}`);
    },
    async stop() {
      for (const id of ids.splice(0)) await teardownContainer(id);
      await removeNetwork(network).catch(() => undefined);
      // The resolver service its first name started: ended by its pid file, when it runs here.
      const pid = Number(readOrNothing(`${DNS_SOCKET}.pid`).trim());
      if (pid > 0 && readOrNothing(`/proc/${pid}/ns/net`, fs.readlinkSync) === fs.readlinkSync('/proc/self/ns/net')) await endProcess(pid);
    },
  };
}

/** The `wan` namespace with the upstream resolver, a dnsmasq on 198.51.100.2 serving ext0.upstream.test ...; returns its stop(). */
async function startUpstream(dnsmasq) {
  const made = !fs.existsSync(path.join(NETNS_DIR, 'wan'));
  if (made) {
    // As scripts/sandbox --wan makes it, without the default route.
    run('ip', 'netns', 'add', 'wan');
    run('ip', 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'wan');
    run('ip', 'address', 'add', '198.51.100.1/24', 'dev', 'wan0');
    run('ip', 'link', 'set', 'wan0', 'up');
    run('ip', '-n', 'wan', 'link', 'set', 'lo', 'up');
    run('ip', '-n', 'wan', 'address', 'add', `${UPSTREAM}/24`, 'dev', 'eth0');
    run('ip', '-n', 'wan', 'link', 'set', 'eth0', 'up');
  }
  const hosts = path.join(work, 'upstream.hosts');
  fs.writeFileSync(hosts, Array.from({ length: NAMES }, (_, i) => `203.0.113.${(i % 250) + 1} ext${i}.upstream.test\n`).join(''));
  const child = spawn('ip', ['netns', 'exec', 'wan', dnsmasq, '--no-daemon', '--no-resolv', '--no-hosts', `--addn-hosts=${hosts}`, '--listen-address', UPSTREAM, '--bind-interfaces', '--port', '53',
    '--user=root', '--pid-file=', '--log-facility=/dev/null'], { stdio: 'ignore' });
  return async () => {
    await endProcess(child.pid);
    if (made) run('ip', 'netns', 'del', 'wan'); // and wan0 with its peer
  };
}

/** Every row of one contender; undefined figures where it was skipped. */
async function measure(contender) {
  const skipped = await contender.start();
  const querier = skipped ? undefined : startQuerier(contender.client, contender.server);
  try {
    if (skipped) return { note: skipped };
    if (!(await answers(querier, 'web0')) || !(await answers(querier, 'ext0.upstream.test'))) {
      return { note: `nothing answered web0 and ext0.upstream.test at ${contender.server}:53 within 5 s` };
    }
    const files = {
      bare: queryFile(`${contender.client}-bare`, NAMES, (i) => `web${i}`),
      search: queryFile(`${contender.client}-search`, NAMES, (i) => contender.search(`web${i}`)),
      forwarded: queryFile(`${contender.client}-forwarded`, NAMES, (i) => `ext${i}.upstream.test`),
    };
    const figures = {};
    for (const [kind, file] of Object.entries(files)) {
      const full = await dnsperf(contender.client, contender.server, file, { seconds: SECONDS });
      const paced = await dnsperf(contender.client, contender.server, file, { seconds: SECONDS, rate: RATE, verbose: true });
      figures[kind] = { qps: full.qps, lost: full.lost + full.failed, p50: paced.p50, p99: paced.p99 };
    }
    // Names coming and going under a steady load of the names that stay.
    const load = startDnsperf(contender.client, contender.server, files.bare, { seconds: 3600, rate: RATE });
    try {
      await sleep(500);
      for (let i = 0; i < CHURN; i++) await contender.add(`churn${i}`);
      for (let i = 0; i < CHURN; i++) await contender.remove(`churn${i}`);
      await sleep(500);
    } catch (error) {
      figures.failure = `while containers came and went: ${error.message}`;
    } finally {
      load.stop();
    }
    const churn = await load.done;
    if (figures.failure) return figures;
    figures.churn = { sent: churn.sent, lost: churn.lost, failed: churn.failed };
    // A name asked for the moment its connect returns.
    let invisible = 0;
    try {
      for (let i = 0; i < VISIBLE; i++) {
        await contender.add(`vis${i}`);
        if ((await querier.query(`vis${i}`)).answers === 0) invisible++;
        await contender.remove(`vis${i}`);
      }
      figures.invisible = invisible;
    } catch (error) {
      figures.failure = `while names were added one by one: ${error.message}`;
    }
    return figures;
  } finally {
    await querier?.close();
    await contender.stop();
  }
}

const qps = (f) => (Number.isFinite(f?.qps) ? Math.round(f.qps).toLocaleString('en-US') : '-');
const latency = (f) => (Number.isFinite(f?.p50) ? `${f.p50.toFixed(3)} / ${f.p99.toFixed(3)}` : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');

function printTable(labels, results) {
  const [nsnet, ...peers] = results;
  const rows = [['', ...labels, ...labels.slice(1).map((label) => `nsnet vs ${label.split(' ')[0]}`)]];
  const line = (title, cell, better) => rows.push([title, ...results.map(cell), ...peers.map((peer) => better(nsnet, peer))]);
  for (const [kind, title] of [['bare', 'bare names (web17)'], ['search', 'with the search suffix'], ['forwarded', 'forwarded to the upstream']]) {
    line(`${title}: queries/s`, (r) => qps(r[kind]), (n, p) => ratio(n[kind]?.qps, p[kind]?.qps));
    line(`  p50 / p99 ms at ${RATE} q/s`, (r) => latency(r[kind]), (n, p) => ratio(p[kind]?.p99, n[kind]?.p99));
    line('  lost or failed at full speed', (r) => (r[kind] ? String(r[kind].lost) : '-'), () => '');
  }
  const failedOr = (r, text) => (r.failure ? 'failed (below)' : text);
  line(`lost / failed of those sent while ${CHURN} come and go`, (r) => (r.churn ? `${r.churn.lost} / ${r.churn.failed} of ${r.churn.sent}` : failedOr(r, '-')), () => '');
  line(`names not answering at once after connect (of ${VISIBLE})`, (r) => (r.invisible === undefined ? failedOr(r, '-') : String(r.invisible)), () => '');
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('   '));
  console.log('(ratios: queries/s nsnet / peer, latency peer p99 / nsnet p99: above 1x, nsnet is faster)');
}

async function main() {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('run the benchmark inside a throw-away namespace: scripts/sandbox node bench/dns.mjs');
  const dnsmasq = which('dnsmasq');
  if (!which('dnsperf')) throw new Error('dnsperf is not installed: apt-get install dnsperf');
  if (!dnsmasq) throw new Error('dnsmasq, the upstream resolver, is not installed: apt-get install dnsmasq-base');
  console.log(`\nName resolution from a container's namespace: ${NAMES} names, dnsperf ${SECONDS} s a run (p50/p99 at ${RATE} q/s)\n`);
  work = fs.mkdtempSync(path.join(tmpdir(), 'nsnet-bench-dns-'));
  const stopUpstream = await startUpstream(dnsmasq);
  try {
    const contenders = [nsnetContender()];
    if (AARDVARK) contenders.push(aardvarkContender(UPSTREAM));
    else console.log('(aardvark-dns not installed, skipped: apt-get install aardvark-dns)');
    contenders.push(dnsmasqContender(dnsmasq));
    const results = [];
    for (const contender of contenders) {
      const result = await measure(contender);
      if (result.note) console.log(`(${contender.label} skipped: ${result.note})`);
      results.push(result);
    }
    console.log('');
    printTable(contenders.map((c) => c.label), results);
    contenders.forEach((contender, c) => results[c].failure && console.log(`(${contender.label} failed ${results[c].failure})`));
  } finally {
    await stopUpstream().finally(() => fs.rmSync(work, { recursive: true, force: true }));
  }
}

main().catch((error) => {
  console.error(`benchmark aborted: ${error.message}`);
  process.exit(1);
});
