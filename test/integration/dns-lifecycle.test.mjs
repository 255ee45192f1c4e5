// When names answer: from the moment setupContainer resolves to the moment
// teardownContainer resolves, whichever process set the container up, across
// a restart of the resolver service and after reconcile; and glibc's
// parallel A and AAAA queries never fail.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { NetNamespace, reconcile, teardownContainer } from '../../dist/index.js';
import { addressesOf } from '../dns-ask.mjs';
import { dnsSuite, resolverPid, stopResolver, testResources } from '../dns-environment.mjs';
import { uniqueName } from '../helpers.mjs';

const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** Sets a container up in another node process (same state directory), which then exits. */
async function setupElsewhere(id, options) {
  const script = `
    import { setupContainer } from ${JSON.stringify(dist)};
    const c = await setupContainer(process.argv[1], JSON.parse(process.argv[2]));
    console.log(JSON.stringify(c.endpoint));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, id, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`the other process exited with ${code}: ${stderr}`);
  return JSON.parse(stdout);
}

describe('names: when they answer', () => {
  dnsSuite();
  const made = testResources();
  afterEach(() => made.cleanup());

  it('each of 20 containers answers the first query right after setupContainer resolves, and none right after teardownContainer', async () => {
    const net = await made.network({});
    const asking = await made.container({ network: net.name, name: 'asking' });
    const asker = await made.asker(asking.netns);
    const set = [];
    for (let i = 0; i < 20; i += 1) {
      const c = await made.container({ network: net.name, name: `n${i}` });
      const answer = await asker.ask({ server: net.gateway, name: `n${i}`, timeoutMs: 1500 });
      expect(addressesOf(answer), `n${i}, first query`).to.deep.equal([c.endpoint.ipv4]);
      set.push(c);
    }
    for (const [i, c] of set.entries()) {
      await teardownContainer(c.id);
      const bare = await asker.ask({ server: net.gateway, name: `n${i}`, timeoutMs: 1500 });
      expect(addressesOf(bare), `n${i} after teardown`).to.not.include(c.endpoint.ipv4);
      const qualified = await asker.ask({ server: net.gateway, name: `n${i}.${net.name}`, timeoutMs: 1500 });
      expect(qualified, `n${i}.${net.name} after teardown`).to.include({ answered: true, rcode: 'NXDOMAIN' });
    }
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'asking' }))).to.deep.equal([asking.endpoint.ipv4]);
  });

  it('a container set up by another node process answers at once here, and goes with its teardown here', async () => {
    const net = await made.network({});
    const asking = await made.container({ network: net.name, name: 'asking' });
    const asker = await made.asker(asking.netns);
    const id = uniqueName('dco');
    try {
      const endpoint = await setupElsewhere(id, { network: net.name, name: 'remote', aliases: ['far'] });
      for (const name of ['remote', 'far', id]) {
        expect(addressesOf(await asker.ask({ server: net.gateway, name, timeoutMs: 1500 })), name).to.deep.equal([endpoint.ipv4]);
      }
      await teardownContainer(id);
      expect(await asker.ask({ server: net.gateway, name: `remote.${net.name}` })).to.include({ rcode: 'NXDOMAIN' });
    } finally {
      await teardownContainer(id).catch(() => undefined);
    }
  });

  it('the resolver killed by its PID is started again by the next setupContainer, and every earlier name answers again', async () => {
    const net = await made.network({ ipv6: { subnet: 'fd00:53:6::/64' } });
    const other = await made.network({});
    const a = await made.container({ network: net.name, name: 'alpha', aliases: ['first'] });
    const b = await made.container({ network: net.name, name: 'beta' });
    const c = await made.container({ network: other.name, name: 'gamma' });
    const fromA = await made.asker(a.netns);
    const fromC = await made.asker(c.netns);
    expect(addressesOf(await fromA.ask({ server: net.gateway, name: 'beta' }))).to.deep.equal([b.endpoint.ipv4]);
    const pid = resolverPid();
    expect(pid, 'a resolver runs, by its pid file').to.be.a('number');
    expect(await stopResolver({ kill: true })).to.equal(pid);
    expect((await fromA.ask({ server: net.gateway, name: 'beta', timeoutMs: 800 })).answered, 'nothing answers while it is down').to.equal(false);

    const d = await made.container({ network: net.name, name: 'delta' });
    const restarted = resolverPid();
    expect(restarted).to.be.a('number').and.not.equal(pid);
    for (const [name, address] of [['alpha', a.endpoint.ipv4], ['first', a.endpoint.ipv4], ['beta', b.endpoint.ipv4], ['delta', d.endpoint.ipv4], [a.id, a.endpoint.ipv4]]) {
      expect(addressesOf(await fromA.ask({ server: net.gateway, name, timeoutMs: 1500 })), name).to.deep.equal([address]);
    }
    const aaaa = await fromA.ask({ server: net.ipv6.gateway, name: 'beta', type: 'AAAA', timeoutMs: 1500 });
    expect(addressesOf(aaaa)).to.deep.equal([b.endpoint.ipv6]);
    expect(addressesOf(await fromC.ask({ server: other.gateway, name: 'gamma', timeoutMs: 1500 })), 'a network nobody joined since').to.deep.equal([c.endpoint.ipv4]);
  });

  it('reconcile() drops the names of a container whose namespace went behind its back', async () => {
    const net = await made.network({});
    const asking = await made.container({ network: net.name, name: 'asking' });
    const gone = await made.container({ network: net.name, name: 'gone' });
    const asker = await made.asker(asking.netns);
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'gone' }))).to.deep.equal([gone.endpoint.ipv4]);
    await (await NetNamespace.open(gone.id)).delete();
    await reconcile();
    expect(await asker.ask({ server: net.gateway, name: `gone.${net.name}` })).to.include({ answered: true, rcode: 'NXDOMAIN' });
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'asking' }))).to.deep.equal([asking.endpoint.ipv4]);
  });

  it("glibc's parallel A and AAAA from one socket (getent ahosts), 200 times on a dual-stack network: never a failure", async () => {
    const net = await made.network({ ipv6: { subnet: 'fd00:53:7::/64' } });
    const target = await made.container({ network: net.name, name: 'target' });
    const asking = await made.container({ network: net.name, name: 'asking' });
    const expected = [target.endpoint.ipv4, target.endpoint.ipv6].sort();
    const failures = [];
    for (let i = 0; i < 200; i += 1) {
      const { code, stdout, stderr } = await asking.netns.exec('getent', ['ahosts', 'target']);
      const addresses = [...new Set(stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]))].sort();
      if (code !== 0 || JSON.stringify(addresses) !== JSON.stringify(expected)) failures.push({ i, code, stdout, stderr });
    }
    expect(failures).to.deep.equal([]);
  });
});
