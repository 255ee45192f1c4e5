// Routed networks after a crash: a setupContainer killed (or failing) at
// each of its steps, in a child process (NSNET_FAULT, src/fault.ts), leaves
// nothing that reconcile() does not remove: no host end, no host route, no
// namespace, no lease, no port. And reconcile puts back what an outside
// change took from a live container: its host route, its veth.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createRoutedNetwork, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { routedHostEndPrefix, routedLinkGroup } from '../../dist/types/routed-network.js';
import { createWan, eventually, ipJson, runWithFault, startTcpServer, stateRecords, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const WORKER = join(process.cwd(), 'test/integration/workers/fault-operation.mjs');
const HOST = '203.0.114.1';
const WAN = '203.0.114.2';
const PORT = 18273;
const SUBNET = '10.175.0.0/24';
const ADDRESS = '10.175.0.50';
const ADDRESS6 = 'fd00:175::50';
const MAX_STEPS = 60;

/** The host's routes (both families) through host ends named with `prefix`. */
function routesThrough(prefix) {
  return ['-4', '-6'].flatMap((family) => ipJson([family, 'route', 'show']).filter((r) => r.dev?.startsWith(prefix)));
}

function hostEnds(prefix) {
  return ipJson(['link', 'show']).filter((l) => l.ifname.startsWith(prefix)).map((l) => l.ifname);
}

function mappedPorts() {
  const listed = JSON.parse(execFileSync('nft', ['-j', 'list', 'map', 'inet', 'nsnet', 'ports4_any'], { encoding: 'utf8' })).nftables;
  return (listed.find((e) => e.map).map.elem ?? []).map(([key]) => key.concat[1]).filter((port) => port === PORT);
}

describe('routed networks: crashes and reconcile', function () {
  this.timeout(600000);
  const host = NetNamespace.host();
  const name = uniqueName('rflt');
  let network;
  let wan;
  let removeWan;
  const options = { network: name, ip: ADDRESS, ipv6: ADDRESS6, publish: [`${PORT}:80`] };

  before(async () => {
    network = await createRoutedNetwork({ name, subnet: SUBNET, ipv6: { subnet: 'fd00:175::/64' } });
    ({ netns: wan, remove: removeWan } = await createWan(uniqueName('w'), { host: HOST, wan: WAN }));
  });
  after(async () => {
    await removeNetwork(name, { force: true });
    await removeWan();
  });

  /** Nothing of a container is left on the network, in the kernel or in the state. */
  function nothingLeft() {
    expect(hostEnds(network.bridge), 'host ends').to.deep.equal([]);
    expect(routesThrough(network.bridge), 'host routes').to.deep.equal([]);
    expect(stateRecords('endpoints').filter((e) => e.network === name), 'endpoint records').to.deep.equal([]);
    const leases = join(process.env.NSNET_STATE_DIR, 'leases', `${name}.json`);
    const owners = existsSync(leases) ? Object.values(JSON.parse(readFileSync(leases, 'utf8'))).flatMap((table) => Object.values(table?.addresses ?? {})) : [];
    expect(owners, 'leases').to.deep.equal([]);
    expect(mappedPorts(), 'published port').to.deep.equal([]);
  }

  for (const mode of ['kill', 'fail']) {
    it(`setupContainer (dual stack, a published port): ${mode} at every step, then reconcile, leaves nothing; the address and port are free again`, async () => {
      let n = 1;
      for (; ; n++) {
        expect(n, `more than ${MAX_STEPS} steps`).to.be.at.most(MAX_STEPS);
        const id = uniqueName('rf');
        const run = await runWithFault(WORKER, ['setupContainer', JSON.stringify({ id, options })], `setupContainer:${n}:${mode}`);
        const context = `${mode} at step ${n} (${run.injected}): ${JSON.stringify(run.outcome)}\n${run.stderr}`;
        if (run.injected === undefined) {
          expect(run.outcome?.ok, context).to.equal(true);
          await teardownContainer(id);
          break;
        }
        if (mode === 'kill') expect(run.signal, context).to.equal('SIGKILL');
        else expect(run.outcome?.code, context).to.equal('FAULT_INJECTED');
        const report = await reconcile();
        expect(report.failures, context).to.deep.equal([]);
        expect(await eventually(() => hostEnds(network.bridge).length === 0), context).to.equal(true);
        nothingLeft();
        // The address and the port are free: a new container takes them, and wan reaches it.
        const again = await setupContainer(uniqueName('rr'), options);
        try {
          expect(again.endpoint.ipv4).to.equal(ADDRESS);
          if (n === 1 || n % 5 === 0) {
            const server = await startTcpServer(again.netns, 80, 'again');
            try {
              expect(await tcpRequest(wan, HOST, PORT, 'hi')).to.equal('again:hi');
            } finally {
              await stop(server);
            }
          }
        } finally {
          await teardownContainer(again.id);
        }
        expect(await eventually(() => hostEnds(network.bridge).length === 0)).to.equal(true);
      }
      expect(n - 1, 'steps walked').to.be.at.least(6);
      console.log(`      steps walked: ${n - 1}`);
    });
  }

  /** The icc_groups elements, as nft lists them ("group . group"). */
  function iccGroups() {
    const listed = JSON.parse(execFileSync('nft', ['-j', 'list', 'set', 'inet', 'nsnet', 'icc_groups'], { encoding: 'utf8' })).nftables;
    return (listed.find((e) => e.set).set.elem ?? []).map((element) => element.concat.join(' . '));
  }

  for (const mode of ['kill', 'fail']) {
    it(`createRoutedNetwork (dual stack): ${mode} at every step leaves nothing, or the whole network`, async () => {
      let n = 1;
      for (; ; n++) {
        expect(n, `more than ${MAX_STEPS} steps`).to.be.at.most(MAX_STEPS);
        const made = uniqueName('rfn');
        const run = await runWithFault(WORKER, ['createRoutedNetwork', JSON.stringify({ options: { name: made, subnet: '10.177.0.0/24', ipv6: { subnet: 'fd00:177::/64' } } })], `createRoutedNetwork:${n}:${mode}`);
        const context = `${mode} at step ${n} (${run.injected}): ${JSON.stringify(run.outcome)}\n${run.stderr}`;
        const report = await reconcile();
        expect(report.failures, context).to.deep.equal([]);
        const record = stateRecords('networks').find((r) => r.name === made);
        // Its icc element: its host ends' group, twice.
        const group = routedLinkGroup({ bridge: routedHostEndPrefix(made) });
        const element = `${group} . ${group}`;
        if (record) {
          expect(record.driver, context).to.equal('routed');
          expect(iccGroups(), context).to.include(element);
          await removeNetwork(made);
        } else {
          expect(run.injected, context).to.not.equal(undefined);
        }
        expect(iccGroups(), context).to.not.include(element);
        if (run.injected === undefined) break;
      }
      expect(n - 1, 'steps walked').to.be.at.least(2);
      console.log(`      steps walked: ${n - 1}`);
    });
  }

  it('adds its set to a table of an earlier nsnet, which has no icc_groups', async () => {
    const made = uniqueName('rold');
    // An earlier table: the rules, which name the set, gone with it.
    execFileSync('nft', ['flush', 'chain', 'inet', 'nsnet', 'into_bridge']);
    execFileSync('nft', ['delete', 'set', 'inet', 'nsnet', 'icc_groups']);
    await createRoutedNetwork({ name: made, subnet: '10.178.0.0/24' });
    try {
      const group = routedLinkGroup({ bridge: routedHostEndPrefix(made) });
      expect(iccGroups()).to.include(`${group} . ${group}`);
      const rules = execFileSync('nft', ['list', 'chain', 'inet', 'nsnet', 'into_bridge'], { encoding: 'utf8' });
      expect(rules).to.contain('iifgroup . oifgroup @icc_groups accept').and.to.contain('ct status dnat accept');
    } finally {
      await removeNetwork(made);
    }
  });

  it('puts back a host route deleted by hand, and a veth deleted by hand, with traffic through them again', async () => {
    const id = uniqueName('rrep');
    const { endpoint, netns } = await setupContainer(id, { network: name });
    const peer = await setupContainer(uniqueName('rpeer'), { network: name });
    const server = await startTcpServer(netns, 80, 'kept');
    try {
      await host.routes.delete({ dst: `${endpoint.ipv4}/32`, dev: endpoint.hostIfname });
      const report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.repaired.some((line) => line.includes(`host route ${endpoint.ipv4}/32`))).to.equal(true);
      expect(routesThrough(endpoint.hostIfname).map((r) => r.dst)).to.include(endpoint.ipv4);
      expect(await tcpRequest(peer.netns, endpoint.ipv4, 80, 'route')).to.equal('kept:route');

      await host.links.delete(endpoint.hostIfname);
      const remade = await reconcile();
      expect(remade.failures).to.deep.equal([]);
      expect(remade.repaired.some((line) => line.includes(`veth ${endpoint.hostIfname}`))).to.equal(true);
      expect(routesThrough(endpoint.hostIfname).map((r) => r.dst)).to.include(endpoint.ipv4);
      expect(await tcpRequest(peer.netns, endpoint.ipv4, 80, 'veth')).to.equal('kept:veth');
    } finally {
      await stop(server);
      await teardownContainer(peer.id);
      await teardownContainer(id);
    }
  });
});
