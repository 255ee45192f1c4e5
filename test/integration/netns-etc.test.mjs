import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { stop, uniqueName } from '../helpers.mjs';

/** The mount points of a process's mount namespace (field 5 of mountinfo). */
function mountPoints(pid = 'self') {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]);
}

describe("a namespace's own /etc files (ns.spawn, ns.exec)", () => {
  let etcDir;
  let previousEtcDir;
  let ns;
  const hostResolvConf = () => readFileSync('/etc/resolv.conf', 'utf8');

  before(() => {
    previousEtcDir = process.env.NSNET_NETNS_ETC_DIR;
    etcDir = mkdtempSync(join(tmpdir(), 'nsnet-netns-etc-'));
    process.env.NSNET_NETNS_ETC_DIR = etcDir;
  });
  after(() => {
    if (previousEtcDir === undefined) delete process.env.NSNET_NETNS_ETC_DIR;
    else process.env.NSNET_NETNS_ETC_DIR = previousEtcDir;
    rmSync(etcDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('etc'));
  });
  afterEach(async () => {
    await ns.delete();
    rmSync(join(etcDir, ns.name), { recursive: true, force: true });
  });

  function writeOwn(file, text) {
    mkdirSync(join(etcDir, ns.name), { recursive: true });
    writeFileSync(join(etcDir, ns.name, file), text);
  }

  it("shows the program the namespace's resolv.conf, and the host keeps its own", async () => {
    const before = hostResolvConf();
    const own = `nameserver 10.89.0.1\nsearch ${ns.name}.test\noptions ndots:0\n`;
    expect(own).to.not.equal(before);
    writeOwn('resolv.conf', own);

    const result = await ns.exec('cat', ['/etc/resolv.conf']);
    expect(result).to.include({ code: 0, stderr: '' });
    expect(result.stdout).to.equal(own);
    expect(hostResolvConf()).to.equal(before);
    expect(mountPoints()).to.not.include('/etc/resolv.conf');
  });

  it('keeps the bind mount in the program\'s own mount namespace while it runs', async () => {
    const before = hostResolvConf();
    writeOwn('resolv.conf', 'nameserver 10.89.0.1\n');
    const child = ns.spawn('sh', ['-c', 'cat /etc/resolv.conf; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = await once(child.stdout.setEncoding('utf8'), 'data');
      expect(line).to.equal('nameserver 10.89.0.1\n');
      // The program's mounts: /etc/resolv.conf covered, /sys remounted as before.
      expect(mountPoints(child.pid)).to.include('/etc/resolv.conf');
      expect(readFileSync(`/proc/${child.pid}/root/etc/resolv.conf`, 'utf8')).to.equal('nameserver 10.89.0.1\n');
      // This process's view, at the same moment: its own file, no mount on it.
      expect(hostResolvConf()).to.equal(before);
      expect(mountPoints()).to.not.include('/etc/resolv.conf');
    } finally {
      await stop(child);
    }
    expect(hostResolvConf()).to.equal(before);
  });

  it("leaves a namespace without a directory of its own with the host's files", async () => {
    const other = await NetNamespace.create(uniqueName('etc'));
    try {
      writeOwn('resolv.conf', 'nameserver 10.89.0.1\n');
      const result = await other.exec('cat', ['/etc/resolv.conf']);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.equal(hostResolvConf());
      const unnamed = await NetNamespace.create();
      try {
        expect((await unnamed.exec('cat', ['/etc/resolv.conf'])).stdout).to.equal(hostResolvConf());
      } finally {
        await unnamed.delete();
      }
    } finally {
      await other.delete();
    }
  });

  it('binds every file /etc has, skips one it lacks, and still shows the namespace in /sys', async () => {
    writeOwn('resolv.conf', 'nameserver 10.89.0.2\n');
    writeOwn('hosts', '10.89.0.3 peer\n');
    const lacking = `nsnet-${ns.name}-absent`;
    writeOwn(lacking, 'x\n');
    await ns.links.add({ kind: 'bridge', name: 'inside0' });
    const result = await ns.exec('sh', ['-c', `cat /etc/resolv.conf /etc/hosts; ls /sys/class/net; ls /etc/${lacking} 2>&1 || true`]);
    expect(result.code).to.equal(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, 4)).to.deep.equal(['nameserver 10.89.0.2', '10.89.0.3 peer', 'inside0', 'lo']);
    expect(lines[4]).to.include('No such file');
  });

  it('refuses to run the program when a file cannot be bound, naming it', async () => {
    mkdirSync(join(etcDir, ns.name, 'resolv.conf'), { recursive: true }); // a directory over a file
    const result = await ns.exec('cat', ['/etc/resolv.conf']);
    expect(result.code).to.equal(125);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.include(`bind ${join(etcDir, ns.name, 'resolv.conf')} over /etc/resolv.conf`);
  });
});
