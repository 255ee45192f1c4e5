// scripts/sandbox as a user drives it from a clone: a sandbox kept between
// calls (--keep), the same world in each, gone after --drop; its wan namespace
// (--wan) reaching a port published inside. Each sandbox here is made from
// inside the test's own, so none of it is near the machine's namespace.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { expect } from 'chai';

import { eventually, uniqueName } from '../helpers.mjs';

const sandbox = join(process.cwd(), 'scripts', 'sandbox');
const NOBODY = 65534;

/** A temporary directory for the records of kept sandboxes, and the environment that points there. */
function recordsPlace() {
  const dir = mkdtempSync(join(tmpdir(), 'nsnet-sandbox-test-'));
  return { dir, records: join(dir, 'records'), env: { ...process.env, NSNET_SANDBOX_RECORDS: join(dir, 'records') } };
}

/** The place of a user who is not root: its own directory, and its own copy of the script. */
function userPlace(place, user) {
  const script = join(place.dir, 'scripts', 'sandbox');
  mkdirSync(dirname(script));
  copyFileSync(sandbox, script);
  for (const path of [place.dir, dirname(script), script]) chownSync(path, user, user);
  return { ...place, user, script };
}

/**
 * Runs `scripts/sandbox ARGS...` to the end: { code, stdout, stderr }. As
 * `place.user`, if given, with a copy of the script of that user's (the
 * clone may be out of its reach) and from the records' directory.
 */
