// Bandwidth limits with the kernel as the oracle (`tc -j`, `ip -j`) and real
// TCP traffic between a container and a `wan` namespace standing for the
// outside world (host 198.51.100.65, wan 198.51.100.66).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { CniRuntime } from '../cni-runtime.mjs';
import { createWan, eventually, expectReject, ipJson, linkNames, newLinks, runWithFault, stop, uniqueName } from '../helpers.mjs';

const HOST = '198.51.100.65';
const WAN = '198.51.100.66';
const TRANSFER = join(process.cwd(), 'test/integration/workers/transfer.mjs');
const FAULT_WORKER = join(process.cwd(), 'test/integration/workers/fault-operation.mjs');
const RATE = 10e6;

const tc = (...args) => JSON.parse(execFileSync('tc', ['-j', ...args], { encoding: 'utf8' }) || '[]');
const qdiscsOf = (dev) => tc('qdisc', 'show', 'dev', dev);
const ifbs = () => ipJson(['link', 'show', 'type', 'ifb']).map((link) => link.ifname);
const ifbOf = (endpoint) => `ifb${endpoint.id.slice(0, 7)}`;

/** The root tbf of `dev`, as tc shows it: rate in bytes per second, burst in bytes. */
function rootTbf(dev) {
  return qdiscsOf(dev).find((q) => q.root && q.kind === 'tbf')?.options;
}

/** The device the u32 filter on `dev`'s ingress qdisc redirects to. */
function redirectTarget(dev) {
  const filters = tc('filter', 'show', 'dev', dev, 'ingress');
  return filters.flatMap((f) => f.options?.actions ?? []).find((a) => a.kind === 'mirred' && a.mirred_action === 'redirect')?.to_dev;
}

/** Starts the `listen` end in `ns`; resolves to the child once it listens. */
async function listen(ns, host, port, role) {
  const child = ns.spawn(process.execPath, [TRANSFER, 'listen', host, String(port), role], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`transfer end exited with ${code}`)));
  });
  return { child, output: () => output };
}

/**
 * A TCP transfer from `sender` to `receiver` over about 3 s, the connection
 * made from `container` to the wan server: bits per second as the receiver counted them.
 */
