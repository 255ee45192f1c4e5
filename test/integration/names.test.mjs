// Names between containers, the network layer's side: the names and upstream
// servers endpoints are recorded with, the container's resolv.conf (its text,
// where it goes, that it goes with the container or with reconcile), the
// refusals that make nothing, the CLI flags and the CNI plugin's names. The
// resolver itself answers in its own suite: here the client is what is
// called, and the records it is called with are what is checked.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace, netnsDir, netnsEtcDir, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { CniRuntime } from '../cni-runtime.mjs';
import { expectReject, linkNames, runWithFault, stateRecords as records, uniqueName } from '../helpers.mjs';

const STATE_DIR = process.env.NSNET_STATE_DIR;
const BIN = join(process.cwd(), 'bin', 'nsnet.js');
const WORKER = join(process.cwd(), 'test/integration/workers/fault-operation.mjs');
const HEADER = '# Written by nsnet for this container.';

const endpointOf = (id) => {
  const container = records('containers').find((c) => c.id === id);
  return records('endpoints').find((e) => `${e.network}@${e.netnsInode}` === container.endpoint);
};
const resolvConf = (name) => join(netnsEtcDir(), name, 'resolv.conf');

/**
 * Runs setupContainer(id, options) in a child killed at the step `label`
 * matches. Concurrent steps come in no fixed order, so steps are tried in
 * turn (what each attempt left torn down) until the one killed is that one.
 */
async function killedAt(id, options, label) {
  for (let step = 1; step < 40; step += 1) {
    const run = await runWithFault(WORKER, ['setupContainer', JSON.stringify({ id, options })], `setupContainer:${step}:kill`);
    if (run.signal === 'SIGKILL' && label.test(run.injected)) return;
    await teardownContainer(id);
  }
  throw new Error(`no step of setupContainer matched ${label}`);
}

