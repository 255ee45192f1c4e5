// Traffic figures: link counters after real TCP traffic between two
// containers, read by ns.links and by `nsnet stats`, with `ip -s link` as the
// oracle. Counters only grow, so a figure read between two `ip` reads must lie
// between what they listed.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { expectReject, ipJson, runNode, uniqueName } from '../helpers.mjs';

const bin = join(process.cwd(), 'bin', 'nsnet.js');
const MEGABYTES = 4;

/** Runs `nsnet ARGS...` to the end: { code, stdout, stderr }. */
function nsnet(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

/** `ip -s link show DEV` in the container's namespace: its stats64 as { rx, tx } bytes and packets. */
function ipCounters(netnsName, dev) {
  const [link] = ipJson(['-s', 'link', 'show', 'dev', dev], netnsName);
  const { rx, tx } = link.stats64;
  return { rxBytes: rx.bytes, txBytes: tx.bytes, rxPackets: rx.packets, txPackets: tx.packets };
}

/** Expects each counter of `read` to lie between what `before` and `after` listed. */
function expectBetween(read, before, after, what) {
  for (const key of Object.keys(before)) {
    expect(read[key], `${what} ${key}`).to.be.within(before[key], after[key]);
  }
}

/** A server in `receiver` that reads until the end and answers how many bytes it got. */
async function startSink(receiver) {
  const script = `
    require('node:net').createServer((socket) => {
      let received = 0;
      socket.on('data', (chunk) => (received += chunk.length));
      socket.on('end', () => socket.end(String(received)));
    }).listen(9000, () => console.log('listening'));
  `;
  const child = receiver.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  return child;
}

/** Sends `bytes` from `sender` to host:9000; resolves to what the server says it received. */
async function send(sender, host, bytes) {
  const script = `
    const socket = require('node:net').connect(9000, process.argv[1], () => socket.end(Buffer.alloc(Number(process.argv[2]), 0x5a)));
    let reply = '';
    socket.on('data', (data) => (reply += data)).on('end', () => process.stdout.write(reply));
  `;
  return Number(await runNode(sender, script, [host, String(bytes)]));
}

describe('traffic figures', function () {
  this.timeout(60000);
  let front;
  let back;
  let sender;
  let receiver;
  const ids = {};

  before(async () => {
    front = await createBridgeNetwork({ name: uniqueName('stf'), subnet: '10.95.1.0/24' });
    back = await createBridgeNetwork({ name: uniqueName('stb'), subnet: '10.95.2.0/24', internal: true });
    ids.sender = uniqueName('sts');
    ids.receiver = uniqueName('str');
    ids.joiner = uniqueName('stj');
    ids.host = uniqueName('sth');
    ids.none = uniqueName('stn');
    sender = await setupContainer(ids.sender, { network: front.name });
    receiver = await setupContainer(ids.receiver, { network: front.name });
    // The sender on a second network too (eth1), and a container sharing its namespace.
    await back.connect(sender.netns, { ifname: 'eth1' });
    await setupContainer(ids.joiner, { network: `container:${ids.sender}` });
    await setupContainer(ids.host, { network: 'host' });
    await setupContainer(ids.none, { network: 'none' });
    const sink = await startSink(receiver.netns);
    try {
      expect(await send(sender.netns, receiver.endpoint.ipv4, 1000)).to.equal(1000); // ARP and the path settled
    } finally {
      sink.kill();
    }
  });

  after(async () => {
    for (const id of [ids.joiner, ids.host, ids.none, ids.receiver]) if (id) await teardownContainer(id);
    if (sender) await back.disconnect(sender.netns);
    if (ids.sender) await teardownContainer(ids.sender);
    for (const net of [front, back]) if (net) await removeNetwork(net.name);
  });

  it('counts a few MB over TCP alike at both ends, and as ip -s link does', async () => {
    const sink = await startSink(receiver.netns);
    const read = async () => ({
      sent: (await sender.netns.links.get('eth0', { stats: true })).stats,
      received: (await receiver.netns.links.get('eth0', { stats: true })).stats,
    });
    let start;
    let end;
    let ipBefore;
    let ipAfter;
    try {
      start = await read();
      expect(await send(sender.netns, receiver.endpoint.ipv4, MEGABYTES * 1e6)).to.equal(MEGABYTES * 1e6);
      ipBefore = { sent: ipCounters(ids.sender, 'eth0'), received: ipCounters(ids.receiver, 'eth0') };
      end = await read();
      ipAfter = { sent: ipCounters(ids.sender, 'eth0'), received: ipCounters(ids.receiver, 'eth0') };
    } finally {
      sink.kill();
    }
    const sent = end.sent.txBytes - start.sent.txBytes;
    const received = end.received.rxBytes - start.received.rxBytes;
    expect(sent).to.be.above(MEGABYTES * 1e6); // payload plus headers
    expect(Math.abs(sent - received) / sent).to.be.below(0.01);
    expect(end.received.rxPackets - start.received.rxPackets).to.be.above(0);
    expectBetween(end.sent, ipBefore.sent, ipAfter.sent, 'sender');
    expectBetween(end.received, ipBefore.received, ipAfter.received, 'receiver');
  });

  it('adds stats only when asked, to every link listed', async () => {
    expect(await sender.netns.links.get('eth0')).to.not.have.property('stats');
    expect((await sender.netns.links.list()).some((link) => 'stats' in link)).to.equal(false);
    const listed = await sender.netns.links.list({ stats: true });
    expect(listed.map((link) => link.name).sort()).to.deep.equal(['eth0', 'eth1', 'lo']);
    for (const link of listed) expect(link.stats.rxBytes, link.name).to.be.a('number');
    await expectReject(sender.netns.links.get('eth0', { stats: 'yes' }), 'NsnetError', 'INVALID_ARGUMENT');
  });

  it('nsnet stats --no-stream --json lists every container with the figures ip lists', async () => {
    const dev = (id, ifname) => ({ id, ifname });
    const devices = [dev(ids.sender, 'eth0'), dev(ids.sender, 'eth1'), dev(ids.receiver, 'eth0')];
    const before = devices.map(({ id, ifname }) => ipCounters(id, ifname));
    const result = await nsnet(['stats', '--no-stream', '--json']);
    const after = devices.map(({ id, ifname }) => ipCounters(id, ifname));
    expect(result).to.include({ code: 0, stderr: '' });
    const entries = JSON.parse(result.stdout);
    const ps = JSON.parse((await nsnet(['ps', '--json'])).stdout);
    expect(entries.map((e) => e.id)).to.deep.equal(ps.containers.filter((c) => c.status === 'ready').map((c) => c.id).sort());
    const byId = new Map(entries.map((e) => [e.id, e]));
    devices.forEach(({ id, ifname }, i) => {
      const counted = byId.get(id).interfaces.find((x) => x.ifname === ifname);
      expectBetween(counted, before[i], after[i], `${id} ${ifname}`);
    });
    const sending = byId.get(ids.sender);
    expect(sending.networks).to.deep.equal([front.name, back.name]);
    expect(sending.rxBytes).to.equal(sending.interfaces[0].rxBytes + sending.interfaces[1].rxBytes);
    expect(sending.txBytes).to.be.above(MEGABYTES * 1e6); // rx is what the container received, not its host end
    expect(sending.rxRate).to.be.a('number');
    // The joiner shows the figures of the namespace it shares.
    const joiner = byId.get(ids.joiner);
    expect(joiner.joined).to.equal(ids.sender);
    expect(joiner.interfaces.map((x) => x.ifname)).to.deep.equal(['eth0', 'eth1']);
    expectBetween(joiner.interfaces[0], before[0], after[0], 'joiner eth0');
    expect(byId.get(ids.host)).to.include({ rxBytes: null, txBytes: null, rxRate: null });
    expect(byId.get(ids.none)).to.include({ rxBytes: 0, txBytes: 0 });
    expect(byId.get(ids.none).interfaces).to.deep.equal([]);
  });

  it('the table shows received / sent in Docker units, a row per interface of a container on two networks', async () => {
    const result = await nsnet(['stats', '--no-stream', ids.sender, ids.host]);
    expect(result.code).to.equal(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^CONTAINER\s+NETWORK\s+NET I\/O\s+RX RATE\s+TX RATE$/);
    expect(lines[1]).to.match(new RegExp(`^${ids.sender}\\s+${front.name},${back.name}\\s+\\S+ / [\\d.]+MB\\s+\\S+/s\\s+\\S+/s$`));
    expect(lines[2]).to.match(/^ {2}eth0\s/);
    expect(lines[3]).to.match(/^ {2}eth1\s/);
    expect(lines[4]).to.match(new RegExp(`^${ids.host}\\s+host\\s+-\\s+-\\s+-$`));
  });

  for (const [signal, args] of [['SIGTERM', ['--json']], ['SIGINT', []]]) {
    it(`streams a refresh every second and ends with status 0 on ${signal} (${args.length ? 'JSON lines' : 'tables'})`, async () => {
      const child = spawn(process.execPath, [bin, 'stats', ...args, ids.sender, ids.receiver], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const refreshes = () => (args.length ? stdout.split('\n').slice(0, -1).filter(Boolean).length : stdout.split('CONTAINER').length - 1);
      const deadline = Date.now() + 15000;
      while (refreshes() < 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(refreshes(), stdout + stderr).to.be.at.least(2);
      child.kill(signal);
      const [code, killedBy] = await once(child, 'close');
      expect({ code, killedBy, stderr }).to.deep.equal({ code: 0, killedBy: null, stderr: '' });
      if (args.length) {
        const frames = stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
        for (const frame of frames) expect(frame.map((e) => e.id)).to.deep.equal([ids.sender, ids.receiver]);
        expect(frames[0][0].rxRate).to.equal(null);
        expect(frames[1][0].rxRate).to.be.a('number');
      }
    });
  }

  it('keeps no namespace open between refreshes: a container torn down while it streams has its veth gone at once', async () => {
    const id = uniqueName('stg');
    const c = await setupContainer(id, { network: front.name });
    const child = spawn(process.execPath, [bin, 'stats', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    try {
      // Complete lines only: the last may still be arriving (a frame of many containers comes in several chunks).
      const frames = () => stdout.split('\n').slice(0, -1).filter(Boolean).map((line) => JSON.parse(line));
      const listed = () => frames().some((frame) => frame.some((e) => e.id === id && e.interfaces.length === 1));
      const deadline = Date.now() + 15000;
      while (!listed() && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      expect(listed(), stdout).to.equal(true);
      // Just after a refresh, a second before the next.
      await teardownContainer(id);
      const hostEnds = () => ipJson(['link', 'show', 'type', 'veth']).map((link) => link.ifname);
      for (let i = 0; i < 8 && hostEnds().includes(c.endpoint.hostIfname); i++) await new Promise((r) => setTimeout(r, 50));
      expect(hostEnds()).to.not.include(c.endpoint.hostIfname);
    } finally {
      child.kill('SIGTERM');
      await teardownContainer(id).catch(() => undefined);
    }
  });
});
