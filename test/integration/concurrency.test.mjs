import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace, netnsDir, reconcile, removeNetwork } from '../../dist/index.js';
import { ipJson, uniqueName } from '../helpers.mjs';

const worker = join(process.cwd(), 'test/integration/workers/connect-many.mjs');

function startWorker(network, prefix, count) {
  const child = spawn(process.execPath, [worker, network, prefix, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop();
    lines.push(...parts);
  });
  return { child, lines };
}

/** How many endpoint records of the network the state directory holds. */
function recordedEndpoints(network) {
  return readdirSync(join(process.env.NSNET_STATE_DIR, 'endpoints')).filter((file) => file.startsWith(`${network}@`) && file.endsWith('.json')).length;
}

async function deleteNamespaces(prefix) {
  for (const ns of await NetNamespace.list()) if (ns.name.startsWith(prefix)) await ns.delete();
  // A worker killed between making a namespace's file and mounting it leaves the plain file, as `ip netns add` would.
  for (const name of readdirSync(netnsDir())) if (name.startsWith(prefix)) await NetNamespace.removeLeftover(join(netnsDir(), name));
}

/** The eth0 IPv4 address of a namespace, as iproute2 reads it. */
function addressIn(ns) {
  const [entry] = ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], ns);
  return entry?.addr_info[0]?.local;
}

/** Kernel, records and leases agree: every piece belongs to a live endpoint. */
function checkConsistent(net, endpoints) {
  const leases = JSON.parse(readFileSync(join(process.env.NSNET_STATE_DIR, 'leases', `${net}.json`), 'utf8'));
  expect(Object.keys(leases.ipv4.addresses).sort()).to.deep.equal(endpoints.map((e) => e.ipv4).sort());
  const tagged = ipJson(['link', 'show', 'type', 'veth'])
    .map((l) => ipJson(['-d', 'link', 'show', 'dev', l.ifname])[0])
    .filter((l) => l.ifalias?.startsWith(`nsnet:endpoint:${net}:`));
  expect(tagged.map((l) => l.ifname).sort()).to.deep.equal(endpoints.map((e) => e.hostIfname).sort());
  for (const endpoint of endpoints) expect(addressIn(endpoint.netns.name)).to.equal(endpoint.ipv4);
}

describe('concurrency and crashes', function () {
  this.timeout(120000);

  it('gives 100 distinct addresses to four processes connecting 25 namespaces each at once', async () => {
    const network = uniqueName('cc');
    const net = await createBridgeNetwork({ name: network, subnet: '10.140.0.0/24' });
    const prefix = uniqueName('cw');
    try {
      const workers = [0, 1, 2, 3].map((i) => startWorker(network, `${prefix}-${i}`, 25));
      const codes = await Promise.all(workers.map(({ child }) => once(child, 'exit').then(([code]) => code)));
      expect(codes).to.deep.equal([0, 0, 0, 0]);
      const lines = workers.flatMap((w) => w.lines);
      expect(lines).to.have.length(100);
      const addresses = lines.map((line) => line.split(' ')[1]);
      expect(new Set(addresses).size).to.equal(100);
      for (const line of lines) {
        const [ns, address] = line.split(' ');
        expect(addressIn(ns), ns).to.equal(address);
      }
      checkConsistent(network, await net.endpoints());
    } finally {
      await removeNetwork(network, { force: true });
      await deleteNamespaces(prefix);
    }
  });

  it('reconcile cleans up after a process killed with SIGKILL while connecting', async () => {
    const network = uniqueName('ck');
    const net = await createBridgeNetwork({ name: network, subnet: '10.141.0.0/24' });
    const prefix = uniqueName('kw');
    try {
      const { child, lines } = startWorker(network, prefix, 200);
      // Killed once some endpoints are recorded: their records come before their veths, and
      // the connects of a burst move on together, so some are half-way.
      while (recordedEndpoints(network) < 20 && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 1));
      expect(child.exitCode, 'the worker ended before it was killed').to.equal(null);
      const exited = once(child, 'exit');
      process.kill(child.pid, 'SIGKILL'); // mid-way through its 200 connects
      await exited;
      const before = await net.endpoints();
      const report = await reconcile();
      const after = await net.endpoints();
      // What was half-made is gone; what was complete stays.
      const finished = new Set(lines.map((line) => line.split(' ')[0]));
      for (const endpoint of after) expect(finished.has(endpoint.netns.name) || addressIn(endpoint.netns.name) === endpoint.ipv4).to.equal(true);
      for (const name of finished) expect(after.map((e) => e.netns.name)).to.include(name);
      // With 200 connects started together, some were half-way when it died.
      expect(before.length).to.be.greaterThan(after.length);
      expect(report.endpoints).to.have.length(before.length - after.length);
      checkConsistent(network, after);
      const again = await reconcile();
      expect({ ...again, firewallElements: 0 }).to.deep.equal({ endpoints: [], links: [], leases: [], containers: [], bridges: [], repaired: [], pool: [], strayBridges: [], ports: [], swept: {}, firewallElements: 0, rebuilt: [], failures: [] });
    } finally {
      await removeNetwork(network, { force: true });
      await deleteNamespaces(prefix);
    }
  });
});
