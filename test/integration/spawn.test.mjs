import { once } from 'node:events';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { expectReject, ipJson, runNode, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

describe('ns.spawn', () => {
  let ns;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('sp'));
  });
  afterEach(async () => {
    await ns.delete();
  });

  it('runs a program that sees only the namespace interfaces', async () => {
    await ns.links.add({ kind: 'bridge', name: 'inside0' });
    const host = NetNamespace.host();
    const hostOnly = uniqueName('ho');
    await host.links.add({ kind: 'bridge', name: hostOnly });
    try {
      // `ip` inside reads the kernel through netlink; /proc/net/dev and /sys
      // are the other views a program may use.
      const ipView = await runNode(
        ns,
        `process.stdout.write(require('node:child_process').execFileSync('ip', ['-j', 'link']))`,
      );
      expect(JSON.parse(ipView).map((l) => l.ifname)).to.deep.equal(['lo', 'inside0']);
      const procView = await runNode(ns, `process.stdout.write(require('node:fs').readFileSync('/proc/net/dev'))`);
      expect(procView).to.contain('inside0').and.not.contain(hostOnly);
      const sysView = await runNode(ns, `console.log(require('node:fs').readdirSync('/sys/class/net').sort().join(' '))`);
      expect(sysView.trim()).to.equal('inside0 lo');
      expect(ipJson(['link']).map((l) => l.ifname)).to.include(hostOnly).and.not.include('inside0');
    } finally {
      await host.links.delete(hostOnly);
    }
  });

  it('passes exit codes, signals, arguments, environment and stdio through', async () => {
    const exit = ns.spawn(process.execPath, ['-e', 'process.exit(7)']);
    expect((await once(exit, 'exit'))[0]).to.equal(7);
    const sleeper = ns.spawn('sleep', ['30']);
    await stop(sleeper);
    expect(sleeper.signalCode).to.equal('SIGTERM');
    const echo = ns.spawn(process.execPath, ['-e', 'process.stdin.pipe(process.stdout); console.error(process.argv[1], process.env.NSNET_PROBE)', 'arg with space'], {
      env: { ...process.env, NSNET_PROBE: 'yes' },
    });
    let out = '';
    let err = '';
    echo.stdout.on('data', (d) => (out += d));
    echo.stderr.on('data', (d) => (err += d));
    echo.stdin.end('through stdin');
    await once(echo, 'exit');
    expect(out).to.equal('through stdin');
    expect(err.trim()).to.equal('arg with space yes');
  });

  it('exits with 127 and a message when the program does not exist', async () => {
    const child = ns.spawn('/nonexistent/program', [], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    expect(code).to.equal(127);
    expect(err).to.contain('/nonexistent/program');
  });

  it('refuses a missing command and bad arguments', async () => {
    expect(() => ns.spawn('')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => ns.spawn('true', 'not-an-array')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    ns.close();
    expect(() => ns.spawn('true')).to.throw().with.property('code', 'NAMESPACE_CLOSED');
    ns = await NetNamespace.open(ns.name);
  });

  it('carries real TCP traffic both ways between two namespaces joined by a veth', async () => {
    const other = await NetNamespace.create(uniqueName('sp'));
    try {
      await ns.links.add({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth0', netns: other } });
      await other.links.set('eth0', { up: true });
      await ns.addresses.add('eth0', '10.123.0.1/24');
      await other.addresses.add('eth0', '10.123.0.2/24');
      await ns.addresses.add('eth0', 'fd00:123::1/64', { nodad: true });
      await other.addresses.add('eth0', 'fd00:123::2/64', { nodad: true });
      await Promise.all([ns.links.set('lo', { up: true }), other.links.set('lo', { up: true })]);
      const serverA = await startTcpServer(ns, 7001, 'a');
      const serverB = await startTcpServer(other, 7002, 'b');
      try {
        expect(await tcpRequest(other, '10.123.0.1', 7001, 'hello')).to.equal('a:hello');
        expect(await tcpRequest(ns, '10.123.0.2', 7002, 'hi')).to.equal('b:hi');
        expect(await tcpRequest(other, 'fd00:123::1', 7001, 'v6')).to.equal('a:v6');
        // The host is not on this wire: the same address is unreachable from it.
        await expectReject(tcpRequest(NetNamespace.host(), '10.123.0.1', 7001, 'x', 1000), 'Error', undefined);
      } finally {
        await stop(serverA);
        await stop(serverB);
      }
    } finally {
      await other.delete();
    }
  });
});
