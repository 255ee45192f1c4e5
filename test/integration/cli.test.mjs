// The nsnet command driven as a user drives it: real processes, real traffic
// from a `wan` namespace, exit statuses and one-line errors.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, listNetworks, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { eventually, expectReject, ipJson, ipLink, linkNames, newLinks, publishedAnyPorts, tcpRequest, uniqueName } from '../helpers.mjs';

const bin = join(process.cwd(), 'bin', 'nsnet.js');
const HOST = '203.0.113.1';
const WAN = '203.0.113.2';

/** Runs `nsnet ARGS...` to the end: { code, stdout, stderr }. */
function nsnet(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

/** Starts `nsnet ARGS...` in the background, collecting its output. */
function nsnetProcess(args) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (chunk) => (child.output += chunk));
  child.stderr.on('data', (chunk) => (child.output += chunk));
  return child;
}

/** Retries a request until the server behind it answers. */
async function requestWhenUp(ns, host, port, message) {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      return await tcpRequest(ns, host, port, message, 500);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nothing answered on ${host}:${port}`);
}

/** After `nsnet run --name ID -p PORT:...` ended: no namespace, link, port element or record of it. */
async function expectNothingLeft(id, port, before) {
  expect(ipJson(['netns', 'list']).map((ns) => ns.name)).to.not.include(id);
  // The default network's bridge, nsnet0, stays (as docker0 does).
  const left = () => newLinks(before).filter((name) => name !== 'nsnet0');
  expect(await eventually(() => left().length === 0, 10000), `links left: ${left()}`).to.equal(true);
  expect(publishedAnyPorts()).to.not.include(port);
  expect(JSON.parse((await nsnet(['ps', '--json'])).stdout).containers).to.deep.equal([]);
}

/** The pids `ip netns pids` lists for a namespace. */
function netnsPids(name) {
  return execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
}

/** A container as `nsnet ps --json` shows it (read synchronously, for polling). */
function psContainer(id) {
  const ps = JSON.parse(execFileSync(process.execPath, [bin, 'ps', '--json'], { encoding: 'utf8' }));
  return ps.containers.find((c) => c.id === id);
}

describe('nsnet command', () => {
  const host = NetNamespace.host();
  let wan;
  let hadDefaultNetwork;

  before(async () => {
    // `nsnet run` makes the default network (and its bridge nsnet0), which stays, as docker0 does.
    hadDefaultNetwork = (await listNetworks()).some((net) => net.name === 'bridge');
    wan = await NetNamespace.create(uniqueName('clw'));
    await host.links.add({ kind: 'veth', name: 'clwan0', up: true, peer: { name: 'eth0', netns: wan } });
    await wan.links.set('eth0', { up: true });
    await host.addresses.add('clwan0', `${HOST}/24`);
    await wan.addresses.add('eth0', `${WAN}/24`);
  });

  after(async () => {
    await wan.delete();
    // Made by the runs of this file, if any of them got that far.
    if (!hadDefaultNetwork && (await listNetworks()).some((n) => n.name === 'bridge')) await removeNetwork('bridge');
  });

  it('run: a published port is reachable from wan and the exit status passes through', async () => {
    const before = linkNames();
    // Answers one request, then exits with status 7.
    const server = `require('node:net').createServer((s) => s.on('data', (d) => { s.end('web:' + d); s.on('close', () => process.exit(7)); })).listen(80)`;
    const run = nsnetProcess(['run', '--name', 'cli-web', '-p', '8090:80', '--', process.execPath, '-e', server]);
    expect(await requestWhenUp(wan, HOST, 8090, 'from wan')).to.equal('web:from wan');
    const [code] = await once(run, 'exit');
    expect(code, run.output).to.equal(7);
    await expectNothingLeft('cli-web', 8090, before);
  });

  it('run: SIGTERM stops the program, tears everything down, and exits 128+15', async () => {
    const before = linkNames();
    const server = `require('node:net').createServer((s) => s.end('up')).listen(80)`;
    const run = nsnetProcess(['run', '--name', 'cli-term', '-p', '8091:80', process.execPath, '-e', server]);
    expect(await requestWhenUp(wan, HOST, 8091, 'x')).to.equal('up');
    expect(publishedAnyPorts()).to.include(8091);
    process.kill(run.pid, 'SIGTERM');
    const [code] = await once(run, 'exit');
    expect(code, run.output).to.equal(143);
    await expectNothingLeft('cli-term', 8091, before);
  });

  it('run: each network mode, and a program that cannot be found exits 127', async () => {
    const links = await nsnet(['run', '--network', 'none', '--', 'ip', '-j', 'link']);
    expect(links.code).to.equal(0);
    expect(JSON.parse(links.stdout).map((l) => l.ifname)).to.deep.equal(['lo']);
    const inHost = await nsnet(['run', '--network', 'host', '--', 'readlink', '/proc/self/ns/net']);
    expect(inHost.stdout.trim()).to.equal(`net:[${host.inode}]`);
    const missing = await nsnet(['run', '--network', 'none', '--', 'no-such-program-here']);
    expect(missing.code).to.equal(127);
    expect(JSON.parse((await nsnet(['ps', '--json'])).stdout).containers).to.deep.equal([]);
  });

  it('run: a program COMMAND leaves running loses the network, and is named', async () => {
    const before = linkNames();
    const result = await nsnet(['run', '--name', 'cli-bg', '--', 'sh', '-c', 'sleep 30 >/dev/null 2>&1 & echo $!']);
    const pid = Number(result.stdout.trim());
    try {
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stderr).to.contain(`nsnet: cli-bg: processes ${pid} still run in its former namespace, without a network`);
      // Deleted by nsnet, not left to the namespace that the program keeps alive.
      expect(newLinks(before).filter((name) => name !== 'nsnet0')).to.deep.equal([]);
      expect(JSON.parse((await nsnet(['ps', '--json'])).stdout).containers).to.deep.equal([]);
    } finally {
      process.kill(pid, 'SIGTERM');
    }
  });

  it('rm of a container whose program outlived a SIGKILLed run: refused with its pid; -f frees the network', async () => {
    const before = linkNames();
    const program = `require('node:net').createServer((s) => s.end('old')).listen(80)`;
    const run = nsnetProcess(['run', '--name', 'cli-kill', '--', process.execPath, '-e', program]);
    let pid;
    try {
      let container;
      expect(await eventually(() => (container = psContainer('cli-kill'))?.status === 'ready', 10000), run.output).to.equal(true);
      const { ipv4, hostIfname } = container.endpoint;
      expect(await requestWhenUp(host, ipv4, 80, 'x')).to.equal('old');
      process.kill(run.pid, 'SIGKILL');
      await once(run, 'exit');
      const pids = netnsPids('cli-kill'); // the program, reparented, alone in the namespace
      expect(pids).to.have.length(1);
      [pid] = pids;

      const refused = await nsnet(['rm', 'cli-kill']);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.equal(`nsnet: CONTAINER_IN_USE: processes ${pid} still run in the network namespace of "cli-kill": end them, or remove it anyway (nsnet rm -f)\n`);
      expect(psContainer('cli-kill').status).to.equal('ready');
      expect(ipLink(hostIfname).master).to.equal('nsnet0');

      const forced = await nsnet(['rm', '-f', 'cli-kill']);
      expect(forced.code, forced.stderr).to.equal(0);
      expect(forced.stdout).to.equal('cli-kill\n');
      expect(forced.stderr).to.contain(`processes ${pid} still run in its former namespace`);
      expect(ipLink(hostIfname)).to.equal(undefined);
      expect(newLinks(before).filter((name) => name !== 'nsnet0')).to.deep.equal([]);
      expect(psContainer('cli-kill')).to.equal(undefined);
      process.kill(pid, 0); // still running, and out of reach
      await expectReject(tcpRequest(host, ipv4, 80, 'x', 500), 'Error');
    } finally {
      if (pid) process.kill(pid, 'SIGTERM');
      await nsnet(['rm', '-f', 'cli-kill']);
    }
  });

  it('network create / ls / inspect / rm round trip, with --json', async () => {
    const created = await nsnet(['network', 'create', 'clinet', '--subnet', '10.95.0.0/24', '--ipv6-subnet', 'fd00:95::/64', '--no-icc', '--json']);
    expect(created.code, created.stderr).to.equal(0);
    expect(JSON.parse(created.stdout)).to.include({ name: 'clinet', subnet: '10.95.0.0/24', gateway: '10.95.0.1', icc: false, bridge: 'nsbr-clinet' });
    // The kernel has the bridge with its gateway addresses.
    const addresses = ipJson(['addr', 'show', 'dev', 'nsbr-clinet'])[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    expect(addresses).to.include.members(['10.95.0.1/24', 'fd00:95::1/64']);

    const listed = JSON.parse((await nsnet(['network', 'ls', '--json'])).stdout);
    expect(listed.find((n) => n.name === 'clinet')).to.include({ endpoints: 0, icc: false });
    const table = (await nsnet(['network', 'ls'])).stdout.split('\n');
    expect(table[0]).to.match(/^NAME\s+DRIVER\s+BRIDGE\s+SUBNET/);
    expect(table.some((line) => /^clinet\s+bridge\s+nsbr-clinet\s+10\.95\.0\.0\/24/.test(line))).to.equal(true);

    const c = await setupContainer('cli-on-net', { network: 'clinet', publish: ['8092:80'] });
    try {
      const [inspected] = JSON.parse((await nsnet(['network', 'inspect', 'clinet', '--json'])).stdout);
      expect(inspected.endpoints).to.have.length(1);
      expect(inspected.endpoints[0]).to.include({ ipv4: c.endpoint.ipv4, hostIfname: c.endpoint.hostIfname, netns: c.netns.path });
      expect(inspected.endpoints[0].ports).to.deep.equal([{ hostIp: '0.0.0.0', hostPort: 8092, containerPort: 80, protocol: 'tcp' }]);
      const refused = await nsnet(['network', 'rm', 'clinet']);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/^nsnet: NETWORK_IN_USE: .+\n$/);
    } finally {
      await teardownContainer('cli-on-net');
    }
    const removed = await nsnet(['network', 'rm', 'clinet']);
    expect(removed).to.include({ code: 0, stdout: 'clinet\n' });
    expect(ipJson(['link']).map((l) => l.ifname)).to.not.include('nsbr-clinet');
    expect(JSON.parse((await nsnet(['network', 'ls', '--json'])).stdout).map((n) => n.name)).to.not.include('clinet');
  });

  it('bad arguments give one line with the code and a non-zero status, and change nothing', async () => {
    const before = JSON.stringify([ipJson(['link']), ipJson(['netns', 'list'])]);
    const cases = [
      [['network', 'create', 'x', '--bogus'], 2, 'USAGE'],
      [['network', 'create', 'x', '--subnet', '10.96.0.1/24'], 2, 'INVALID_ARGUMENT'],
      [['network', 'create', 'x', '--ipv6-gateway', 'fd00:96::1'], 2, 'INVALID_ARGUMENT'], // a gateway without its subnet
      [['network', 'create', 'x', '--mtu', 'big'], 2, 'USAGE'],
      [['network', 'create', 'x;reboot'], 2, 'INVALID_ARGUMENT'],
      [['network', 'rm', 'no-such-net'], 1, 'NETWORK_NOT_FOUND'],
      [['network', 'inspect', 'no-such-net'], 1, 'NETWORK_NOT_FOUND'],
      [['run', '-p', '80:80:80:80', '--', 'true'], 125, 'INVALID_PUBLISH'],
      [['run', '--network', 'container:nobody', '--', 'true'], 125, 'CONTAINER_NOT_FOUND'],
      [['run'], 2, 'USAGE'],
      [['netns', 'rm', 'no-such-ns'], 1, 'NETNS_NOT_FOUND'],
      [['frobnicate'], 2, 'USAGE'],
    ];
    for (const [args, status, code] of cases) {
      const result = await nsnet(args);
      expect(result.code, args.join(' ')).to.equal(status);
      expect(result.stderr, args.join(' ')).to.match(new RegExp(`^nsnet: ${code}: [^\\n]+\\n$`));
    }
    expect(JSON.stringify([ipJson(['link']), ipJson(['netns', 'list'])])).to.equal(before);
    const debug = await nsnet(['network', 'rm', 'no-such-net'], { NSNET_DEBUG: '1' });
    expect(debug.stderr).to.match(/^nsnet: NETWORK_NOT_FOUND: .+\n\S*Error.*\n\s+at /);
  });

  it('--help on every command', async () => {
    for (const command of [[], ['run'], ['network'], ['network', 'create'], ['ps'], ['rm'], ['netns'], ['netns', 'exec'], ['reconcile'], ['topology'], ['demo']]) {
      const result = await nsnet([...command, '--help']);
      expect(result.code, command.join(' ')).to.equal(0);
      expect(result.stdout, command.join(' ')).to.match(/^Usage: nsnet/);
    }
  });

  it('netns add / ls / exec / rm', async () => {
    const name = uniqueName('clins');
    expect((await nsnet(['netns', 'add', name])).stdout).to.equal(`${process.env.NSNET_NETNS_DIR}/${name}\n`);
    expect(ipJson(['netns', 'list']).map((ns) => ns.name)).to.include(name);
    const listed = JSON.parse((await nsnet(['netns', 'ls', '--json'])).stdout);
    expect(listed.find((ns) => ns.name === name).inode).to.be.a('number');
    const inside = await nsnet(['netns', 'exec', name, '--', 'ip', '-j', 'link']);
    expect(JSON.parse(inside.stdout)).to.have.length(1);
    expect(JSON.parse(inside.stdout)[0]).to.include({ ifname: 'lo', operstate: 'UNKNOWN' });
    expect((await nsnet(['netns', 'exec', name, 'sh', '-c', 'exit 5'])).code).to.equal(5);
    expect((await nsnet(['netns', 'rm', name])).code).to.equal(0);
    expect(ipJson(['netns', 'list']).map((ns) => ns.name)).to.not.include(name);
  });

  it('ps, topology (text, --dot, --json) and rm show and remove what is there', async () => {
    const web = await setupContainer('cli-topo', { publish: ['8093:80'] });
    await setupContainer('cli-side', { network: 'container:cli-topo' });
    await setupContainer('cli-none', { network: 'none' });
    try {
      const ps = JSON.parse((await nsnet(['ps', '--json'])).stdout);
      expect(ps.containers.map((c) => c.id)).to.deep.equal(['cli-none', 'cli-side', 'cli-topo']);
      expect(ps.containers[2].endpoint).to.include({ ipv4: web.endpoint.ipv4, netns: web.netns.path });
      const psTable = (await nsnet(['ps'])).stdout;
      expect(psTable).to.match(new RegExp(`cli-topo\\s+bridge\\s+bridge\\s+${web.endpoint.ipv4.replace(/\./g, '\\.')}\\s+0\\.0\\.0\\.0:8093->80/tcp`));
      expect(psTable).to.match(/cli-side\s+container:cli-topo/);

      const text = (await nsnet(['topology'])).stdout;
      expect(text).to.match(/^host \(netns inode \d+\)\n/);
      expect(text).to.contain(`nsnet0  network "bridge"`);
      expect(text).to.contain(`${web.endpoint.hostIfname} ⇄ eth0 ${web.endpoint.ipv4}`);
      expect(text).to.contain('cli-topo, cli-side');
      expect(text).to.contain('published 0.0.0.0:8093->80/tcp');
      expect(text).to.contain('cli-none  none');
      const dot = (await nsnet(['topology', '--dot'])).stdout;
      expect(dot).to.match(/^digraph nsnet \{\n[\s\S]*\}\n$/);
      expect(dot).to.contain(`"bridge:nsnet0" -> "netns:${web.netns.path}" [label="${web.endpoint.hostIfname}"]`);
      const model = JSON.parse((await nsnet(['topology', '--json'])).stdout);
      const bridge = model.networks.find((n) => n.name === 'bridge');
      expect(bridge.bridgeLink).to.equal('up');
      expect(bridge.endpoints.find((e) => e.hostIfname === web.endpoint.hostIfname)).to.include({ hostLink: 'up', ipv4: web.endpoint.ipv4 });

      // `nsnet rm` tears down, as teardownContainer does.
      expect((await nsnet(['rm', 'cli-topo'])).stderr).to.match(/^nsnet: CONTAINER_IN_USE: /);
      expect((await nsnet(['rm', 'cli-side', 'cli-topo', 'cli-none'])).stdout).to.equal('cli-side\ncli-topo\ncli-none\n');
      expect(JSON.parse((await nsnet(['ps', '--json'])).stdout).containers).to.deep.equal([]);
    } finally {
      for (const id of ['cli-side', 'cli-topo', 'cli-none']) await teardownContainer(id);
    }
  });

  it('output of any size goes out whole into a slow pipe; a reader that leaves ends the command quietly', async function () {
    this.timeout(180000);
    // Enough containers that each command prints well over a pipe's 64 KB.
    const network = uniqueName('clbig');
    await createBridgeNetwork({ name: network, subnet: '10.171.0.0/22', firewall: 'none' });
    const ids = Array.from({ length: 320 }, (_, i) => `${network}-${i}`);
    try {
      for (const id of ids) await setupContainer(id, { network });
      /** Runs `nsnet ARGS` into `reader` through a shell pipe: nsnet's status and stderr, and what the reader got. */
      const piped = (args, reader) =>
        new Promise((resolve) => {
          const script = `(node ${JSON.stringify(bin)} ${args}; echo "status $?" >&2) | ${reader}`;
          execFile('sh', ['-c', script], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
        });
      const slowly = 'sh -c "sleep 1; cat"';
      for (const args of ['ps --json', `network inspect ${network} --json`, 'topology --json']) {
        const { stdout, stderr } = await piped(args, slowly);
        expect(stderr, args).to.equal('status 0\n');
        expect(stdout.length, args).to.be.greaterThan(96 * 1024);
        expect(() => JSON.parse(stdout), args).to.not.throw();
        expect(stdout, args).to.contain(`${network}-${ids.length - 1}`).and.match(/\n$/);
      }
      const ps = JSON.parse((await piped('ps --json', slowly)).stdout);
      expect(ps.containers.filter((c) => c.network === network)).to.have.length(ids.length);
      const [inspected] = JSON.parse((await piped(`network inspect ${network} --json`, slowly)).stdout);
      expect(inspected.endpoints).to.have.length(ids.length);
      for (const args of ['ps --json', 'topology --json']) {
        const { stdout, stderr } = await piped(args, 'head -c 10');
        expect(stdout, args).to.have.length(10);
        // As a tool that SIGPIPE ended: no EPIPE, no stack.
        expect(stderr, args).to.equal('status 141\n');
      }
    } finally {
      for (const id of ids) await teardownContainer(id);
      await removeNetwork(network);
    }
  });

  it('reconcile says what it removed', async () => {
    await setupContainer('cli-gone', { network: 'none' });
    execFileSync('ip', ['netns', 'delete', 'cli-gone']);
    const result = await nsnet(['reconcile']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^containers removed \(namespace gone or setup died\): cli-gone$/m);
    expect((await nsnet(['reconcile'])).stdout).to.match(/^nothing stale found$/m);
    const report = JSON.parse((await nsnet(['reconcile', '--json'])).stdout);
    expect(report.containers).to.deep.equal([]);
  });

  it('demo exits 0, shows the traffic, and leaves its sandbox, and this namespace, as they were', async () => {
    // Links, addresses, routes and namespaces; the elements in nf_tables; the records in the state directory.
    const snapshotScript = `() => {
      const run = (command, args) => require('node:child_process').execFileSync(command, args, { encoding: 'utf8' });
      return JSON.stringify([
        ...[['link'], ['addr'], ['route'], ['netns', 'list']].map((args) => run('ip', ['-j', ...args])),
        run('nft', ['list', 'ruleset']).split('\\n').filter((line) => line.includes('elements')),
        require('node:fs').readdirSync(process.env.NSNET_STATE_DIR, { recursive: true }).filter((f) => f.endsWith('.json')),
      ]);
    }`;
    const snapshot = () => execFileSync(process.execPath, ['-e', `process.stdout.write((${snapshotScript})())`], { encoding: 'utf8' });
    const before = snapshot();
    // The demo makes its own sandbox; here it runs in one of the test's making, read before and after
    // (once the kernel has finished removing the namespaces the demo deleted).
    const inSandbox = `
      const snapshot = ${snapshotScript};
      const before = snapshot();
      const demo = require('node:child_process').spawnSync(process.execPath, [${JSON.stringify(bin)}, 'demo'], {
        encoding: 'utf8', env: { ...process.env, NSNET_OWN_SANDBOX: '1' },
      });
      let after = snapshot();
      for (let i = 0; i < 100 && after !== before; i++) {
        require('node:child_process').execFileSync('sleep', ['0.1']);
        after = snapshot();
      }
      process.stdout.write(JSON.stringify({ code: demo.status, stdout: demo.stdout, stderr: demo.stderr, before, after }));`;
    const run = await new Promise((resolve) => {
      execFile(join(process.cwd(), 'scripts', 'sandbox'), [process.execPath, '-e', inSandbox], (error, stdout, stderr) => resolve({ error, stdout, stderr }));
    });
    expect(run.error, run.stderr).to.equal(null);
    const demo = JSON.parse(run.stdout);
    expect(demo.code, demo.stderr).to.equal(0);
    expect(demo.stdout).to.match(/client -> web 10\.89\.0\.2:80 +hello from web, you are 10\.89\.0\.3/);
    expect(demo.stdout).to.match(/wan -> host 198\.51\.100\.1:8080 \(published\) +hello from web, you are 198\.51\.100\.2/);
    expect(demo.stdout).to.match(/client -> wan 198\.51\.100\.2:9000 \(masquerade\) +wan saw you as 198\.51\.100\.1/);
    expect(demo.stdout).to.contain('published 0.0.0.0:8080->80/tcp');
    expect(demo.stdout).to.match(/cleaned up: .*\n$/);
    expect(demo.after, 'what the demo left in its sandbox').to.equal(demo.before);
    expect(snapshot()).to.equal(before);
  });

  it('demo --shell: a shell in the demo world, where wan reaches the published port; exiting it removes all', async () => {
    const get = `require('node:http').get('http://198.51.100.1:8080/', (r) => r.pipe(process.stdout)).on('error', (e) => console.log(e.message))`;
    // A shell that reads its commands from a pipe: as a person would type them, then end of input.
    const demo = spawn(process.execPath, [bin, 'demo', '--shell'], { env: { ...process.env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'] });
    demo.stdin.end(`ip netns exec wan ${process.execPath} -e "${get}"; echo; nsnet ps | awk 'NR > 1 { print $1 }'\n`);
    let stdout = '';
    let stderr = '';
    demo.stdout.on('data', (chunk) => (stdout += chunk));
    demo.stderr.on('data', (chunk) => (stderr += chunk));
    const [code] = await once(demo, 'exit');
    expect(code, stderr).to.equal(0);
    const shell = stdout.slice(stdout.indexOf("a shell in the demo's world"));
    expect(shell).to.contain('ip netns exec wan wget -qO- http://198.51.100.1:8080/');
    expect(shell).to.match(/\nhello from web, you are 198\.51\.100\.2\nclient\nweb\n\ncleaned up: .*\n$/);
  });
});
