// The resolver service with real sockets: containers on bridge networks ask
// their gateway, port 53, and get their neighbours' names; other names go to
// an upstream server (a small dns-packet server in a namespace of its own,
// standing for the host's); the service is started on demand, killed and
// started again from the state directory.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace } from '../../dist/index.js';
import { dnsAdd, dnsRemove, dnsStatus, dnsSync } from '../../dist/dns/client.js';
import { reverseName } from '../../dist/dns/reverse.js';
import { currentStore } from '../../dist/state/store.js';
import { endpointKey } from '../../dist/types/endpoint.js';
import { eventually, runNode, stop, uniqueName } from '../helpers.mjs';

const root = process.cwd();
const dnsPacketPath = join(root, 'node_modules', 'dns-packet');
const socketDir = '/run/nsnet-dns-test';
const socket = join(socketDir, 'dns.sock');
const hostResolvConf = join(socketDir, 'host-resolv.conf');

/** One question from inside a namespace: the answer's rcode, flags and data, or 'timeout'. */
const QUERY = `
const dgram = require('node:dgram');
const net = require('node:net');
const dnsPacket = require(${JSON.stringify(dnsPacketPath)});
const [server, name, type, transport, timeout] = process.argv.slice(1);
const query = { id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] };
const done = (buffer) => {
  const p = dnsPacket.decode(buffer);
  process.stdout.write(JSON.stringify({ id: p.id, rcode: p.rcode, aa: p.flag_aa, tc: p.flag_tc, question: p.questions[0].name, answers: p.answers.map((a) => a.data) }));
  process.exit(0);
};
setTimeout(() => { process.stdout.write('"timeout"'); process.exit(0); }, Number(timeout));
if (transport === 'tcp') {
  const s = net.connect(53, server, () => s.write(dnsPacket.streamEncode(query)));
  let got = Buffer.alloc(0);
  s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(got.subarray(2)); });
  s.on('error', (e) => { process.stdout.write(JSON.stringify(e.code)); process.exit(0); });
} else {
  const s = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
  s.on('message', done);
  s.send(dnsPacket.encode(query), 53, server);
}
`;

/**
 * The upstream: ext.example has one address; mid.example comes truncated
 * over UDP and whole (10 addresses) over TCP; anything else is NXDOMAIN.
 * Prints "udp NAME" or "tcp NAME" for each question.
 */
const UPSTREAM = `
const dgram = require('node:dgram');
const net = require('node:net');
const dnsPacket = require(${JSON.stringify(dnsPacketPath)});
function answer(query, transport) {
  const q = query.questions[0];
  console.log(transport + ' ' + q.name);
  const response = { id: query.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | (query.flags & dnsPacket.RECURSION_DESIRED), questions: query.questions, answers: [] };
  if (q.name === 'ext.example') response.answers.push({ type: 'A', name: q.name, ttl: 60, data: '192.0.2.10' });
  else if (q.name === 'mid.example' && transport === 'udp') response.flags |= dnsPacket.TRUNCATED_RESPONSE;
  else if (q.name === 'mid.example') for (let i = 1; i <= 10; i++) response.answers.push({ type: 'A', name: q.name, ttl: 60, data: '192.0.2.' + i });
  else response.flags |= 3;
  return dnsPacket.encode(response);
}
const udp = dgram.createSocket('udp4');
udp.on('message', (m, peer) => udp.send(answer(dnsPacket.decode(m), 'udp'), peer.port, peer.address));
const tcp = net.createServer((s) => s.on('data', (d) => s.write(dnsPacket.streamEncode(dnsPacket.decode(answer(dnsPacket.streamDecode(d), 'tcp'))))));
udp.bind(53, () => tcp.listen(53, () => console.log('listening')));
`;

function ask(ns, server, name, type = 'A', transport = 'udp', timeoutMs = 2000) {
  return runNode(ns, QUERY, [server, name, type, transport, String(timeoutMs)]).then(JSON.parse);
}

