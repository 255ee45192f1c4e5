// reconcile() repairs what an outside change broke on a network's bridge or
// an endpoint's host veth, done here with the real `ip` command. Each test
// shows the traffic through a published port dead first, then reconcile's
// report, the kernel's state as `ip -j` reads it, and the traffic again from
// a `wan` namespace (host 192.0.2.1, wan 192.0.2.2, and 2001:db8:192::/64).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { eui64LinkLocal } from '../../dist/network/mac.js';
import { currentStore } from '../../dist/state/store.js';
import { endpointKey } from '../../dist/types/endpoint.js';
import { createWan, fails, ipJson, ipLink, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const HOST = '192.0.2.1';
const WAN = '192.0.2.2';
const HOST6 = '2001:db8:192::1';
const WAN6 = '2001:db8:192::2';
const SUBNET = '10.175.0.0/24';
const SUBNET6 = 'fd00:175::/64';
const GATEWAY = '10.175.0.1/24';
const GATEWAY6 = 'fd00:175::1/64';
const PORT = 18475;
const PORT6 = 18476;

const bin = join(process.cwd(), 'bin', 'nsnet.js');
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });
const nsnet = (...args) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const sysctl = (path) => readFileSync(`/proc/sys/${path}`, 'utf8').trim();

describe('reconcile repairs a network broken from outside', function () {
  this.timeout(60000);
  const host = NetNamespace.host();
  let wan;
  let name;
  let bridge;
  let id;
  let container;
  let veth;
  let server;

  /** Report lines about this test's network, or its endpoint. */
  const ours = (lines) => lines.filter((line) => line.includes(`network "${name}"`));
  const networkLine = (what) => `network "${name}": ${what}`;
  const endpointLine = (what) => `endpoint ${veth} of container "${id}" on network "${name}": ${what}`;

  /** The published ports answer from wan, over IPv4 and IPv6. */
  async function expectTraffic(message) {
    expect(await tcpRequest(wan, HOST, PORT, message)).to.equal(`web:${message}`);
    expect(await tcpRequest(wan, HOST6, PORT6, `${message} v6`)).to.equal(`web:${message} v6`);
  }

  /** The bridge's link-local address, as the kernel derives it from its MAC (EUI-64), in the form `ip` prints. */
  const linkLocal = () => `${eui64LinkLocal(ipLink(bridge).address)}/64`;

  async function expectDead() {
    await fails(tcpRequest(wan, HOST, PORT, 'broken', 1000));
  }

  /** Bridge and host veth as the network wants them, read with `ip -j`; a second reconcile finds nothing more. */
  async function expectWhole() {
    const br = ipLink(bridge);
    expect(br.linkinfo.info_kind).to.equal('bridge');
    expect(br.flags).to.include('UP');
    expect(br.mtu).to.equal(1500);
    const addresses = ipJson(['addr', 'show', 'dev', bridge])[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    expect(addresses).to.include.members([GATEWAY, GATEWAY6, linkLocal()]);
    expect(sysctl(`net/ipv4/conf/${bridge}/route_localnet`)).to.equal('1');
    expect(sysctl(`net/ipv6/conf/${bridge}/accept_ra`)).to.equal('0');
    const end = ipLink(veth);
    expect(end.master).to.equal(bridge);
    expect(end.flags).to.include('UP');
    expect(end.linkinfo.info_slave_data.hairpin).to.equal(true);
    expect(ours((await reconcile()).repaired)).to.deep.equal([]);
  }

  let removeWan;
  before(async () => {
    ({ netns: wan, remove: removeWan } = await createWan('rpwan0', { host: HOST, wan: WAN, host6: HOST6, wan6: WAN6 }));
  });

  after(() => removeWan());

  beforeEach(async () => {
    name = uniqueName('rp');
    bridge = `br-${name}`;
    id = uniqueName('rpc');
    await createBridgeNetwork({ name, bridge, subnet: SUBNET, ipv6: { subnet: SUBNET6 } });
    container = await setupContainer(id, { network: name, publish: [`${PORT}:80`, `[::]:${PORT6}:80`] });
    veth = container.endpoint.hostIfname;
    server = await startTcpServer(container.netns, 80, 'web');
    await expectTraffic('before');
  });

  afterEach(async () => {
    await stop(server);
    await teardownContainer(id);
    await removeNetwork(name, { force: true });
  });

  it('makes a deleted bridge again, with its gateways and sysctls, and puts the veth back on it', async () => {
    ip('link', 'delete', bridge);
    await expectDead();
    const report = await reconcile();
    expect(report.bridges).to.include(name);
    expect(ours(report.repaired)).to.deep.equal([
      networkLine(`bridge ${bridge} made again (gateway addresses, sysctls, up)`),
      endpointLine(`${veth} put back on bridge ${bridge}`),
      endpointLine(`hairpin mode on for ${veth}`),
    ]);
    expect(ours(report.failures)).to.deep.equal([]);
    await expectWhole();
    await expectTraffic('bridge made again');
  });

  it('brings a bridge set down up again, and puts back the IPv6 gateway the kernel took with it', async () => {
    ip('link', 'set', bridge, 'down');
    await expectDead();
    const report = await reconcile();
    // Setting a link down removes its IPv6 addresses.
    expect(ours(report.repaired)).to.deep.equal([networkLine(`gateway address ${GATEWAY6} put back on bridge ${bridge}`), networkLine(`bridge ${bridge} up again`)]);
    await expectWhole();
    await expectTraffic('bridge up');
  });

  it('puts the gateway and link-local addresses flushed from the bridge back', async () => {
    ip('addr', 'flush', 'dev', bridge);
    // What the bridge knew of the container goes too: IPv6 forwarded to it needs a neighbour solicitation.
    ip('-6', 'neigh', 'flush', 'dev', bridge);
    await expectDead();
    await fails(tcpRequest(wan, HOST6, PORT6, 'broken v6', 1000));
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([
      networkLine(`gateway address ${GATEWAY} put back on bridge ${bridge}`),
      networkLine(`gateway address ${GATEWAY6} put back on bridge ${bridge}`),
      networkLine(`link-local address ${linkLocal()} put back on bridge ${bridge}`),
    ]);
    await expectWhole();
    await expectTraffic('gateway back');
  });

  it('sets route_localnet on the bridge again', async () => {
    execFileSync('sh', ['-c', `echo 0 > /proc/sys/net/ipv4/conf/${bridge}/route_localnet`]);
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([networkLine(`sysctl net/ipv4/conf/${bridge}/route_localnet set back to 1 (was 0)`)]);
    await expectWhole();
    expect(await tcpRequest(host, '127.0.0.1', PORT, 'via lo')).to.equal('web:via lo');
  });

  it('puts a host veth taken off the bridge back on it, with hairpin mode', async () => {
    ip('link', 'set', veth, 'nomaster');
    await expectDead();
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([endpointLine(`${veth} put back on bridge ${bridge}`), endpointLine(`hairpin mode on for ${veth}`)]);
    await expectWhole();
    await expectTraffic('back on the bridge');
  });

  it('brings a host veth set down up again', async () => {
    ip('link', 'set', veth, 'down');
    await expectDead();
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([endpointLine(`${veth} up again`)]);
    await expectWhole();
    await expectTraffic('veth up');
  });

  // Kernel state only: traffic through the host address from a sibling does
  // not need the mode, and from the container itself it fails either way
  // while br_netfilter is on.
  it('turns hairpin mode on again', async () => {
    ip('link', 'set', 'dev', veth, 'type', 'bridge_slave', 'hairpin', 'off');
    expect(ipLink(veth).linkinfo.info_slave_data.hairpin).to.equal(false);
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([endpointLine(`hairpin mode on for ${veth}`)]);
    await expectWhole();
    await expectTraffic('hairpin on');
  });

  it('makes a deleted veth pair again in the namespace, with its names, MAC, addresses, routes and published ports', async () => {
    const inside = container.netns.name;
    ip('link', 'delete', veth);
    expect(ipJson(['link'], inside).map((l) => l.ifname)).to.deep.equal(['lo']);
    await expectDead();
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([endpointLine(`veth ${veth} ⇄ eth0 made again on bridge ${bridge} (MAC ${container.endpoint.mac}, addresses, routes)`)]);
    expect(ours(report.failures)).to.deep.equal([]);
    const eth0 = ipLink('eth0', inside);
    expect(eth0.address).to.equal(container.endpoint.mac);
    expect(eth0.flags).to.include('UP');
    const addresses = ipJson(['addr', 'show', 'dev', 'eth0'], inside)[0].addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
    expect(addresses).to.have.members([`${container.endpoint.ipv4}/24`, `${container.endpoint.ipv6}/64`]);
    expect(ipJson(['route', 'show', 'default'], inside).map((r) => r.gateway)).to.deep.equal(['10.175.0.1']);
    expect(ipJson(['-6', 'route', 'show', 'default'], inside).map((r) => r.gateway)).to.deep.equal(['fd00:175::1']);
    // The record keeps the new host end's MAC.
    const [endpoint] = await (await getNetwork(name)).endpoints();
    expect(endpoint.hostMac).to.equal(ipLink(veth).address);
    await expectWhole();
    await expectTraffic('veth made again');
  });

  it('reports what it cannot repair, naming the container, and repairs it once it can', async () => {
    ip('link', 'delete', veth);
    ip('link', 'add', veth, 'type', 'bridge'); // a foreign interface took the name
    try {
      const report = await reconcile();
      expect(ours(report.repaired)).to.deep.equal([]);
      expect(ours(report.failures)).to.deep.equal([endpointLine(`interface ${veth} is not this endpoint's (alias "")`)]);
    } finally {
      ip('link', 'delete', veth);
    }
    expect(ours((await reconcile()).repaired)).to.have.lengthOf(1);
    await expectWhole();
    await expectTraffic('after the namesake went');
  });

  it('leaves alone an endpoint that a live process is still connecting', async () => {
    const store = currentStore();
    const key = endpointKey(name, container.netns.inode);
    const ready = await store.read('endpoints', key);
    // As a connect in this (live) process leaves it before its last step.
    await store.locked(() => store.write('endpoints', key, { ...ready, status: 'creating', pid: process.pid }));
    ip('link', 'set', veth, 'nomaster');
    const report = await reconcile();
    expect(ours(report.repaired)).to.deep.equal([]);
    expect(ours(report.failures)).to.deep.equal([]);
    expect(ipLink(veth).master).to.equal(undefined);
    await store.locked(() => store.write('endpoints', key, ready));
    expect(ours((await reconcile()).repaired)).to.deep.equal([endpointLine(`${veth} put back on bridge ${bridge}`), endpointLine(`hairpin mode on for ${veth}`)]);
    await expectWhole();
    await expectTraffic('once ready');
  });

  it('nsnet reconcile prints the repairs; nsnet topology marks a veth off its bridge and a bridge without its gateways', async () => {
    ip('link', 'set', veth, 'nomaster');
    ip('addr', 'flush', 'dev', bridge);
    const text = nsnet('topology').split('\n');
    expect(text.find((line) => line.includes(`network "${name}"`))).to.contain(`${bridge} [NO GATEWAY ${GATEWAY} ${GATEWAY6}]`);
    expect(text.find((line) => line.includes(veth))).to.contain(`${veth} [OFF BRIDGE] ⇄ eth0`);
    const json = JSON.parse(nsnet('topology', '--json')).networks.find((n) => n.name === name);
    expect(json.missingGateways).to.deep.equal([GATEWAY, GATEWAY6]);
    expect(json.endpoints.map((e) => [e.hostIfname, e.hostLink, e.onBridge])).to.deep.equal([[veth, 'up', false]]);

    const printed = nsnet('reconcile').split('\n');
    expect(printed).to.include.members([
      `repaired ${networkLine(`gateway address ${GATEWAY} put back on bridge ${bridge}`)}`,
      `repaired ${networkLine(`gateway address ${GATEWAY6} put back on bridge ${bridge}`)}`,
      `repaired ${networkLine(`link-local address ${linkLocal()} put back on bridge ${bridge}`)}`,
      `repaired ${endpointLine(`${veth} put back on bridge ${bridge}`)}`,
      `repaired ${endpointLine(`hairpin mode on for ${veth}`)}`,
    ]);
    const healed = JSON.parse(nsnet('topology', '--json')).networks.find((n) => n.name === name);
    expect(healed.missingGateways).to.deep.equal([]);
    expect(healed.endpoints.map((e) => [e.hostLink, e.onBridge])).to.deep.equal([['up', true]]);
    expect(nsnet('topology')).to.not.match(/OFF BRIDGE|NO GATEWAY/);
    await expectTraffic('after nsnet reconcile');
  });
});
