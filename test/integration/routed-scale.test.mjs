// One routed network of 2,000 containers: past the 1,023 ports a bridge
// takes (the kernel's BR_MAX_PORTS), as a routed network has no bridge.
// Every one has its own address and its own host route, any two reach each
// other through the host's routing, they reach the outside, and teardown
// leaves no route and no link.
import { expect } from 'chai';

import { createRoutedNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { createWan, eventually, ipJson, startTcpServer, startWhoAmIServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const COUNT = 2000;
const HOST = '198.51.103.1';
const WAN = '198.51.103.2';

/** Runs `fn` over `items`, `width` at a time. */
async function inWaves(items, width, fn) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** The host's routes through the host ends of `network`, by destination. */
function routesOf(network) {
  return new Map(ipJson(['-4', 'route', 'show']).filter((r) => r.dev?.startsWith(network.bridge)).map((r) => [r.dst, r.dev]));
}

describe('a routed network of 2,000 containers', function () {
  this.timeout(300000);
  const host = NetNamespace.host();
  const name = uniqueName('rsc');
  const prefix = uniqueName('r');
  const ids = Array.from({ length: COUNT }, (_, i) => `${prefix}-${i}`);
  const endpoints = new Map();
  let network;
  let wan;
  let removeWan;

  before(async () => {
    ({ netns: wan, remove: removeWan } = await createWan('rswan0', { host: HOST, wan: WAN }));
    await host.routes.add({ dst: 'default', gateway: WAN });
    network = await createRoutedNetwork({ name, subnet: '10.147.0.0/20' });
    await inWaves(ids, 50, async (id) => endpoints.set(id, (await setupContainer(id, { network: name })).endpoint));
  });
  after(async () => {
    await removeNetwork(name, { force: true }).catch(() => undefined);
    await host.routes.delete({ dst: 'default', gateway: WAN }).catch(() => undefined);
    await removeWan();
  });

  it('gives each its own address and its own host route through its own host end, as the kernel reads them', () => {
    const addresses = [...endpoints.values()].map((e) => e.ipv4);
    expect(new Set(addresses).size).to.equal(COUNT);
    expect(ipJson(['link', 'show', 'type', 'bridge']).map((l) => l.ifname)).to.not.include(network.bridge);
    const routes = routesOf(network);
    expect(routes.size).to.equal(COUNT);
    for (const endpoint of endpoints.values()) expect(routes.get(endpoint.ipv4)).to.equal(endpoint.hostIfname);
    for (const id of [ids[0], ids[COUNT - 1]]) {
      expect(ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], id)[0].addr_info[0].local).to.equal(endpoints.get(id).ipv4);
    }
  });

  it('carries traffic between the first and the last, between random pairs, and out to wan', async () => {
    const pairs = [[0, COUNT - 1]];
    for (let i = 0; i < 3; i++) pairs.push([Math.floor(Math.random() * COUNT), Math.floor(Math.random() * COUNT)].sort((a, b) => a - b));
    const whoAmI = await startWhoAmIServer(wan, 9000);
    try {
      for (const [from, to] of pairs.filter(([a, b]) => a !== b)) {
        const server = await NetNamespace.open(ids[to]);
        const client = await NetNamespace.open(ids[from]);
        const child = await startTcpServer(server, 7000, `c${to}`);
        try {
          expect(await tcpRequest(client, endpoints.get(ids[to]).ipv4, 7000, 'far')).to.equal(`c${to}:far`);
        } finally {
          await stop(child);
          server.close();
          client.close();
        }
      }
      for (const index of [0, COUNT - 1]) {
        const ns = await NetNamespace.open(ids[index]);
        try {
          expect(await tcpRequest(ns, WAN, 9000, 'out')).to.equal(HOST);
        } finally {
          ns.close();
        }
      }
    } finally {
      await stop(whoAmI);
    }
  });

  it('leaves no host route and no link of the network once they are torn down', async () => {
    await inWaves(ids, 50, (id) => teardownContainer(id));
    const hostEnds = () => ipJson(['link', 'show']).filter((l) => l.ifname.startsWith(network.bridge));
    expect(await eventually(() => hostEnds().length === 0, 30000)).to.equal(true);
    expect(routesOf(network).size).to.equal(0);
  });
});