/** The pid in the service's pid file, if any. */
function servicePid() {
  try {
    return Number(readFileSync(`${socket}.pid`, 'utf8'));
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Ends the service this test started, by the pid it wrote, and waits until it is gone. */
async function endService(signal = 'SIGTERM') {
  const pid = servicePid();
  if (!pid || !alive(pid)) return;
  process.kill(pid, signal);
  expect(await eventually(() => !alive(pid), 5000), `service ${pid} still runs`).to.equal(true);
}

describe('resolver service', function () {
  this.timeout(60000);
  const saved = {};
  let netA, netB, netUp, upstream, upstreamAddress;
  const ns = {};
  const eps = {};

  const recordName = (key) => endpointKey(eps[key].network, ns[key].inode);
  const dnsNetwork = (net) => ({
    name: net.name,
    gateway: net.gateway,
    internal: net.internal,
    subnet: net.subnet,
    ...(net.ipv6 ? { gateway6: net.ipv6.gateway, subnet6: net.ipv6.subnet } : {}),
  });
  const dnsEndpoint = (key, names) => {
    const ep = eps[key];
    return { id: ep.id, network: ep.network, netnsInode: ns[key].inode, ipv4: ep.ipv4, ...(ep.ipv6 ? { ipv6: ep.ipv6 } : {}), names };
  };
  /** web and api on network A (dual stack), db on network B; stray on A with no names in the table. */
  const addAll = async () => {
    await dnsAdd(dnsNetwork(netA), dnsEndpoint('web', ['web', 'www.local']));
    await dnsAdd(dnsNetwork(netA), dnsEndpoint('api', ['api']));
    await dnsAdd(dnsNetwork(netB), dnsEndpoint('db', ['db']));
  };

  before(async () => {
    for (const key of ['NSNET_DNS_SOCKET', 'NSNET_HOST_RESOLV_CONF', 'NSNET_DNS_UPSTREAM_TIMEOUT_MS']) saved[key] = process.env[key];
    mkdirSync(socketDir, { recursive: true });
    process.env.NSNET_DNS_SOCKET = socket;
    process.env.NSNET_HOST_RESOLV_CONF = hostResolvConf;
    process.env.NSNET_DNS_UPSTREAM_TIMEOUT_MS = '500';
    netA = await createBridgeNetwork({ name: uniqueName('dna'), subnet: '10.150.0.0/24', ipv6: { subnet: 'fd00:150::/64' } });
    netB = await createBridgeNetwork({ name: uniqueName('dnb'), subnet: '10.151.0.0/24' });
    netUp = await createBridgeNetwork({ name: uniqueName('dnu'), subnet: '10.152.0.0/24' });
    for (const [key, net] of [['web', netA], ['api', netA], ['stray', netA], ['db', netB], ['up', netUp]]) {
      ns[key] = await NetNamespace.create(uniqueName('dns'));
      eps[key] = await net.connect(ns[key]);
    }
    // The connects gave the resolver each endpoint's id as its name (starting it on demand): these
    // tests give it names themselves, so they start from a table empty and records without names.
    await endService();
    const store = currentStore();
    await store.locked(async () => {
      for (const key of Object.keys(eps)) {
        const { names: _names, ...record } = await store.read('endpoints', recordName(key));
        await store.write('endpoints', recordName(key), record);
      }
    });
    upstreamAddress = eps.up.ipv4;
    upstream = ns.up.spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
    upstream.log = '';
    await new Promise((resolve, reject) => {
      upstream.stdout.on('data', (chunk) => {
        upstream.log += chunk;
        if (upstream.log.includes('listening')) resolve();
      });
      upstream.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
    });
    writeFileSync(hostResolvConf, `nameserver ${upstreamAddress}\n`);
  });

  afterEach(() => endService());

  after(async () => {
    await endService();
    if (upstream) await stop(upstream);
    for (const net of [netA, netB, netUp]) await net?.remove({ force: true });
    for (const handle of Object.values(ns)) await handle.delete().catch(() => undefined);
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('dnsAdd starts the service on demand; containers get their network\'s names from its gateway', async () => {
    expect(await dnsStatus()).to.equal(undefined);
    await addAll();
    const status = await dnsStatus();
    expect(status.pid).to.equal(servicePid());
    expect(status.names).to.equal(4);
    expect(status.networks.map((n) => [n.name, n.gateway, n.endpoints]).sort()).to.deep.equal(
      [[netA.name, netA.gateway, 2], [netB.name, netB.gateway, 1]].sort(),
    );
    const gw = netA.gateway;
    const web = await ask(ns.api, gw, 'web');
    expect(web).to.include({ id: 4242, rcode: 'NOERROR', aa: true, question: 'web' });
    expect(web.answers).to.deep.equal([eps.web.ipv4]);
    expect((await ask(ns.api, gw, 'WWW.local')).answers).to.deep.equal([eps.web.ipv4]);
    expect((await ask(ns.api, gw, `web.${netA.name}`)).answers).to.deep.equal([eps.web.ipv4]);
    expect((await ask(ns.api, gw, 'web', 'AAAA')).answers).to.deep.equal([eps.web.ipv6]);
    expect((await ask(ns.web, gw, reverseName(eps.api.ipv4), 'PTR')).answers).to.deep.equal([`api.${netA.name}`]);
    expect((await ask(ns.web, gw, reverseName(eps.api.ipv6), 'PTR')).answers).to.deep.equal([`api.${netA.name}`]);
    expect(await ask(ns.web, gw, `nobody.${netA.name}`)).to.include({ rcode: 'NXDOMAIN', aa: true });
    // Over TCP, and on the IPv6 gateway.
    expect((await ask(ns.api, gw, 'web', 'A', 'tcp')).answers).to.deep.equal([eps.web.ipv4]);
    let v6;
    for (let i = 0; i < 20 && (v6 = await ask(ns.api, netA.ipv6.gateway, 'web', 'A', 'udp', 500)) === 'timeout'; i++);
    expect(v6.answers).to.deep.equal([eps.web.ipv4]);
  });

  it('a name is not visible from a namespace on another network; a source not in the table is dropped', async () => {
    await addAll();
    // db (network B) asks about web (network A only): not the table's, so forwarded, and the upstream knows nothing.
    for (const name of ['web', `web.${netA.name}`]) {
      const answer = await ask(ns.db, netB.gateway, name);
      expect(answer, name).to.include({ rcode: 'NXDOMAIN', aa: false });
      expect(answer.answers).to.deep.equal([]);
    }
    expect((await ask(ns.db, netB.gateway, 'db')).answers).to.deep.equal([eps.db.ipv4]);
    // stray is on network A but not in the table: no answer at all, on UDP or TCP.
    expect(await ask(ns.stray, netA.gateway, 'web', 'A', 'udp', 1000)).to.equal('timeout');
    expect(await ask(ns.stray, netA.gateway, 'web', 'A', 'tcp', 1000)).to.be.oneOf(['timeout', 'ECONNRESET']);
  });

  it('forwards other names to the host\'s upstream: UDP, TCP when truncated, failing over from a dead one', async () => {
    await addAll();
    const external = await ask(ns.web, netA.gateway, 'ext.example');
    expect(external).to.include({ rcode: 'NOERROR', aa: false });
    expect(external.answers).to.deep.equal(['192.0.2.10']);
    upstream.log = '';
    const mid = await ask(ns.web, netA.gateway, 'mid.example');
    expect([mid.tc, mid.answers.length]).to.deep.equal([false, 10]);
    expect(upstream.log).to.equal('udp mid.example\ntcp mid.example\n');
    // A dead first upstream: after its timeout, the next answers.
    writeFileSync(hostResolvConf, `nameserver 10.152.0.250\nnameserver ${upstreamAddress}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the service reads the file again after a second
    try {
      const started = Date.now();
      const failedOver = await ask(ns.web, netA.gateway, 'ext.example', 'A', 'udp', 3000);
      expect(failedOver.answers).to.deep.equal(['192.0.2.10']);
      expect(Date.now() - started).to.be.greaterThan(450);
      // Only dead ones: SERVFAIL.
      writeFileSync(hostResolvConf, 'nameserver 10.152.0.250\nnameserver 10.152.0.251\n');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await ask(ns.web, netA.gateway, 'ext.example', 'A', 'udp', 3000)).to.include({ rcode: 'SERVFAIL' });
    } finally {
      writeFileSync(hostResolvConf, `nameserver ${upstreamAddress}\n`);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  });

  it('killed, and started again by the next dnsAdd, it answers every name from the state directory; sync drops what is gone', async () => {
    // The network layer records names with the endpoint; here the test writes them.
    const store = currentStore();
    const names = { web: ['web', 'www.local'], api: ['api'], db: ['db'] };
    await store.locked(async () => {
      for (const [key, list] of Object.entries(names)) {
        const record = await store.read('endpoints', recordName(key));
        await store.write('endpoints', recordName(key), { ...record, names: list });
      }
    });
    try {
      await addAll();
      const first = servicePid();
      await endService('SIGKILL');
      await dnsSync(); // no service: nothing to do
      expect(await dnsStatus()).to.equal(undefined);
      await dnsAdd(dnsNetwork(netA), dnsEndpoint('api', ['api']));
      expect(servicePid()).to.not.equal(first);
      expect((await dnsStatus()).names).to.equal(4);
      expect((await ask(ns.api, netA.gateway, 'www.local')).answers).to.deep.equal([eps.web.ipv4]);
      expect((await ask(ns.db, netB.gateway, 'db')).answers).to.deep.equal([eps.db.ipv4]);
      // db's record goes: after a sync its name is gone and network B's listener closes.
      const dbRecord = await store.read('endpoints', recordName('db'));
      await store.locked(() => store.remove('endpoints', recordName('db')));
      try {
        await dnsSync();
        const status = await dnsStatus();
        expect(status.networks.map((n) => n.name)).to.deep.equal([netA.name]);
        expect(await ask(ns.db, netB.gateway, 'db', 'A', 'udp', 1000)).to.equal('timeout');
      } finally {
        await store.locked(() => store.write('endpoints', recordName('db'), dbRecord));
      }
      await dnsRemove(netA.name, eps.web.id);
      expect((await ask(ns.api, netA.gateway, 'web')).rcode).to.equal('NXDOMAIN'); // forwarded: the upstream's
    } finally {
      await store.locked(async () => {
        for (const key of Object.keys(names)) {
          const { names: _names, ...record } = await store.read('endpoints', recordName(key));
          await store.write('endpoints', recordName(key), record);
        }
      });
    }
  });

  it('two processes calling dnsAdd at once with no service running end with one service', async () => {
    const script = (key, names) => `
      const { dnsAdd, dnsStatus } = require(${JSON.stringify(join(root, 'dist', 'dns', 'client.js'))});
      dnsAdd(${JSON.stringify(dnsNetwork(netA))}, ${JSON.stringify(dnsEndpoint(key, names))})
        .then(() => dnsStatus()).then((s) => process.stdout.write(String(s.pid)), (e) => { console.error(e); process.exit(1); });
    `;
    const run = (key, names) => {
      const child = spawn(process.execPath, ['-e', script(key, names)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      return once(child, 'exit').then(([code]) => {
        expect(code).to.equal(0);
        return Number(out);
      });
    };
    const [one, two] = await Promise.all([run('web', ['web']), run('api', ['api'])]);
    expect(one).to.equal(two);
    expect(one).to.equal(servicePid());
    expect(listServices()).to.deep.equal([one]);
    expect((await dnsStatus()).names).to.equal(2);
  });

  it('nsnet dns serve stays until SIGTERM, refuses a second service, and nsnet dns status reports it; --on-demand leaves when idle', async () => {
    const bin = join(root, 'bin', 'nsnet.js');
    const nsnet = (args) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
    expect(await nsnet(['dns', 'status'])).to.include({ code: 1, stdout: `no resolver service answers on ${socket}\n` });
    const service = spawn(process.execPath, [bin, 'dns', 'serve', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await new Promise((resolve) => service.stderr.once('data', resolve));
      expect(servicePid()).to.equal(service.pid);
      const second = await nsnet(['dns', 'serve']);
      expect([second.code, second.stderr]).to.deep.equal([1, `nsnet: SERVICE_RUNNING: an nsnet resolver service already answers on ${socket}\n`]);
      await dnsAdd(dnsNetwork(netA), dnsEndpoint('web', ['web']));
      const status = await nsnet(['dns', 'status', '--json']);
      expect(JSON.parse(status.stdout)).to.deep.include({ pid: service.pid, names: 1 });
      expect((await nsnet(['dns', 'status'])).stdout).to.equal(
        `resolver service pid ${service.pid}: 1 name\n  ${netA.name}: ${netA.gateway}, ${netA.ipv6.gateway} port 53, 1 endpoint\n`,
      );
    } finally {
      await stop(service);
    }
    expect(servicePid()).to.equal(undefined);
    const idle = spawn(process.execPath, [bin, 'dns', 'serve', '--on-demand', '--idle-exit-ms', '300'], { stdio: 'ignore' });
    try {
      const [code] = await Promise.race([once(idle, 'exit'), new Promise((resolve) => setTimeout(() => resolve(['still running']), 5000))]);
      expect(code).to.equal(0);
    } finally {
      await stop(idle);
    }
  });
});

/** The pids of processes running `nsnet dns serve` on this test's socket (read from /proc, to count them). */
function listServices() {
  const pids = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (cmdline.includes('dns') && cmdline.includes('serve') && cmdline.includes(socket) && alive(entry)) pids.push(Number(entry));
  }
  return pids;
}

function readdirSafe(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
