// Bursts: many setups and teardowns at once, in one process and in several;
// the kernel, read back with ip and nft, is the judge of what each got.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { ipJson, publishedAnyPorts, uniqueName } from '../helpers.mjs';

const worker = join(process.cwd(), 'test/integration/workers/burst-setup.mjs');

/** The IPv4 address of eth0 in each namespace, as iproute2 reads it. */
function kernelAddresses(ids) {
  return ids.map((id) => ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], id)[0]?.addr_info[0]?.local);
}

/** Checks, in the kernel, that the containers have distinct addresses of theirs and their ports are published, once each. */
function checkDistinct(made, firstPort, network) {
  const addresses = kernelAddresses(made.map((c) => c.id));
  expect(addresses).to.deep.equal(made.map((c) => c.ipv4));
  expect(new Set(addresses).size).to.equal(made.length);
  const ports = publishedAnyPorts().filter((p) => p >= firstPort && p < firstPort + made.length);
  expect(ports.sort((a, b) => a - b)).to.deep.equal(made.map((_, i) => firstPort + i));
  const ends = ipJson(['link', 'show', 'master', network.bridge]).map((link) => link.ifname);
  expect(new Set(ends).size).to.equal(made.length);
}

describe('bursts', () => {
  let network;
  let name;
  beforeEach(async () => {
    name = uniqueName('bu');
    network = await createBridgeNetwork({ name, subnet: '10.147.0.0/16' });
  });
  afterEach(async () => {
    await removeNetwork(name, { force: true });
  });

  it('200 setups at once in one process, each with a port: distinct addresses and ports; 200 teardowns at once leave nothing', async function () {
    this.timeout(120000);
    const prefix = uniqueName('b1');
    const ids = Array.from({ length: 200 }, (_, i) => `${prefix}-${i}`);
    const made = await Promise.all(ids.map(async (id, i) => ({ id, ipv4: (await setupContainer(id, { network: name, publish: [`${31000 + i}:80`] })).endpoint.ipv4 })));
    checkDistinct(made, 31000, network);
    await Promise.all(ids.map((id) => teardownContainer(id)));
    expect((await NetNamespace.list()).filter((ns) => ns.name.startsWith(prefix))).to.deep.equal([]);
    expect(publishedAnyPorts().filter((p) => p >= 31000 && p < 31200)).to.deep.equal([]);
    expect(await network.endpoints()).to.deep.equal([]);
  });

  it('four processes of 50 setups at once: distinct addresses and ports across them', async function () {
    this.timeout(120000);
    const prefixes = [0, 1, 2, 3].map((i) => uniqueName(`b${i}`));
    const children = prefixes.map((prefix, i) =>
      spawn(process.execPath, [worker, name, prefix, '50', String(32000 + 50 * i)], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const outputs = children.map((child) => {
      let text = '';
      const ready = new Promise((resolve) => child.stdout.on('data', (chunk) => (text += chunk).startsWith('ready\n') && resolve()));
      return { ready, done: once(child, 'exit').then(([code]) => ({ code, lines: text.trim().split('\n') })) };
    });
    try {
      // Loaded and waiting, then released together.
      await Promise.all(outputs.map((output) => output.ready));
      for (const child of children) child.stdin.write('go\n');
      const results = await Promise.all(outputs.map((output) => output.done));
      expect(results.map((r) => r.code)).to.deep.equal([0, 0, 0, 0]);
      const made = results.flatMap((r) => JSON.parse(r.lines[1]));
      checkDistinct(made, 32000, network);
      await Promise.all(made.map((c) => teardownContainer(c.id)));
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