function sandboxRun(args, place) {
  const { user, env } = place;
  const [command, commandArgs] = user === undefined ? [sandbox, args] : ['setpriv', [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', place.script, ...args]];
  return new Promise((resolve) => {
    execFile(command, commandArgs, { env, cwd: user === undefined ? process.cwd() : place.dir }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

/** The pid of the holder of a kept sandbox, from its record. */
function holderPid(records, name) {
  return Number(readFileSync(join(records, name), 'utf8').split(' ')[0]);
}

/** True while process `pid` runs (a zombie holds no namespaces any more). */
function running(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of the processes in network namespace `netns` ("net:[inode]"). */
function processesIn(netns) {
  return readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readlinkSync(`/proc/${pid}/ns/net`) === netns;
    } catch {
      return false;
    }
  });
}

/** Shows a kept sandbox as the same world in two calls, then gone after --drop. */
async function keptThenDropped(place) {
  const name = uniqueName('keep');
  const make = 'readlink /proc/self/ns/net; ip link add kept0 type bridge; ip netns add side; echo kept > /run/nsnet/mark';
  const first = await sandboxRun(['--keep', name, 'sh', '-c', make], place);
  expect(first.code, first.stderr).to.equal(0);
  const world = first.stdout.trim();
  expect(world).to.match(/^net:\[\d+\]$/).and.to.not.equal(readlinkSync('/proc/self/ns/net'));

  const look = 'readlink /proc/self/ns/net; ip -j link show kept0; ip -j netns list; cat /run/nsnet/mark';
  const second = await sandboxRun(['--keep', name, 'sh', '-c', look], place);
  expect(second.code, second.stderr).to.equal(0);
  const [again, bridge, namespaces, mark] = second.stdout.trim().split('\n');
  expect(again, "the second call runs in the first one's network namespace").to.equal(world);
  expect(JSON.parse(bridge)[0].ifname).to.equal('kept0');
  expect(JSON.parse(namespaces).map((ns) => ns.name)).to.deep.equal(['side']);
  expect(mark, 'the state directory is the same').to.equal('kept');

  const holder = holderPid(place.records, name);
  expect(readlinkSync(`/proc/${holder}/ns/net`)).to.equal(world);
  expect((await sandboxRun(['--list'], place)).stdout).to.equal(`${name}  held by pid ${holder}\n`);

  expect(await sandboxRun(['--drop', name], place)).to.deep.equal({ code: 0, stdout: '', stderr: '' });
  expect(running(holder), 'the holder stopped').to.equal(false);
  expect(await eventually(() => processesIn(world).length === 0), 'a process still in the dropped namespace').to.equal(true);
  expect(existsSync(place.records), 'the records of kept sandboxes are removed with the last one').to.equal(false);

  const anew = await sandboxRun(['--keep', name, 'sh', '-c', 'ip -j link show kept0; ip -j netns list; ls /run/nsnet'], place);
  expect(anew, 'a sandbox of the same name made again is empty').to.deep.equal({ code: 0, stdout: '[]\n', stderr: 'Device "kept0" does not exist.\n' });
  expect((await sandboxRun(['--drop', name], place)).code).to.equal(0);
  expect((await sandboxRun(['--drop', name], place)).stderr).to.equal(`scripts/sandbox: no kept sandbox named ${name}\n`);
}

/**
 * Shows a sandbox's /etc as its own: its resolv.conf names no resolver of the
 * machine's, `ip netns exec` binds the /etc/netns/NAME/resolv.conf made in it,
 * and nothing written there reaches the caller's /etc.
 */
async function etcOfItsOwn(place) {
  const before = readFileSync('/etc/resolv.conf', 'utf8');
  const mark = `nsnet-${uniqueName('mark')}`;
  const script = [
    'cat /etc/resolv.conf',
    'ip netns add side',
    'mkdir /etc/netns/side',
    'echo "nameserver 10.89.7.7" >/etc/netns/side/resolv.conf',
    'ip netns exec side cat /etc/resolv.conf',
    'cat /etc/resolv.conf',
    `echo x >/etc/${mark}`,
  ].join(' && ');
  const result = await sandboxRun(['sh', '-c', script], place);
  expect(result, result.stderr).to.deep.equal({ code: 0, stdout: 'nameserver 127.0.0.1\nnameserver 10.89.7.7\nnameserver 127.0.0.1\n', stderr: '' });
  expect(readFileSync('/etc/resolv.conf', 'utf8')).to.equal(before);
  expect(existsSync(`/etc/${mark}`)).to.equal(false);
  expect(existsSync('/etc/netns/side')).to.equal(false);
}

describe('scripts/sandbox', () => {
  let place;
  beforeEach(() => {
    place = recordsPlace();
  });
  afterEach(() => {
    // The holders a failed test left, which it started: stopped, so that their sandboxes end.
    for (const name of existsSync(place.records) ? readdirSync(place.records) : []) {
      const pid = holderPid(place.records, name);
      if (running(pid)) process.kill(pid);
    }
    rmSync(place.dir, { recursive: true, force: true });
  });

  it('--keep NAME: a second call is in the same world (links, namespaces, state directory); --drop ends it all', async () => {
    await keptThenDropped(place);
  });

  it('--keep NAME as a user who is not root: in a user namespace, the same', async function () {
    // setpriv can become another user only from the machine's own user namespace, and that
    // user can make a sandbox only where the kernel lets users make user namespaces.
    if (readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295') this.skip();
    if (spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'unshare', '--user', '--map-root-user', 'true']).status !== 0) this.skip();
    await keptThenDropped(userPlace(place, NOBODY));
  });

  it('--wan: a port published in a kept sandbox is reached from wan; --drop is refused, naming them, while processes run in it', async () => {
    const name = uniqueName('wan');
    expect((await sandboxRun(['--keep', name, '--wan', 'true'], place)).code).to.equal(0);
    const server = `require('node:http').createServer((q, s) => s.end('hello from web, you are ' + q.socket.remoteAddress.replace(/^::ffff:/, ''))).listen(80)`;
    const run = spawn(sandbox, ['--keep', name, 'nsnet', 'run', '--name', 'web', '-p', '8080:80', '--', process.execPath, '-e', server], { env: place.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let runOutput = '';
    run.stdout.on('data', (chunk) => (runOutput += chunk));
    run.stderr.on('data', (chunk) => (runOutput += chunk));
    try {
      const get = `require('node:http').get('http://198.51.100.1:8080/', (r) => r.pipe(process.stdout)).on('error', () => process.exit(1))`;
      let answer;
      for (let attempt = 0; attempt < 100 && !answer?.stdout; attempt += 1) {
        answer = await sandboxRun(['--keep', name, 'ip', 'netns', 'exec', 'wan', process.execPath, '-e', get], place);
        if (!answer.stdout) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(answer.stdout, runOutput).to.equal('hello from web, you are 198.51.100.2');

      const refused = await sandboxRun(['--drop', name], place);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(new RegExp(`^scripts/sandbox: processes still run in sandbox ${name}: (\\d+ )*${run.pid}\\b`));
      expect(running(holderPid(place.records, name)), 'a refused drop stops nothing').to.equal(true);
    } finally {
      run.kill('SIGTERM');
    }
    const [code, signal] = await once(run, 'exit');
    expect({ code, signal }, runOutput).to.deep.equal({ code: 143, signal: null });
    expect((await sandboxRun(['--drop', name], place)).code).to.equal(0);
  });

  it('gives a sandbox an /etc of its own, which ip netns exec uses, as root and in a user namespace', async function () {
    await etcOfItsOwn(place);
    if (readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295') this.skip();
    if (spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'unshare', '--user', '--map-root-user', 'true']).status !== 0) this.skip();
    await etcOfItsOwn(userPlace(place, NOBODY));
  });

  it("ends, as its COMMAND ends, the resolver service it started: by the pid file's pid, only in the sandbox's namespace", async () => {
    const started = await sandboxRun(['sh', '-c', 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! >/run/nsnet/dns.sock.pid; echo $!'], place);
    expect(started.code, started.stderr).to.equal(0);
    const resolver = Number(started.stdout);
    expect(resolver).to.be.above(0);
    expect(running(resolver), 'the service in the sandbox is gone when the call returns').to.equal(false);

    const outsider = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const named = await sandboxRun(['sh', '-c', `echo ${outsider.pid} >/run/nsnet/dns.sock.pid`], place);
      expect(named.code, named.stderr).to.equal(0);
      expect(running(outsider.pid), 'a process outside the sandbox named in its pid file').to.equal(true);
    } finally {
      outsider.kill();
    }
  });

  it('ends, as its COMMAND ends, the overlay agents and resolvers under any state directory or socket of its /run, in other mount namespaces too; no process outside', async () => {
    // Stand-ins: processes whose command lines are a service's, named where that service names itself.
    const service = (kind) => `${process.execPath} -e 'setInterval(() => {}, 1e6)' ${kind} serve`;
    const info = (dir, pid) => `mkdir -p ${dir} && printf '{\\n  "pid": %s,\\n  "leaseId": "1"\\n}\\n' ${pid} >${dir}/net.json`;
    const script = [
      'ip netns add host1',
      `ip netns exec host1 ${service('overlay')} net </dev/null >/dev/null 2>&1 &`,
      `${info('/run/nsnet-hosts/host1/state/overlay', '$!')} && echo $!`,
      `${service('overlay')} net </dev/null >/dev/null 2>&1 &`,
      `${info('/run/nsnet/overlay', '$!')} && echo $!`,
      `ip netns exec host1 ${service('dns')} </dev/null >/dev/null 2>&1 &`,
      'echo $! >/run/nsnet-hosts/host1/dns.sock.pid && echo $!',
    ].join('\n');
    const started = await sandboxRun(['sh', '-c', script], place);
    expect(started.code, started.stderr).to.equal(0);
    const services = started.stdout.trim().split('\n').map(Number);
    expect(services).to.have.lengthOf(3);
    expect(services.filter(running), 'the services are gone when the call returns').to.deep.equal([]);

    for (const kind of ['overlay', 'dns']) {
      const outsider = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', kind, 'serve', 'net'], { stdio: 'ignore' });
      try {
        const named = kind === 'overlay' ? info('/run/nsnet-hosts/host1/state/overlay', outsider.pid) : `mkdir -p /run/nsnet-hosts/host1 && echo ${outsider.pid} >/run/nsnet-hosts/host1/dns.sock.pid`;
        const call = await sandboxRun(['sh', '-c', named], place);
        expect(call.code, call.stderr).to.equal(0);
        expect(running(outsider.pid), `a process outside the sandbox named in a ${kind} service's file`).to.equal(true);
      } finally {
        outsider.kill();
      }
    }
  });

  it("without --keep, passes its stdin and SIGTERM on to COMMAND and exits with COMMAND's status", async () => {
    const piped = spawnSync(sandbox, ['sh', '-c', 'cat; exit 7'], { input: 'through stdin', encoding: 'utf8' });
    expect({ status: piped.status, stdout: piped.stdout }).to.deep.equal({ status: 7, stdout: 'through stdin' });

    const waiting = spawn(sandbox, ['sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; sleep 30 & wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    waiting.stdout.setEncoding('utf8').on('data', (chunk) => (output += chunk));
    expect(await eventually(() => output === 'ready\n'), output).to.equal(true);
    waiting.kill('SIGTERM');
    const [code] = await once(waiting, 'exit');
    expect({ code, output }).to.deep.equal({ code: 3, output: 'ready\ngot TERM\n' });
  });

  it('a sandbox without --keep is new and empty at each call, also from inside another; bad usage is refused', async () => {
    const look = 'readlink /proc/self/ns/net; ls /run/netns; command -v nsnet';
    const outer = await sandboxRun(['sh', '-c', `${look}; ip netns add mine; scripts/sandbox sh -c '${look}'`], place);
    expect(outer.code, outer.stderr).to.equal(0);
    const [outerNs, outerNsnet, innerNs, innerNsnet, ...rest] = outer.stdout.trim().split('\n');
    expect(outerNs).to.match(/^net:/).and.to.not.equal(readlinkSync('/proc/self/ns/net'));
    expect(innerNs, 'a sandbox made from inside another').to.match(/^net:/).and.to.not.equal(outerNs);
    expect([outerNsnet, innerNsnet, rest], 'nsnet on PATH, and the inner sandbox\'s netns directory empty').to.deep.equal(['/run/nsnet-sandbox/bin/nsnet', '/run/nsnet-sandbox/bin/nsnet', []]);

    for (const args of [[], ['--keep'], ['--keep', 'a/b', 'true'], ['--drop', 'x', 'true'], ['--list', '--wan'], ['--bogus', 'true']]) {
      const refused = await sandboxRun(args, place);
      expect(refused.code, args.join(' ')).to.equal(2);
      expect(refused.stderr, args.join(' ')).to.match(/^scripts\/sandbox: .*\nUsage: scripts\/sandbox /);
    }
    expect(existsSync(place.records)).to.equal(false);
  });
});
