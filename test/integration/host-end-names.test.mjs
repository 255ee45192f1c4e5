// Host end names are random (veth and 7 hex digits, as Docker's): two
// endpoints, or an endpoint and a link of someone else's, can draw the same
// one. The connect that meets a namesake on the host takes another name and
// records it; the namesake is left as it was. Each path that makes a veth is
// driven onto a namesake by fixing the endpoint id that names it.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

import { expect } from 'chai';

import { createBridgeNetwork, createRoutedNetwork, getNetwork, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { routedHostEndPrefix } from '../../dist/types/routed-network.js';
import { eventually, expectReject, ipJson, ipLink, startTcpServer, stateRecords, stop, tcpRequest, uniqueName } from '../helpers.mjs';

// The library reads randomBytes from the module object at each call (CommonJS): queued ids come out first.
const crypto = createRequire(import.meta.url)('node:crypto');
const realRandomBytes = crypto.randomBytes;
const queuedIds = [];
crypto.randomBytes = (size, ...rest) => (size === 8 && queuedIds.length ? Buffer.from(queuedIds.shift(), 'hex') : realRandomBytes(size, ...rest));

/** An endpoint id of its own per test (16 hex digits); its first 7 name the host end. */
let taken = 0;
const takenId = () => `dead${String(++taken).padStart(3, '0')}0aaaaaaaa`;

/** A veth pair on the host, of nobody's: the namesake. */
function namesake(name) {
  execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name.slice(0, 11)}p`]);
  return ipLink(name);
}

function removeNamesake(name) {
  execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' });
}

describe('host end names: a namesake on the host', function () {
  this.timeout(60000);
  const ids = [];
  const networks = [];
  const namesakes = [];
  let bridge;
  let routed;

  before(async () => {
    bridge = uniqueName('hn');
    networks.push(bridge);
    await createBridgeNetwork({ name: bridge, subnet: '10.232.0.0/24' });
    routed = `r${uniqueName('hn')}`;
    networks.push(routed);
    await createRoutedNetwork({ name: routed, subnet: '10.233.0.0/24' });
  });

  afterEach(() => {
    queuedIds.length = 0;
    for (const name of namesakes.splice(0)) removeNamesake(name);
  });

  after(async () => {
    crypto.randomBytes = realRandomBytes;
    for (const id of ids) await teardownContainer(id).catch(() => undefined);
    for (const name of networks) await removeNetwork(name, { force: true }).catch(() => undefined);
  });

  /** Makes the namesake of the host end that endpoint id `id` names (`prefix` and its first 7 digits), and has the next endpoint drawn take `id`. */
  function occupy(prefix) {
    const id = takenId();
    const name = `${prefix}${id.slice(0, 7)}`;
    const link = namesake(name);
    namesakes.push(name);
    queuedIds.push(id);
    return { id, name, link };
  }

  /** The endpoint drew the taken id and got another name, which its record holds; the namesake is as it was. */
  function expectRenamed(endpoint, { id, name, link }) {
    expect(queuedIds, 'the taken id was drawn').to.deep.equal([]);
    expect(endpoint.hostIfname).to.not.equal(name);
    const record = stateRecords('endpoints').find((r) => r.id === endpoint.id);
    expect(record.id, 'the id stays').to.equal(id);
    expect(record.hostIfname, 'the record names the veth made').to.equal(endpoint.hostIfname);
    expect(record.status).to.equal('ready');
    const hostEnd = ipLink(endpoint.hostIfname);
    expect(hostEnd.linkinfo.info_kind).to.equal('veth');
    expect(hostEnd.ifalias).to.include(id);
    const after = ipLink(name);
    expect(after.ifindex, 'the namesake is the same link').to.equal(link.ifindex);
    expect(after.ifalias, 'the namesake is not tagged').to.equal(undefined);
  }

  async function container(network) {
    const id = uniqueName('hc');
    ids.push(id);
    return setupContainer(id, { network });
  }

  it('a container on a bridge network (its veth and namespace made in one job) takes another name', async () => {
    const taken = occupy('veth');
    const made = await container(bridge);
    expectRenamed(made.endpoint, taken);
    expect(ipLink(made.endpoint.hostIfname).master).to.equal((await getNetwork(bridge)).bridge);
    await teardownContainer(made.id);
    ids.splice(ids.indexOf(made.id), 1);
    expect(await eventually(() => ipLink(made.endpoint.hostIfname) === undefined), 'its veth goes').to.equal(true);
    expect(ipLink(taken.name).ifindex, 'the namesake stays').to.equal(taken.link.ifindex);
  });

  it('a second network connected to a namespace (the veth made alone) takes another name, and traffic flows', async () => {
    const first = await container(routed);
    const taken = occupy('veth');
    const network = await getNetwork(bridge);
    const endpoint = await network.connect(first.netns);
    expectRenamed(endpoint, taken);
    expect(endpoint.ifname).to.equal('eth1');
    expect(ipLink(endpoint.hostIfname).master).to.equal(network.bridge);
    const other = await container(bridge);
    const server = await startTcpServer(first.netns, 80, 'first');
    try {
      expect(await tcpRequest(other.netns, endpoint.ipv4, 80, 'hi')).to.equal('first:hi');
    } finally {
      await stop(server);
    }
  });

  it('a container on a routed network takes another name, and reaches another container', async () => {
    const other = await container(routed);
    const taken = occupy(routedHostEndPrefix(routed));
    const made = await container(routed);
    expectRenamed(made.endpoint, taken);
    const server = await startTcpServer(other.netns, 80, 'other');
    try {
      expect(await tcpRequest(made.netns, other.endpoint.ipv4, 80, 'hi')).to.equal('other:hi');
    } finally {
      await stop(server);
    }
  });

  it('a pool entry takes another name, and the container made from it has it', async () => {
    const name = uniqueName('hp');
    networks.push(name);
    const taken = occupy('veth');
    await createBridgeNetwork({ name, subnet: '10.234.0.0/24', pool: { size: 1 } });
    expect(await eventually(async () => stateRecords('pool').some((entry) => entry.network === name && ipLink(entry.hostIfname)))).to.equal(true);
    const [entry] = stateRecords('pool').filter((e) => e.network === name);
    expect(entry.id).to.equal(taken.id);
    expect(entry.hostIfname).to.not.equal(taken.name);
    const made = await container(name);
    expect(made.endpoint.hostIfname).to.equal(entry.hostIfname);
    expectRenamed(made.endpoint, taken);
    // Its pool tops up meanwhile: gone with it, before the next test counts links.
    await teardownContainer(made.id);
    ids.splice(ids.indexOf(made.id), 1);
    await removeNetwork(name);
    networks.splice(networks.indexOf(name), 1);
  });

  it("an egress limit's ifb, named as a link the host has, takes another name, recorded; teardown removes it and leaves the namesake", async () => {
    const taken = occupy('ifb');
    const id = uniqueName('hc');
    ids.push(id);
    const made = await setupContainer(id, { network: bridge, bandwidth: { egress: { rate: '10mbit' } } });
    expect(queuedIds, 'the taken id was drawn').to.deep.equal([]);
    expect(made.endpoint.id).to.equal(taken.id);
    const record = stateRecords('endpoints').find((r) => r.id === taken.id);
    const ifb = record.bandwidth.ifb;
    expect(ifb).to.match(/^ifb[0-9a-f]{7}$/).and.not.equal(taken.name);
    const link = ipJson(['-d', 'link', 'show', 'dev', ifb])[0];
    expect(link.linkinfo.info_kind).to.equal('ifb');
    expect(link.ifalias).to.include(taken.id);
    // Fed by the host end's redirect: the limit is on the ifb made, not on the namesake.
    const filters = JSON.parse(execFileSync('tc', ['-j', 'filter', 'show', 'dev', made.endpoint.hostIfname, 'ingress'], { encoding: 'utf8' }));
    expect(JSON.stringify(filters)).to.include(ifb);
    await teardownContainer(id);
    ids.splice(ids.indexOf(id), 1);
    expect(ipLink(ifb), 'its ifb goes').to.equal(undefined);
    expect(ipLink(taken.name).ifindex, 'the namesake stays').to.equal(taken.link.ifindex);
  });

  it('gives up after four names taken, with INTERFACE_EXISTS naming the host end, and leaves nothing', async () => {
    const before = new Set(ipJson(['link']).map((link) => link.ifname));
    const records = stateRecords('endpoints').length;
    // The endpoint's id is the first; the names tried after it come from the others.
    const taken = [occupy('veth'), occupy('veth'), occupy('veth'), occupy('veth')];
    const names = taken.map((t) => t.name);
    const id = uniqueName('hc');
    const error = await expectReject(setupContainer(id, { network: bridge }), 'NsnetError', 'INTERFACE_EXISTS');
    expect(error.details.ifname).to.equal(names[3]);
    expect(error.message).to.include(`the host has an interface ${names[3]} already`);
    expect(queuedIds).to.deep.equal([]);
    expect(stateRecords('endpoints')).to.have.length(records);
    expect(stateRecords('containers').some((record) => record.id === id)).to.equal(false);
    const left = ipJson(['link']).map((link) => link.ifname).filter((name) => !before.has(name) && !names.includes(name) && !names.some((n) => name === `${n.slice(0, 11)}p`));
    expect(left, 'no link left').to.deep.equal([]);
    expect(JSON.stringify(stateRecords('leases')), 'its address released').to.not.include(taken[0].id);
  });
});