function nsnet(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

describe('names between containers (the network layer)', function () {
  this.timeout(60000);
  const net = uniqueName('dn');
  const plain = uniqueName('dp');
  const ids = [];
  let hostConfDir;
  let savedHostConf;

  const container = (options, id = uniqueName('dc')) => {
    ids.push(id);
    return setupContainer(id, options);
  };

  before(async () => {
    // The host's resolv.conf as the tests want it: one server a container can reach, one it cannot (loopback).
    hostConfDir = mkdtempSync(join(tmpdir(), 'nsnet-host-resolv-'));
    writeFileSync(join(hostConfDir, 'resolv.conf'), 'nameserver 192.0.2.53\nnameserver 127.0.0.1\nsearch corp.example\noptions timeout:2\n');
    savedHostConf = process.env.NSNET_HOST_RESOLV_CONF;
    process.env.NSNET_HOST_RESOLV_CONF = join(hostConfDir, 'resolv.conf');
    // Never the machine's /etc: the hooks point it at the sandbox's /run unless the sandbox has an /etc (or /etc/netns) of its own.
    const ownEtcNetns = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === '/etc/netns' || line.startsWith('nsnet-sandbox-etc /etc overlay '));
    expect(ownEtcNetns || netnsEtcDir().startsWith('/run/'), netnsEtcDir()).to.equal(true);
    await createBridgeNetwork({ name: net, subnet: '10.181.0.0/24', ipv6: { subnet: 'fd00:181::/64' } });
    await createBridgeNetwork({ name: plain, subnet: '10.182.0.0/24', dns: false });
  });
  afterEach(async () => {
    for (const id of ids.splice(0).reverse()) await teardownContainer(id).catch(() => undefined);
  });
  after(async () => {
    await removeNetwork(net, { force: true });
    await removeNetwork(plain, { force: true });
    if (savedHostConf === undefined) delete process.env.NSNET_HOST_RESOLV_CONF;
    else process.env.NSNET_HOST_RESOLV_CONF = savedHostConf;
    rmSync(hostConfDir, { recursive: true, force: true });
  });

  it("records a container's names in Docker's order (name, aliases, id), each once, and its upstream servers", async () => {
    const c = await container({ network: net, name: 'web', aliases: ['www', 'WEB', 'front.local'], dns: ['9.9.9.9'] });
    const record = endpointOf(c.id);
    expect(record.names).to.deep.equal(['web', 'www', 'front.local', c.id]);
    expect(record.upstreams).to.deep.equal(['9.9.9.9']);
    expect(c.endpoint.names).to.deep.equal(record.names);
    // A 64-digit id: its short id too (the full one is one label over DNS's 63 bytes).
    const long = 'c0ffee'.repeat(10) + 'abcd';
    const d = await container({ network: net }, long);
    expect(endpointOf(long).names).to.deep.equal([long.slice(0, 12)]);
    expect(d.endpoint.names).to.deep.equal([long.slice(0, 12)]);
  });

  it('records a bare namespace connected with names as name, aliases, then the endpoint id', async () => {
    const ns = await NetNamespace.create(uniqueName('dns'));
    try {
      const network = await createBridgeNetwork({ name: net, subnet: '10.181.0.0/24', ipv6: { subnet: 'fd00:181::/64' } });
      const endpoint = await network.connect(ns, { name: 'db', aliases: ['pg'] });
      expect(endpoint.names).to.deep.equal(['db', 'pg', endpoint.id]);
      const plainEndpoint = await (await createBridgeNetwork({ name: plain, subnet: '10.182.0.0/24', dns: false })).connect(ns, { ifname: 'eth1', name: 'db' });
      expect(plainEndpoint.names).to.equal(undefined);
      await network.disconnect(ns);
    } finally {
      await ns.delete();
    }
  });

  it('records no names on the default network or a dns:false one (aliases accepted and ignored, as Docker does on its default bridge)', async () => {
    const a = await container({ name: 'quiet', aliases: ['hush'], dns: ['9.9.9.9'] });
    expect(a.mode).to.equal('bridge');
    expect(endpointOf(a.id).names).to.equal(undefined);
    const b = await container({ network: plain, name: 'quiet2', aliases: ['hush'] });
    expect(endpointOf(b.id).names).to.equal(undefined);
  });

  it('writes resolv.conf on a network that resolves names: its gateways, the host search domains, ndots:0', async () => {
    const c = await container({ network: net });
    expect(readFileSync(resolvConf(c.id), 'utf8')).to.equal(`${HEADER}\nnameserver 10.181.0.1\nnameserver fd00:181::1\nsearch corp.example\noptions timeout:2 ndots:0\n`);
    const d = await container({ network: net, dns: ['9.9.9.9'], dnsSearch: ['svc.example'], dnsOptions: ['ndots:2', 'edns0'] });
    // The container's own servers are the resolver's upstreams, not the file's.
    expect(readFileSync(resolvConf(d.id), 'utf8')).to.equal(`${HEADER}\nnameserver 10.181.0.1\nnameserver fd00:181::1\nsearch svc.example corp.example\noptions timeout:2 ndots:2 edns0\n`);
  });

  it("writes resolv.conf on a dns:false network, the default network and in mode none: the caller's servers, else the host's reachable ones", async () => {
    const hostOnes = `${HEADER}\nnameserver 192.0.2.53\nsearch corp.example\noptions timeout:2\n`;
    for (const options of [{ network: plain }, {}, { network: 'none' }]) {
      const c = await container(options);
      expect(readFileSync(resolvConf(c.id), 'utf8'), JSON.stringify(options)).to.equal(hostOnes);
    }
    const own = await container({ network: plain, dns: ['9.9.9.9', '2001:db8::53'], dnsSearch: ['a.example'], dnsOptions: ['ndots:1'] });
    expect(readFileSync(resolvConf(own.id), 'utf8')).to.equal(`${HEADER}\nnameserver 9.9.9.9\nnameserver 2001:db8::53\nsearch a.example corp.example\noptions timeout:2 ndots:1\n`);
    const none = await container({ network: 'none', dns: ['9.9.9.9'] });
    expect(readFileSync(resolvConf(none.id), 'utf8')).to.equal(`${HEADER}\nnameserver 9.9.9.9\nsearch corp.example\noptions timeout:2\n`);
  });

  it("writes no resolv.conf in modes host and container:<id>, which refuse the dns options", async () => {
    const host = await container({ network: 'host', name: 'hostname-only' });
    expect(existsSync(join(netnsEtcDir(), host.id))).to.equal(false);
    const source = await container({ network: net });
    const joiner = await container({ network: `container:${source.id}` });
    expect(existsSync(join(netnsEtcDir(), joiner.id))).to.equal(false);
    for (const options of [{ network: 'host', dns: ['9.9.9.9'] }, { network: `container:${source.id}`, dnsSearch: ['x.example'] }]) {
      const id = uniqueName('dc');
      await expectReject(setupContainer(id, options), 'NsnetError', 'INVALID_ARGUMENT');
      expect(records('containers').some((c) => c.id === id)).to.equal(false);
    }
  });

  it('writes resolv.conf for a container from the warm pool too', async () => {
    const network = await createBridgeNetwork({ name: net, subnet: '10.181.0.0/24', ipv6: { subnet: 'fd00:181::/64' } });
    const pool = network.pool(1);
    try {
      await pool.filled();
      const waiting = records('pool').map((entry) => entry.id);
      const c = await container({ network: net, name: 'pooled', aliases: ['p'] });
      // The endpoint is the pool entry's.
      expect(waiting).to.include(endpointOf(c.id).id);
      expect(endpointOf(c.id).names).to.deep.equal(['pooled', 'p', c.id]);
      expect(readFileSync(resolvConf(c.id), 'utf8')).to.contain('nameserver 10.181.0.1\n');
    } finally {
      await network.pool(0).drain();
    }
  });

  it('ip netns exec shows it as the namespace /etc/resolv.conf (where files go to /etc/netns)', async function () {
    if (netnsEtcDir() !== '/etc/netns' || !existsSync('/etc/netns')) {
      // `ip netns exec` reads /etc/netns/<name>/ only: that takes a sandbox whose /etc/netns is a tmpfs of its own.
      console.log('      skipped: /etc/netns is not this sandbox\'s own (files go to NSNET_NETNS_ETC_DIR)');
      this.skip();
    }
    const c = await container({ network: net });
    expect(execFileSync('ip', ['netns', 'exec', c.id, 'cat', '/etc/resolv.conf'], { encoding: 'utf8' })).to.equal(readFileSync(resolvConf(c.id), 'utf8'));
  });

  it('removes the file with the container, and its directory if nsnet made it; a directory that was there stays', async () => {
    const c = await container({ network: net });
    expect(existsSync(resolvConf(c.id))).to.equal(true);
    await teardownContainer(c.id);
    expect(existsSync(join(netnsEtcDir(), c.id))).to.equal(false);
    const id = uniqueName('dc');
    mkdirSync(join(netnsEtcDir(), id), { recursive: true });
    writeFileSync(join(netnsEtcDir(), id, 'hosts'), '127.0.0.1 localhost\n');
    await container({ network: 'none' }, id);
    expect(readdirSync(join(netnsEtcDir(), id)).sort()).to.deep.equal(['hosts', 'resolv.conf']);
    await teardownContainer(id);
    expect(readdirSync(join(netnsEtcDir(), id))).to.deep.equal(['hosts']);
    rmSync(join(netnsEtcDir(), id), { recursive: true });
  });

  it('reconcile removes the resolv.conf of a container that died while being set up, and of one whose namespace is gone', async () => {
    // Killed as it would record the container ready: the file is written by then.
    const id = uniqueName('dk');
    await killedAt(id, { network: net }, new RegExp(`^state write \\S+/containers/${id}\\.json$`));
    expect(existsSync(resolvConf(id))).to.equal(true);
    const report = await reconcile();
    expect(report.containers).to.include(id);
    expect(existsSync(join(netnsEtcDir(), id))).to.equal(false);

    const gone = await container({ network: net });
    execFileSync('ip', ['netns', 'delete', gone.id]);
    expect((await reconcile()).containers).to.include(gone.id);
    expect(existsSync(join(netnsEtcDir(), gone.id))).to.equal(false);
  });

  it('records the names with the endpoint before its veth is made (a setup killed as it makes the veth leaves them, for reconcile)', async () => {
    const id = uniqueName('dk');
    const options = { network: net, name: 'early', aliases: ['first'] };
    await killedAt(id, options, /^rtnl batch link add veth/);
    const endpoint = records('endpoints').find((e) => e.netnsPath === join(netnsDir(), id));
    expect(endpoint).to.include({ status: 'creating' });
    expect(endpoint.names).to.deep.equal(['early', 'first', id]);
    await reconcile();
    expect(records('endpoints').some((e) => e.id === endpoint.id)).to.equal(false);
    expect(existsSync(join(netnsEtcDir(), id))).to.equal(false);
  });

  it('refuses a name or alias that is no DNS name, and a bad dns option, with nothing made', async () => {
    const links = linkNames();
    const namespaces = readdirSync(netnsDir()).length;
    for (const [options, code] of [
      [{ network: net, name: 'no spaces' }, 'INVALID_DNS_NAME'],
      [{ network: net, aliases: ['ok', '-dash'] }, 'INVALID_DNS_NAME'],
      [{ name: 'a..b' }, 'INVALID_DNS_NAME'],
      [{ network: 'none', name: 'x'.repeat(64) }, 'INVALID_DNS_NAME'],
      [{ network: net, dns: ['not-an-address'] }, 'INVALID_DNS'],
      [{ network: net, dnsSearch: ['bad domain'] }, 'INVALID_DNS'],
      [{ network: 'none', dnsOptions: ['ndots:1 rotate'] }, 'INVALID_DNS'],
    ]) {
      const id = uniqueName('dr');
      await expectReject(setupContainer(id, options), 'NsnetError', code);
      expect(records('containers').some((c) => c.id === id), JSON.stringify(options)).to.equal(false);
      expect(existsSync(join(netnsEtcDir(), id))).to.equal(false);
    }
    const ns = await NetNamespace.create(uniqueName('dns'));
    try {
      const network = await createBridgeNetwork({ name: net, subnet: '10.181.0.0/24', ipv6: { subnet: 'fd00:181::/64' } });
      const before = records('endpoints').length;
      await expectReject(network.connect(ns, { name: 'bad_name-' }), 'NsnetError', 'INVALID_DNS_NAME');
      await expectReject(network.connect(ns, { aliases: [''] }), 'NsnetError', 'INVALID_DNS_NAME');
      expect(records('endpoints').length).to.equal(before);
    } finally {
      await ns.delete();
    }
    expect(readdirSync(netnsDir()).length).to.equal(namespaces);
    expect([...linkNames()].filter((l) => !links.has(l))).to.deep.equal([]);
  });

  it('keeps dns:false as part of the network: made again with another value, NETWORK_CONFLICT', async () => {
    const error = await expectReject(createBridgeNetwork({ name: plain, subnet: '10.182.0.0/24' }), 'NsnetError', 'NETWORK_CONFLICT');
    expect(error.details.differing).to.deep.equal(['dns']);
    await expectReject(createBridgeNetwork({ name: net, subnet: '10.181.0.0/24', ipv6: { subnet: 'fd00:181::/64' }, dns: false }), 'NsnetError', 'NETWORK_CONFLICT');
    const again = await createBridgeNetwork({ name: plain, subnet: '10.182.0.0/24', dns: false });
    expect(again.options.dns).to.equal(false);
  });

  it('nsnet run --name --network-alias --dns --dns-search --dns-option; network create --disable-dns; inspect and ps --json show them', async () => {
    const off = uniqueName('do');
    expect((await nsnet(['network', 'create', off, '--disable-dns', '--subnet', '10.183.0.0/24'])).code).to.equal(0);
    try {
      const inspected = JSON.parse((await nsnet(['network', 'inspect', off, '--json'])).stdout)[0];
      expect(inspected.dns).to.equal(false);
      expect(JSON.parse((await nsnet(['network', 'inspect', net, '--json'])).stdout)[0].dns).to.equal(true);
      const name = uniqueName('web');
      // Inside the container: its resolv.conf, and nsnet's own view of it.
      const script = `cat ${resolvConf(name)}; echo ---; node ${BIN} ps --json`;
      const run = await nsnet(['run', '--name', name, '--network', net, '--network-alias', 'www', '--network-alias', 'front', '--dns', '9.9.9.9', '--dns-search', 'svc.example', '--dns-option', 'ndots:3', '--', 'sh', '-c', script]);
      expect(run.code, run.stderr).to.equal(0);
      const [conf, ps] = run.stdout.split('---\n');
      expect(conf).to.equal(`${HEADER}\nnameserver 10.181.0.1\nnameserver fd00:181::1\nsearch svc.example corp.example\noptions timeout:2 ndots:3\n`);
      const listed = JSON.parse(ps).containers.find((c) => c.id === name);
      expect(listed.endpoint.names).to.deep.equal([name, 'www', 'front']);
      expect(listed.endpoint.upstreams).to.deep.equal(['9.9.9.9']);
      const api = uniqueName('web');
      const text = await nsnet(['run', '--name', api, '--network', net, '--network-alias', 'api', '--', 'node', BIN, 'network', 'inspect', net]);
      expect(text.stdout).to.contain(` names ${api}, api\n`);
      expect(text.stdout).to.contain('dns: true');
      const refused = await nsnet(['run', '--network', net, '--network-alias', 'bad alias', '--', 'true']);
      expect(refused.code).to.equal(125);
      expect(refused.stderr).to.contain('INVALID_DNS_NAME');
      expect(existsSync(resolvConf(name))).to.equal(false);
    } finally {
      await removeNetwork(off, { force: true });
    }
  });

  it('nsnet run --name web --network-alias www: a second nsnet run reaches it by its alias, as the README shows', async () => {
    const web = uniqueName('web');
    const alias = uniqueName('www');
    const serve = "require('node:net').createServer((s) => s.end('hello from web')).listen(8080, () => console.log('listening'))";
    const server = spawn(process.execPath, [BIN, 'run', '--name', web, '--network', net, '--network-alias', alias, '--', process.execPath, '-e', serve], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve, reject) => {
        server.stdout.once('data', resolve);
        server.once('exit', (code) => reject(new Error(`the server's nsnet run exited with ${code}`)));
      });
      const ask = "require('node:net').connect(8080, process.argv[1]).on('data', (d) => process.stdout.write(d)).on('error', (e) => { console.error(e.code); process.exit(3); })";
      const reached = await nsnet(['run', '--network', net, '--', process.execPath, '-e', ask, alias]);
      expect([reached.code, reached.stdout], reached.stderr).to.deep.equal([0, 'hello from web']);
      const hosts = await nsnet(['run', '--network', net, '--', 'getent', 'hosts', web]);
      expect(hosts.stdout.split(/\s+/)[1]).to.equal(web);
    } finally {
      server.kill('SIGTERM');
      if (server.exitCode === null) await once(server, 'exit');
    }
  });

  it('CNI: the result names the resolver; the container is found by its aliases and short id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsnet-cni-'));
    symlinkSync(join(process.cwd(), 'bin', 'nsnet-cni.js'), join(dir, 'nsnet-cni'));
    const runtime = new CniRuntime([dir], { NSNET_NODE: process.execPath, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` });
    const cniNet = uniqueName('dcn');
    const list = { cniVersion: '1.0.0', name: cniNet, plugins: [{ type: 'nsnet-cni', subnet: '10.184.0.0/24', capabilities: { aliases: true } }] };
    const ns = await NetNamespace.create(uniqueName('dcc'));
    const containerId = 'f00d'.repeat(16);
    const attachment = { containerId, netns: ns.path, ifname: 'eth0' };
    try {
      const result = await runtime.addNetworkList(list, attachment, { aliases: { [cniNet]: ['web', 'www'], other: ['elsewhere'] } });
      expect(result.dns).to.deep.equal({ nameservers: ['10.184.0.1'] });
      const endpoint = records('endpoints').find((e) => e.network === cniNet);
      expect(endpoint.names).to.deep.equal(['web', 'www', containerId.slice(0, 12)]);
      await runtime.delNetworkList(list, attachment);
      // A conflist's own dns is the result's.
      const withDns = { ...list, plugins: [{ ...list.plugins[0], dns: { nameservers: ['192.0.2.1'] } }] };
      expect((await runtime.addNetworkList(withDns, attachment)).dns).to.deep.equal({ nameservers: ['192.0.2.1'] });
      await runtime.delNetworkList(withDns, attachment);
    } finally {
      await ns.delete();
      await removeNetwork(cniNet, { force: true }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
