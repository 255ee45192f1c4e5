// Fault injection (NSNET_FAULT) at every step of a connect that takes a
// namespace's default routes from another network, and of a disconnect of
// the network that gives them: a step that fails leaves the routes with the
// network that had them (the connect's undo gives them back); a process
// killed at any step leaves what reconcile (and a disconnect run again)
// brings to the routes the records call for, with traffic flowing out.
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, NetNamespace, reconcile, removeNetwork } from '../../dist/index.js';
import { createWan, defaultRoutes, linkNames, runWithFault, stateRecords, startWhoAmIServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const WORKER = join(process.cwd(), 'test/integration/workers/fault-operation.mjs');
const MAX_STEPS = 40;
const HOST = '198.18.8.1';
const WAN = '198.18.8.2';
const WHOAMI = 9108;

describe('several networks per namespace: faults at every step of moving the default routes', function () {
  this.timeout(300000);
  const host = NetNamespace.host();
  let wan;
  let removeWan;
  let whoami;
  let low;
  let high;

  before(async () => {
    ({ netns: wan, remove: removeWan } = await createWan(uniqueName('gwfw'), { host: HOST, wan: WAN }));
    await host.routes.replace({ dst: 'default', gateway: WAN });
    whoami = await startWhoAmIServer(wan, WHOAMI);
    low = await createBridgeNetwork({ name: uniqueName('gwfa'), subnet: '10.108.1.0/24', ipv6: { subnet: 'fd00:108:1::/64' } });
    high = await createBridgeNetwork({ name: uniqueName('gwfb'), subnet: '10.108.2.0/24', ipv6: { subnet: 'fd00:108:2::/64' } });
  });

  after(async () => {
    await stop(whoami);
    for (const net of [low, high]) await removeNetwork(net.name, { force: true }).catch(() => undefined);
    await host.routes.delete({ dst: 'default', gateway: WAN }).catch(() => undefined);
    await removeWan();
  });

  /** The routes via `net`'s gateways on `dev`, both families, and traffic out (masqueraded: the wan sees the host). */
  async function expectRoutesVia(netns, net, dev) {
    expect(defaultRoutes(netns, 4), 'IPv4 default route').to.deep.equal([{ gateway: net.gateway, dev }]);
    expect(defaultRoutes(netns, 6), 'IPv6 default route').to.deep.equal([{ gateway: net.ipv6.gateway, dev }]);
    expect(await tcpRequest(await NetNamespace.open(netns), WAN, WHOAMI, '')).to.equal(HOST);
  }

  /** The endpoint record of `net` in namespace `netns`, if any. */
  const endpointOf = (net, netns) => stateRecords('endpoints').find((e) => e.network === net.name && e.netnsPath.endsWith(`/${netns}`));

  /**
   * Runs `operation` in a child told to fail or be killed at step N, for N =
   * 1, 2, ... until no fault fires, each on a namespace on `low` (and, for a
   * disconnect, on `high` too); `settle(netns, run, context)` checks what it left.
   */
  async function walk(operation, mode, settle) {
    let n = 1;
    for (; ; n++) {
      expect(n, `${operation} has more than ${MAX_STEPS} steps`).to.be.at.most(MAX_STEPS);
      const ns = await NetNamespace.create(uniqueName('gwf'));
      try {
        await low.connect(ns);
        if (operation === 'disconnect') await high.connect(ns, { gwPriority: 5 });
        const args = { network: high.name, netns: ns.name, ...(operation === 'connect' ? { options: { gwPriority: 5 } } : {}) };
        const run = await runWithFault(WORKER, [operation, JSON.stringify(args)], `${operation}:${n}:${mode}`);
        const context = `${operation} ${mode} at step ${n} (${run.injected}), outcome ${JSON.stringify(run.outcome)}`;
        if (mode === 'kill' && run.injected !== undefined) expect(run.signal, context).to.equal('SIGKILL');
        else expect(run.outcome, context).to.not.equal(undefined);
        await settle(ns.name, run, context);
        if (run.injected === undefined) break;
      } finally {
        await ns.delete();
        await reconcile();
      }
    }
    return n - 1;
  }

  for (const mode of ['fail', 'kill']) {
    it(`connect of a higher-priority network: ${mode} at every step leaves the routes with the network that had them, or the new one whole`, async () => {
      const steps = await walk('connect', mode, async (netns, run, context) => {
        if (mode === 'kill' && run.injected !== undefined) expect((await reconcile()).failures, context).to.deep.equal([]);
        const record = endpointOf(high, netns);
        if (record?.status === 'ready') {
          await expectRoutesVia(netns, high, 'eth1');
        } else {
          expect(record, context).to.equal(undefined);
          expect([...linkNames(netns)].sort(), context).to.deep.equal(['eth0', 'lo']);
          await expectRoutesVia(netns, low, 'eth0');
        }
      });
      expect(steps).to.be.at.least(4);
    });

    it(`disconnect of the network that gives the routes: ${mode} at every step, then reconcile and disconnect again, leaves them with the other`, async () => {
      const steps = await walk('disconnect', mode, async (netns, run, context) => {
        // A step that failed or a process killed left a route out all the same, through either network.
        const routes = defaultRoutes(netns, 4);
        expect(routes, context).to.have.lengthOf(1);
        expect((await reconcile()).failures, context).to.deep.equal([]);
        await (await getNetwork(high.name)).disconnect(netns);
        expect(endpointOf(high, netns), context).to.equal(undefined);
        expect([...linkNames(netns)].sort(), context).to.deep.equal(['eth0', 'lo']);
        await expectRoutesVia(netns, low, 'eth0');
      });
      expect(steps).to.be.at.least(3);
    });
  }
});