async function measure(container, wan, direction, port) {
  const serverRole = direction === 'egress' ? 'receive' : 'send';
  const server = await listen(wan, WAN, port, serverRole);
  const client = container.spawn(process.execPath, [TRANSFER, 'connect', WAN, String(port), direction === 'egress' ? 'send' : 'receive'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let clientOutput = '';
  client.stdout.on('data', (chunk) => (clientOutput += chunk));
  try {
    await once(client, 'exit');
    if (server.child.exitCode === null) await once(server.child, 'exit');
  } finally {
    await stop(server.child);
    await stop(client);
  }
  const line = (direction === 'egress' ? server.output() : clientOutput).trim().split('\n').at(-1);
  return JSON.parse(line).bitsPerSecond;
}

describe('bandwidth limits', function () {
  this.timeout(120000);
  const network = uniqueName('bw');
  let wan;
  let removeWan;

  before(async () => {
    await createBridgeNetwork({ name: network, subnet: '10.181.0.0/24' });
    ({ netns: wan, remove: removeWan } = await createWan(uniqueName('bww'), { host: HOST, wan: WAN }));
    await NetNamespace.host().routes.replace({ dst: 'default', gateway: WAN });
  });
  after(async () => {
    await NetNamespace.host().routes.delete({ dst: 'default', gateway: WAN }).catch(() => undefined);
    await removeWan?.();
    await removeNetwork(network, { force: true }).catch(() => undefined);
  });

  it('makes a tbf on the host end (ingress) and an ifb with a tbf fed by a u32 mirred redirect (egress); teardown takes them all', async () => {
    const id = uniqueName('bwk');
    const c = await setupContainer(id, { network, bandwidth: { ingress: { rate: '10mbit' }, egress: { rate: '1.5gbit', burst: '1mb' } } });
    const host = c.endpoint.hostIfname;
    const ifb = ifbOf(c.endpoint);
    expect(c.endpoint.bandwidth).to.deep.equal({ ingress: { rate: 10e6, burst: 16384 }, egress: { rate: 1.5e9, burst: 2 ** 20 } });

    expect(rootTbf(host)).to.include({ rate: 1250000, lat: 25000 });
    expect(rootTbf(host).burst).to.be.within(16383, 16384); // tc shows it back from ticks
    expect(qdiscsOf(host).some((q) => q.kind === 'ingress' && q.parent === 'ffff:fff1')).to.equal(true);
    expect(redirectTarget(host)).to.equal(ifb);
    expect(rootTbf(ifb)).to.include({ rate: 187500000, lat: 25000 });
    const ifbLink = ipJson(['-d', 'link', 'show', 'dev', ifb])[0];
    expect(ifbLink.flags).to.include('UP');
    expect(ifbLink.ifalias).to.equal(`nsnet:endpoint:${network}:${c.endpoint.id}`);
    // Nothing on the container's own side, where its processes could remove it.
    const inside = JSON.parse(execFileSync('ip', ['netns', 'exec', id, 'tc', '-j', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' }));
    expect(inside.map((q) => q.kind)).to.not.include('tbf');

    await teardownContainer(id);
    expect(ifbs()).to.not.include(ifb);
    // The veth goes with the namespace, which the kernel deletes in the background.
    const hostEndGone = () => !ipJson(['link']).some((l) => l.ifname === host);
    expect(await eventually(hostEndGone, 10000), `${host} still there`).to.equal(true);
  });

  it('net.connect of a namespace that exists takes limits too; disconnect removes the veth with its qdiscs, and the ifb', async () => {
    const net = await getNetwork(network);
    const ns = await NetNamespace.create(uniqueName('bwo'));
    try {
      const endpoint = await net.connect(ns, { ifname: 'eth1', bandwidth: { ingress: { rate: '3mbit' }, egress: { rate: '4mbit' } } });
      expect(rootTbf(endpoint.hostIfname)).to.include({ rate: 375000 });
      expect(redirectTarget(endpoint.hostIfname)).to.equal(ifbOf(endpoint));
      expect(rootTbf(ifbOf(endpoint))).to.include({ rate: 500000 });
      await net.disconnect(ns);
      expect(ipJson(['link']).map((l) => l.ifname)).to.not.include.members([endpoint.hostIfname, ifbOf(endpoint)]);
    } finally {
      await ns.delete();
    }
  });

  it('an endpoint without limits gets no qdisc, and an ingress limit alone no ifb', async () => {
    const id = uniqueName('bwn');
    const plain = await setupContainer(id, { network });
    expect(qdiscsOf(plain.endpoint.hostIfname).map((q) => q.kind)).to.not.include.members(['tbf', 'ingress']);
    await teardownContainer(id);
    const before = ifbs();
    const onlyIngress = await setupContainer(id, { network, bandwidth: { ingress: { rate: 5e6 } } });
    expect(rootTbf(onlyIngress.endpoint.hostIfname)).to.include({ rate: 625000 });
    expect(ifbs()).to.deep.equal(before);
    await teardownContainer(id);
  });

  for (const direction of ['egress', 'ingress']) {
    it(`${direction} 10mbit: a TCP transfer runs at 10 Mbit/s ± 15%, and far faster without the limit`, async () => {
      const limited = uniqueName('bwl');
      const free = uniqueName('bwf');
      const c = await setupContainer(limited, { network, bandwidth: { [direction]: { rate: '10mbit' } } });
      const d = await setupContainer(free, { network });
      try {
        const rate = await measure(c.netns, wan, direction, 18201);
        expect(rate, `${rate} bit/s`).to.be.within(RATE * 0.85, RATE * 1.15);
        const unlimited = await measure(d.netns, wan, direction, 18202);
        expect(unlimited, `${unlimited} bit/s`).to.be.above(RATE * 5);
      } finally {
        await teardownContainer(limited);
        await teardownContainer(free);
      }
    });
  }

  it('a setup from a warm pool gets its limits at claim', async () => {
    const pooled = uniqueName('bwp');
    const net = await createBridgeNetwork({ name: pooled, subnet: '10.183.0.0/24', firewall: 'none', pool: { size: 1 } });
    const id = uniqueName('bwq');
    try {
      await net.pool().filled();
      const c = await setupContainer(id, { network: pooled, bandwidth: { ingress: { rate: '10mbit' }, egress: { rate: '20mbit' } } });
      expect(rootTbf(c.endpoint.hostIfname)).to.include({ rate: 1250000 });
      expect(redirectTarget(c.endpoint.hostIfname)).to.equal(ifbOf(c.endpoint));
      expect(rootTbf(ifbOf(c.endpoint))).to.include({ rate: 2500000 });
      await teardownContainer(id);
      expect(ifbs()).to.not.include(ifbOf(c.endpoint));
    } finally {
      net.pool(0);
      await removeNetwork(pooled, { force: true });
    }
  });

  it('a limit without a burst on a network of a large MTU gets a burst a packet of that MTU fits in', async () => {
    const jumbo = uniqueName('bwj');
    await createBridgeNetwork({ name: jumbo, subnet: '10.183.0.0/24', mtu: 20000 });
    const id = uniqueName('bwj');
    try {
      const c = await setupContainer(id, { network: jumbo, bandwidth: { ingress: { rate: '1mbit' }, egress: { rate: '1mbit' } } });
      expect(c.endpoint.bandwidth).to.deep.equal({ ingress: { rate: 1e6, burst: 20014 }, egress: { rate: 1e6, burst: 20014 } });
      expect(rootTbf(c.endpoint.hostIfname).burst).to.be.within(20013, 20014);
      expect(rootTbf(ifbOf(c.endpoint)).burst).to.be.within(20013, 20014);
    } finally {
      await teardownContainer(id).catch(() => undefined);
      await removeNetwork(jumbo, { force: true });
    }
  });

  it('refuses bad limits with INVALID_BANDWIDTH before anything is made', async () => {
    const before = { links: linkNames(), netns: (await NetNamespace.list()).length };
    const bad = [{ egress: { rate: 0 } }, { egress: { rate: -1e6 } }, { ingress: { rate: '200tbit' } }, { ingress: { rate: '10 megabits' } }, { egress: { burst: '32kb' } }, { egress: { rate: '10mbit', burst: 100 } }];
    for (const bandwidth of bad) await expectReject(setupContainer(uniqueName('bwr'), { network, bandwidth }), 'NsnetError', 'INVALID_BANDWIDTH');
    for (const mode of ['host', 'none', 'container:nobody']) {
      await expectReject(setupContainer(uniqueName('bwr'), { network: mode, bandwidth: { ingress: { rate: '1mbit' } } }), 'NsnetError', 'INVALID_ARGUMENT');
    }
    expect(newLinks(before.links)).to.deep.equal([]);
    expect((await NetNamespace.list()).length).to.equal(before.netns);
  });

  it('reconcile puts back a tbf, the ingress qdisc and the ifb deleted by hand', async () => {
    const id = uniqueName('bwc');
    const c = await setupContainer(id, { network, bandwidth: { ingress: { rate: '10mbit' }, egress: { rate: '20mbit' } } });
    const host = c.endpoint.hostIfname;
    const ifb = ifbOf(c.endpoint);
    try {
      execFileSync('tc', ['qdisc', 'del', 'dev', host, 'root']);
      execFileSync('tc', ['qdisc', 'del', 'dev', host, 'ingress']);
      let report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.repaired.filter((line) => line.includes(host))).to.have.length(2);
      expect(rootTbf(host)).to.include({ rate: 1250000 });
      expect(redirectTarget(host)).to.equal(ifb);

      execFileSync('ip', ['link', 'del', ifb]);
      report = await reconcile();
      expect(report.repaired.some((line) => line.includes(`ifb ${ifb} made again`))).to.equal(true);
      expect(rootTbf(ifb)).to.include({ rate: 2500000 });
      expect(redirectTarget(host)).to.equal(ifb);
      execFileSync('ip', ['link', 'set', ifb, 'down']);
      report = await reconcile();
      expect(report.repaired.some((line) => line.endsWith(`up state of ifb ${ifb} put back`))).to.equal(true);
      expect(ipJson(['link', 'show', 'dev', ifb])[0].flags).to.include('UP');
      expect((await reconcile()).repaired.filter((line) => line.includes(host))).to.deep.equal([]);

      // Renamed: made again under its name, and the renamed one, still tagged as the endpoint's, removed.
      execFileSync('ip', ['link', 'set', ifb, 'down']);
      execFileSync('ip', ['link', 'set', ifb, 'name', 'ifbrenamed']);
      report = await reconcile();
      expect(report.repaired.some((line) => line.includes(`ifb ${ifb} made again`))).to.equal(true);
      expect(report.links).to.include('ifbrenamed');
      expect(ifbs()).to.include(ifb).and.not.include('ifbrenamed');
      expect(redirectTarget(host)).to.equal(ifb);

      // Its tag removed: still the endpoint's (untagged in nsnet's group, under its name), tagged again.
      execFileSync('ip', ['link', 'set', 'dev', ifb, 'alias', '']);
      report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.repaired.some((line) => line.endsWith(`tag of ifb ${ifb} put back`))).to.equal(true);
      expect(ipJson(['-d', 'link', 'show', 'dev', ifb])[0].ifalias).to.equal(`nsnet:endpoint:${network}:${c.endpoint.id}`);
    } finally {
      await teardownContainer(id);
    }
    expect(ifbs()).to.not.include(ifb);
  });

  it('reconcile removes an ifb of no live endpoint, tagged or untagged in nsnet\'s group, and leaves others alone', async () => {
    const host = NetNamespace.host();
    await host.links.add({ kind: 'ifb', name: 'ifbstray1', alias: `nsnet:endpoint:${network}:0123456789abcdef` });
    await host.links.add({ kind: 'ifb', name: 'ifbstray2', linkGroup: 0x6e736e62 });
    await host.links.add({ kind: 'ifb', name: 'ifbforeign' });
    try {
      const report = await reconcile();
      expect(report.links).to.include.members(['ifbstray1', 'ifbstray2']);
      expect(ifbs()).to.include('ifbforeign').and.not.include.members(['ifbstray1', 'ifbstray2']);
    } finally {
      await host.links.delete('ifbforeign');
    }
  });

  it('a fault at any step of a setup or a connect with limits leaves no ifb; a kill at any step leaves one reconcile removes', async function () {
    this.timeout(300000);
    const bandwidth = { ingress: { rate: '10mbit' }, egress: { rate: '10mbit' } };
    const ns = await NetNamespace.create(uniqueName('bwfx'));
    const before = ifbs();
    const operations = {
      setupContainer: { args: (id) => ({ id, options: { network, bandwidth } }), undo: (id) => teardownContainer(id) },
      connect: { args: () => ({ network, netns: ns.path, options: { bandwidth } }), undo: async () => (await getNetwork(network)).disconnect(ns) },
    };
    try {
      for (const [operation, { args, undo }] of Object.entries(operations)) {
        for (const mode of ['fail', 'kill']) {
          let fired = true;
          for (let step = 1; fired; step += 1) {
            const id = uniqueName('bwx');
            const run = await runWithFault(FAULT_WORKER, [operation, JSON.stringify(args(id))], `${operation}:${step}:${mode}`);
            const after = `after a ${mode} at step ${step} of ${operation} (${run.injected})`;
            fired = run.injected !== undefined;
            if (mode === 'kill' && fired) expect((await reconcile()).failures, after).to.deep.equal([]);
            if (fired) {
              expect(ifbs(), after).to.deep.equal(before);
              expect(run.outcome?.ok ?? false, after).to.equal(false);
            } else {
              expect(run.outcome, run.stderr).to.include({ ok: true });
              expect(ifbs().length).to.equal(before.length + 1);
              await undo(id);
            }
            expect(step, 'steps').to.be.below(60);
          }
        }
      }
    } finally {
      await ns.delete();
    }
    expect(ifbs()).to.deep.equal(before);
  });

  it('nsnet run --ingress-rate --egress-rate --egress-burst limits the container while COMMAND runs; a bad rate exits 125', async () => {
    const bin = join(process.cwd(), 'bin', 'nsnet.js');
    const id = uniqueName('bwcli');
    const marker = join(tmpdir(), `${id}.done`);
    // COMMAND waits for the test to have looked at the host's qdiscs.
    const command = `const fs = require('node:fs'); const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(marker)})) { clearInterval(t); } }, 20);`;
    const child = spawn(process.execPath, [bin, 'run', '--name', id, '--network', network, '--ingress-rate', '5mbit', '--egress-rate', '7mbit', '--egress-burst', '64kb', '--', process.execPath, '-e', command], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    try {
      let endpoint;
      for (let i = 0; i < 500 && !endpoint; i += 1) {
        const { stdout } = await new Promise((resolve) => execFile(process.execPath, [bin, 'ps', '--json'], (error, out) => resolve({ stdout: out })));
        endpoint = JSON.parse(stdout).containers?.find((c) => c.id === id)?.endpoint;
        if (!endpoint) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(endpoint, 'the container of nsnet run').to.not.equal(undefined);
      expect(rootTbf(endpoint.hostIfname)).to.include({ rate: 625000 });
      expect(rootTbf(ifbOf(endpoint))).to.include({ rate: 875000 });
      expect(rootTbf(ifbOf(endpoint)).burst).to.be.within(65535, 65536);
      writeFileSync(marker, '');
      const [code] = await exited;
      expect(code).to.equal(0);
      expect(ifbs()).to.not.include(ifbOf(endpoint));
    } finally {
      rmSync(marker, { force: true });
      if (child.exitCode === null) await stop(child);
    }
    const bad = await new Promise((resolve) => execFile(process.execPath, [bin, 'run', '--network', network, '--egress-rate', 'fast', '--', 'true'], (error, stdout, stderr) => resolve({ code: error?.code ?? 0, stderr })));
    expect(bad.code).to.equal(125);
    expect(bad.stderr).to.match(/^nsnet: INVALID_BANDWIDTH: bandwidth\.egress\.rate is not a rate/);
  });

  it('CNI ADD with runtimeConfig.bandwidth (the bandwidth capability) makes the limits; DEL takes the ifb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsnet-cni-'));
    symlinkSync(join(process.cwd(), 'bin', 'nsnet-cni.js'), join(dir, 'nsnet-cni'));
    const runtime = new CniRuntime([dir], { NSNET_NODE: process.execPath, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` });
    const name = uniqueName('bwcni');
    const list = { cniVersion: '1.1.0', name, plugins: [{ type: 'nsnet-cni', subnet: '10.182.0.0/24', capabilities: { bandwidth: true } }] };
    const ns = await NetNamespace.create(uniqueName('bwcn'));
    const at = { containerId: 'bw1', netns: ns.path, ifname: 'eth0' };
    try {
      // Rates in bits per second, bursts in bits, as the bandwidth plugin takes them.
      const result = await runtime.addNetworkList(list, at, { bandwidth: { ingressRate: 10e6, ingressBurst: 262144, egressRate: 20e6, egressBurst: 524288 } });
      const hostEnd = result.interfaces[1].name;
      expect(rootTbf(hostEnd)).to.include({ rate: 1250000 });
      expect(rootTbf(hostEnd).burst).to.be.within(32767, 32768);
      const ifb = redirectTarget(hostEnd);
      expect(ifb).to.match(/^ifb/);
      expect(rootTbf(ifb)).to.include({ rate: 2500000 });
      expect(rootTbf(ifb).burst).to.be.within(65535, 65536);
      await runtime.checkNetworkList(list, at);
      execFileSync('tc', ['qdisc', 'del', 'dev', ifb, 'root']);
      const failed = await runtime.checkNetworkList(list, at).then(() => undefined, (error) => error);
      expect(failed?.cniCode, failed?.message).to.equal(110);
      expect(failed.error.msg).to.contain(`egress limit 20mbit (tbf on ${ifb}) is missing`);
      await runtime.delNetworkList(list, at);
      expect(ifbs()).to.not.include(ifb);
    } finally {
      await ns.delete().catch(() => undefined);
      await removeNetwork(name, { force: true }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
