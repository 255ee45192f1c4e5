// A namespace on several networks, as `docker network connect`: its default
// routes come from the network with the highest gwPriority (per family; ties
// to the name that sorts first), move when a better network comes and when
// the network that gives them goes. `ip route` is the oracle; a `wan`
// namespace behind the host shows which network the traffic leaves by (one
// network masquerades, the other does not, so the address the wan sees says).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, createRoutedNetwork, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { createWan, defaultRoutes, expectReject, ip, ipJson, linkNames, stateRecords, startWhoAmIServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const HOST = '198.18.7.1';
const WAN = '198.18.7.2';
const HOST6 = '2001:db8:107::1';
const WAN6 = '2001:db8:107::2';
const WHOAMI = 9107;

const bin = join(process.cwd(), 'bin', 'nsnet.js');
function nsnet(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
  });
}

const defaults = (ns, family) => defaultRoutes(ns.name, family);

describe('several networks per namespace: default routes by gwPriority', function () {
  this.timeout(60000);
  const host = NetNamespace.host();
  let wan;
  let removeWan;
  let whoami;
  const made = [];
  const namespaces = [];
  let subnetCounter = 0;

  /**
   * A network whose name starts with `lead` (names decide ties), dual-stack
   * unless `ipv6: false`; the outside routes its subnets back through the host,
   * so that a network without masquerade shows the container's own address.
   */
  async function network(lead, options = {}) {
    const n = subnetCounter++;
    const name = `${lead}${uniqueName('g')}`;
    made.push(name);
    const { ipv6 = true, ...rest } = options;
    const subnet = `10.107.${n}.0/24`;
    const net = await createBridgeNetwork({ name, subnet, ...(ipv6 ? { ipv6: { subnet: `fd00:107:${n}::/64` } } : {}), ...rest });
    await wan.routes.replace({ dst: subnet, gateway: HOST });
    if (ipv6) await wan.routes.replace({ dst: `fd00:107:${n}::/64`, gateway: HOST6 });
    return net;
  }
  async function namespace() {
    const ns = await NetNamespace.create(uniqueName('gwp'));
    namespaces.push(ns);
    return ns;
  }
  /** The address the wan sees a connection from `ns` come from (IPv4, or IPv6 with `6`). */
  const seenFrom = (ns, family = 4) => tcpRequest(ns, family === 4 ? WAN : WAN6, WHOAMI, '');

  before(async () => {
    ({ netns: wan, remove: removeWan } = await createWan(uniqueName('gwpw'), { host: HOST, wan: WAN, host6: HOST6, wan6: WAN6 }));
    await host.routes.replace({ dst: 'default', gateway: WAN });
    await host.routes.replace({ dst: 'default', gateway: WAN6 });
    whoami = await startWhoAmIServer(wan, WHOAMI);
  });

  after(async () => {
    await stop(whoami);
    await host.routes.delete({ dst: 'default', gateway: WAN }).catch(() => undefined);
    await host.routes.delete({ dst: 'default', gateway: WAN6 }).catch(() => undefined);
    await removeWan();
  });

  afterEach(async () => {
    for (const ns of namespaces.splice(0)) await ns.delete().catch(() => undefined);
    for (const name of made.splice(0)) await removeNetwork(name, { force: true }).catch(() => undefined);
  });

  it('takes its default routes from the network of the highest gwPriority, connected later, in one replacement; names it eth1', async () => {
    const a = await network('a');
    const b = await network('b', { masquerade: false });
    const ns = await namespace();
    const epA = await a.connect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth0' }]);
    expect(await seenFrom(ns)).to.equal(HOST); // masqueraded
    const epB = await b.connect(ns, { gwPriority: 5 });
    expect(epB.ifname).to.equal('eth1');
    expect(epB.gwPriority).to.equal(5);
    expect(epA.gwPriority).to.equal(undefined); // 0
    expect(stateRecords('endpoints').find((record) => record.id === epB.id).gwPriority).to.equal(5);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: b.ipv6.gateway, dev: 'eth1' }]);
    // Out through b, which does not masquerade: the wan sees the container's own addresses.
    expect(await seenFrom(ns)).to.equal(epB.ipv4);
    expect(await seenFrom(ns, 6)).to.equal(epB.ipv6);
  });

  it('a routed network of a higher priority takes the default routes the same way, out through its host end, and gives them back when it goes', async () => {
    const a = await network('a');
    const name = `r${uniqueName('g')}`;
    made.push(name);
    const n = subnetCounter++;
    const routed = await createRoutedNetwork({ name, subnet: `10.107.${n}.0/24`, masquerade: false });
    await wan.routes.replace({ dst: `10.107.${n}.0/24`, gateway: HOST });
    const ns = await namespace();
    await a.connect(ns);
    const epR = await routed.connect(ns, { gwPriority: 5 });
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: '169.254.1.1', dev: 'eth1' }]);
    expect(await seenFrom(ns)).to.equal(epR.ipv4); // not masqueraded: out by the routed network
    await routed.disconnect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth0' }]);
    expect(await seenFrom(ns)).to.equal(HOST);
  });

  it('two routed networks: each interface has its own route to the link-local gateway, so the default routes go by priority and move both ways, traffic following', async () => {
    const routedNetwork = async (lead, options) => {
      const name = `${lead}${uniqueName('g')}`;
      made.push(name);
      const subnet = `10.107.${subnetCounter++}.0/24`;
      await wan.routes.replace({ dst: subnet, gateway: HOST });
      return createRoutedNetwork({ name, subnet, ...options });
    };
    const masqueraded = await routedNetwork('r');
    const direct = await routedNetwork('s', { masquerade: false });
    const ns = await namespace();
    await masqueraded.connect(ns);
    const epD = await direct.connect(ns, { gwPriority: 5 });
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: '169.254.1.1', dev: 'eth1' }]);
    const gatewayRoutes = () => ipJson(['-4', 'route', 'show', '169.254.1.1'], ns.name).map((route) => route.dev).sort();
    expect(gatewayRoutes()).to.deep.equal(['eth0', 'eth1']);
    expect(await seenFrom(ns)).to.equal(epD.ipv4);
    await direct.disconnect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: '169.254.1.1', dev: 'eth0' }]);
    expect(await seenFrom(ns)).to.equal(HOST);
    // Connected again below the other; the other going hands it the routes.
    const again = await direct.connect(ns, { gwPriority: -1 });
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: '169.254.1.1', dev: 'eth0' }]);
    await masqueraded.disconnect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: '169.254.1.1', dev: 'eth1' }]);
    expect(gatewayRoutes()).to.deep.equal(['eth1']);
    expect(await seenFrom(ns)).to.equal(again.ipv4);
  });

  it('keeps the default routes of a better network when a lower-priority one is connected, which is still reached on its own interface', async () => {
    const a = await network('a', { masquerade: false });
    const b = await network('b');
    const [ns, peer] = [await namespace(), await namespace()];
    const epA = await a.connect(ns, { gwPriority: -1 });
    const epPeer = await a.connect(peer);
    await b.connect(ns, { gwPriority: -2 });
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth0' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: a.ipv6.gateway, dev: 'eth0' }]);
    expect(await seenFrom(ns)).to.equal(epA.ipv4);
    const server = await startWhoAmIServer(peer, 7107);
    try {
      expect(await tcpRequest(ns, epPeer.ipv4, 7107, '')).to.equal(epA.ipv4);
    } finally {
      await stop(server);
    }
  });

  it('decides equal priorities by network name, the one that sorts first, whichever came first', async () => {
    const a = await network('a');
    const b = await network('b');
    const [first, second] = [await namespace(), await namespace()];
    await a.connect(first);
    await b.connect(first);
    expect(defaults(first, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth0' }]);
    await b.connect(second);
    await a.connect(second);
    expect(defaults(second, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth1' }]);
    expect(defaults(second, 6)).to.deep.equal([{ gateway: a.ipv6.gateway, dev: 'eth1' }]);
  });

  it('chooses per family: at equal priority a dual-stack network before an IPv4-only one, the IPv6 route from the one that has IPv6', async () => {
    const v4 = await network('a', { ipv6: false, masquerade: false });
    const dual = await network('b');
    const ns = await namespace();
    const ep4 = await v4.connect(ns);
    await dual.connect(ns);
    // Docker's order: gateways of both families before one, before the name.
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: dual.gateway, dev: 'eth1' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: dual.ipv6.gateway, dev: 'eth1' }]);
    const other = await namespace();
    const epOther = await v4.connect(other, { gwPriority: 1 });
    await dual.connect(other);
    expect(defaults(other, 4)).to.deep.equal([{ gateway: v4.gateway, dev: 'eth0' }]);
    expect(defaults(other, 6)).to.deep.equal([{ gateway: dual.ipv6.gateway, dev: 'eth1' }]);
    expect(await seenFrom(other)).to.equal(epOther.ipv4);
    expect(await seenFrom(other, 6)).to.equal(HOST6);
    expect(ep4.ifname).to.equal('eth0');
  });

  it('moves the default routes to the next network when the one that gives them is disconnected, traffic still flowing out; the other one going leaves them', async () => {
    const a = await network('a');
    const b = await network('b', { masquerade: false });
    const ns = await namespace();
    await a.connect(ns);
    const epB = await b.connect(ns, { gwPriority: 10 });
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    await b.disconnect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth0' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: a.ipv6.gateway, dev: 'eth0' }]);
    expect(await seenFrom(ns)).to.equal(HOST);
    expect(await seenFrom(ns, 6)).to.equal(HOST6);
    // Connected again: the lowest free name, and the routes back.
    const again = await b.connect(ns, { gwPriority: 10 });
    expect(again.ifname).to.equal('eth1');
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    await a.disconnect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: b.ipv6.gateway, dev: 'eth1' }]);
    expect(await seenFrom(ns)).to.equal(again.ipv4);
    expect(epB.ipv4).to.be.a('string');
    // eth0 is free again: the next connect takes it.
    expect((await a.connect(ns)).ifname).to.equal('eth0');
  });

  it('never takes a default route from an internal network, whatever its priority; with only internal ones left there is none', async () => {
    const a = await network('a');
    const internal = await network('b', { internal: true, dns: false });
    const ns = await namespace();
    await internal.connect(ns, { gwPriority: 100 });
    expect(defaults(ns, 4)).to.deep.equal([]);
    await a.connect(ns);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth1' }]);
    await a.disconnect(ns);
    expect(defaults(ns, 4)).to.deep.equal([]);
    expect(defaults(ns, 6)).to.deep.equal([]);
  });

  it('setupContainer takes gwPriority for its network; a network connected to the container after it gets eth1 and the routes only if it ranks higher', async () => {
    const a = await network('a');
    const b = await network('b');
    const c = await network('c');
    const id = uniqueName('gwc');
    const container = await setupContainer(id, { network: b.name, gwPriority: 3 });
    try {
      expect(container.endpoint.gwPriority).to.equal(3);
      const epA = await a.connect(id, { gwPriority: 2 });
      expect(epA.ifname).to.equal('eth1');
      expect(defaults(container.netns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth0' }]);
      const epC = await c.connect(id, { gwPriority: 4 });
      expect(epC.ifname).to.equal('eth2');
      expect(defaults(container.netns, 4)).to.deep.equal([{ gateway: c.gateway, dev: 'eth2' }]);
    } finally {
      await teardownContainer(id);
    }
    // Its other networks' endpoints go with it.
    expect(stateRecords('endpoints').filter((record) => record.netnsPath === container.netns.path)).to.deep.equal([]);
  });

  it('refuses a gwPriority that is no integer, or past what a JSON number holds exactly, with INVALID_ARGUMENT and nothing changed', async () => {
    const a = await network('a');
    const ns = await namespace();
    const links = linkNames();
    const records = stateRecords('endpoints').length;
    for (const gwPriority of ['1', 1.5, Number.NaN, Infinity, 2 ** 53, -(2 ** 53), null, true]) {
      const error = await expectReject(a.connect(ns, { gwPriority }), 'NsnetError', 'INVALID_ARGUMENT');
      expect(error.message).to.match(/gwPriority must be an integer from -9007199254740991 to 9007199254740991/);
      await expectReject(setupContainer(uniqueName('gwx'), { network: a.name, gwPriority }), 'NsnetError', 'INVALID_ARGUMENT');
    }
    await expectReject(setupContainer(uniqueName('gwx'), { network: 'none', gwPriority: 1 }), 'NsnetError', 'INVALID_ARGUMENT');
    expect(linkNames()).to.deep.equal(links);
    expect(linkNames(ns.name)).to.deep.equal(new Set(['lo']));
    expect(stateRecords('endpoints')).to.have.lengthOf(records);
    expect(stateRecords('containers').filter((record) => record.id.startsWith('gwx'))).to.deep.equal([]);
  });

  it('reconcile puts back a default route taken from a namespace on several networks, and a veth made again takes the routes it ranks for', async () => {
    const a = await network('a');
    const b = await network('b');
    const ns = await namespace();
    const epA = await a.connect(ns);
    const epB = await b.connect(ns, { gwPriority: 1 });
    ip(['-n', ns.name, '-4', 'route', 'del', 'default']);
    let report = await reconcile();
    expect(report.repaired).to.include(`netns ${ns.path}: IPv4 default route via ${b.gateway} (network "${b.name}") put back`);
    expect(report.failures).to.deep.equal([]);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: b.ipv6.gateway, dev: 'eth1' }]);
    // The winner's veth deleted by hand takes its routes along; made again, it takes them back.
    ip(['link', 'del', epB.hostIfname]);
    expect(defaults(ns, 4)).to.deep.equal([]);
    report = await reconcile();
    expect(report.failures).to.deep.equal([]);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    expect(defaults(ns, 6)).to.deep.equal([{ gateway: b.ipv6.gateway, dev: 'eth1' }]);
    // The other's made again adds none.
    ip(['link', 'del', epA.hostIfname]);
    report = await reconcile();
    expect(report.failures).to.deep.equal([]);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    expect(await seenFrom(ns)).to.equal(HOST);
  });

  it('nsnet network connect --gw-priority and disconnect, as docker network connect; a bad priority exits 2 with its code', async () => {
    const a = await network('a');
    const b = await network('b');
    const ns = await namespace();
    await a.connect(ns);
    const bad = await nsnet(['network', 'connect', '--gw-priority', 'high', b.name, ns.name]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^nsnet: INVALID_ARGUMENT: gwPriority must be an integer/);
    expect(linkNames(ns.name)).to.deep.equal(new Set(['lo', 'eth0']));
    const connected = await nsnet(['network', 'connect', '--gw-priority', '7', b.name, ns.name]);
    expect(connected.code, connected.stderr).to.equal(0);
    expect(connected.stdout).to.match(/^eth1 10\.107\.\d+\.2 fd00:107:\d+::2\n$/);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: b.gateway, dev: 'eth1' }]);
    const disconnected = await nsnet(['network', 'disconnect', b.name, ns.name]);
    expect(disconnected.code, disconnected.stderr).to.equal(0);
    expect(defaults(ns, 4)).to.deep.equal([{ gateway: a.gateway, dev: 'eth0' }]);
    // nsnet run --gw-priority: the container's endpoint has it; a bad one is a setup that failed (125).
    const refused = await nsnet(['run', '--network', a.name, '--gw-priority', '1.5', '--', 'true']);
    expect(refused.code).to.equal(125);
    expect(refused.stderr).to.match(/^nsnet: INVALID_ARGUMENT: gwPriority must be an integer/);
    const id = uniqueName('gwr');
    const run = await nsnet(['run', '--name', id, '--network', a.name, '--gw-priority', '-3', '--', process.execPath, bin, 'ps', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const listed = JSON.parse(run.stdout).containers.find((container) => container.id === id);
    expect(listed.endpoint.gwPriority, run.stdout).to.equal(-3);
  });
});
