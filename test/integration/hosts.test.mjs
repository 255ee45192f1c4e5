// The simulated hosts of test/hosts.mjs: each its own network and mount
// namespace, state directory and process; kill() ends every process a host
// started; close() leaves nothing behind.
import { existsSync } from 'node:fs';

import { expect } from 'chai';

import { expectReject, ipJson, running } from '../helpers.mjs';
import { createHosts } from '../hosts.mjs';

describe('simulated hosts', function () {
  this.timeout(60000);

  it('gives each host its own namespaces, state and process, on one underlay with the wan', async () => {
    const hosts = await createHosts(2);
    try {
      const [a, b] = hosts.list;
      const seen = await Promise.all(
        hosts.list.map((host) =>
          host.run(async (nsnet) => {
            const { readlinkSync } = require('node:fs');
            return { net: readlinkSync('/proc/self/ns/net'), mnt: readlinkSync('/proc/self/ns/mnt'), state: process.env.NSNET_STATE_DIR, pid: process.pid };
          }),
        ),
      );
      expect(seen[0].net).to.not.equal(seen[1].net);
      expect(seen[0].mnt).to.not.equal(seen[1].mnt);
      expect(seen[0].state).to.not.equal(seen[1].state);
      expect(seen.map((s) => s.pid)).to.deep.equal([a.pid, b.pid]);
      // A network made on A is not B's.
      await a.run(async (nsnet) => nsnet.createBridgeNetwork({ name: 'only-a', subnet: '10.218.0.0/24' }));
      expect(await b.run(async (nsnet) => (await nsnet.listNetworks()).map((n) => n.name))).to.not.include('only-a');
      // The underlay: A reaches B, the service address and the wan (a closed port answers: refused, not unreachable).
      const answers = await a.run(
        async (nsnet, addresses) =>
          Promise.all(
            addresses.map(
              (host) =>
                new Promise((resolve) => {
                  const socket = require('node:net').connect({ host, port: 9, timeout: 2000 });
                  socket.on('error', (error) => resolve(error.code));
                  socket.on('timeout', () => resolve('timeout') || socket.destroy());
                }),
            ),
          ),
        [b.address, hosts.serviceAddress, hosts.wanAddress],
      );
      expect(answers).to.deep.equal(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
      const [route] = await a.json(['ip', '-j', 'route', 'show', 'default']);
      expect(route.gateway).to.equal(hosts.serviceAddress);
      const failed = await a.run(async () => {
        throw Object.assign(new Error('on purpose'), { code: 'X' });
      }).catch((error) => error);
      expect(failed).to.include({ message: 'on purpose', code: 'X' });
    } finally {
      await hosts.close();
    }
  });

  it('kill() ends the host process and everything it started, detached ones too; close() leaves nothing', async () => {
    const before = new Set(ipJson(['link']).map((link) => link.ifname));
    const netnsBefore = ipJson(['netns', 'list']).map((ns) => ns.name);
    const hosts = await createHosts(1);
    let a;
    try {
      [a] = hosts.list;
      const started = await a.run(async () => {
        const { spawn } = require('node:child_process');
        const child = spawn('sleep', ['600'], { stdio: 'ignore' });
        const detached = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
        detached.unref();
        return [child.pid, detached.pid];
      });
      expect(started.every(running)).to.equal(true);
      await a.kill();
      expect([a.pid, ...started].filter(running)).to.deep.equal([]);
      await expectReject(a.run(async () => 1), 'Error', undefined);
    } finally {
      await hosts.close();
    }
    expect(ipJson(['link']).map((link) => link.ifname).filter((name) => !before.has(name))).to.deep.equal([]);
    expect(ipJson(['netns', 'list']).map((ns) => ns.name)).to.deep.equal(netnsBefore);
    expect(existsSync(a.root)).to.equal(false);
  });
});

