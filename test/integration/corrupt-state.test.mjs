// Records of the wrong shape in the state directory: every command but
// reconcile refuses them (STATE_CORRUPT, naming the file) and changes
// nothing; reconcile rebuilds what the other records hold and moves aside
// what nothing else holds, removing what then belongs to nothing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, NetNamespace, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { eventually, expectReject, ipJson, linkNames, newLinks, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const stateFile = (kind, name) => join(process.env.NSNET_STATE_DIR, kind, `${name}.json`);
const readState = (kind, name) => readFileSync(stateFile(kind, name), 'utf8');
const asideFiles = (kind, name) => readdirSync(join(process.env.NSNET_STATE_DIR, kind)).filter((f) => f.startsWith(`${name}.json.corrupt-`));
const namespaces = () => ipJson(['netns', 'list']).map((ns) => ns.name);

describe('corrupt records in the state directory', function () {
  this.timeout(60000);
  const ids = [];
  const networks = [];
  const container = async (options) => {
    const id = uniqueName('cs');
    ids.push(id);
    return setupContainer(id, options);
  };
  const network = async (subnet) => {
    const name = uniqueName('cs');
    networks.push(name);
    await createBridgeNetwork({ name, subnet, firewall: 'nftables' });
    return name;
  };
  afterEach(async () => {
    for (const id of ids.splice(0).reverse()) await teardownContainer(id).catch(() => undefined);
    for (const name of networks.splice(0)) await removeNetwork(name, { force: true }).catch(() => undefined);
  });

  it('a corrupt port or lease table: setupContainer fails with STATE_CORRUPT naming the file and reconcile, and nothing changes', async () => {
    const net = await network('10.151.0.0/24');
    const first = await container({ network: net, publish: ['18431:80'] });
    for (const [kind, name, text] of [['ports', 'tcp', '[1,2,3]'], ['ports', 'tcp', '"hello"'], ['leases', net, '{"v4":"x"}']]) {
      const saved = readState(kind, name);
      writeFileSync(stateFile(kind, name), text);
      const leases = readState('leases', net);
      const links = linkNames();
      const id = uniqueName('cs');
      const error = await expectReject(setupContainer(id, { network: net, publish: ['18432:80'] }), 'NsnetError', 'STATE_CORRUPT');
      expect(error.message).to.include(stateFile(kind, name)).and.include('nsnet reconcile');
      expect(readState(kind, name)).to.equal(text);
      expect(readState('leases', net)).to.equal(leases);
      expect(newLinks(links)).to.deep.equal([]);
      expect(namespaces()).to.not.include(id);
      expect(readdirSync(join(process.env.NSNET_STATE_DIR, 'containers'))).to.not.include(`${id}.json`);
      writeFileSync(stateFile(kind, name), saved);
    }
    expect((await (await getNetwork(net)).endpoints()).map((e) => e.ipv4)).to.deep.equal([first.endpoint.ipv4]);
  });

  it('reconcile rebuilds a corrupt lease table and port table from the endpoints: an address or port taken stays taken', async () => {
    const net = await network('10.152.0.0/24');
    const first = await container({ network: net, publish: ['18441:80'] });
    const server = await startTcpServer(first.netns, 80, 'first');
    try {
      writeFileSync(stateFile('leases', net), '{"v4":"x"}');
      writeFileSync(stateFile('ports', 'tcp'), '"hello"');
      const report = await reconcile();
      expect(report.failures).to.deep.equal([]);
      expect(report.rebuilt.map((line) => line.split(' ')[0])).to.deep.equal([`leases/${net}.json`, 'ports/tcp.json']);
      expect(report.rebuilt.every((line) => line.includes('rebuilt from'))).to.equal(true);
      expect(asideFiles('leases', net)).to.have.length(1);
      expect(asideFiles('ports', 'tcp')).to.have.length(1);
      // (What other suites left may go too; nothing of this container does.)
      expect(report.endpoints.filter((key) => key.startsWith(`${net}@`))).to.deep.equal([]);
      expect(report.leases.filter((lease) => lease.startsWith(`${net} `))).to.deep.equal([]);
      expect(report.ports).to.not.include('tcp 0.0.0.0:18441');
      // The first container keeps its address and port, and its port still leads to it.
      expect(JSON.parse(readState('leases', net)).ipv4.addresses).to.deep.equal({ [first.endpoint.ipv4]: first.endpoint.id });
      expect(await tcpRequest(NetNamespace.host(), '127.0.0.1', 18441, 'after')).to.equal('first:after');
      await expectReject(container({ network: net, ip: first.endpoint.ipv4 }), 'NsnetError', 'ADDRESS_IN_USE');
      await expectReject(container({ network: net, publish: ['18441:80'] }), 'NsnetError', 'PORT_IN_USE');
      const second = await container({ network: net, publish: ['18442:80'] });
      expect(second.endpoint.ipv4).to.not.equal(first.endpoint.ipv4);
      expect((await reconcile()).rebuilt).to.deep.equal([]);
    } finally {
      await stop(server);
    }
  });

  it('reconcile moves aside a corrupt endpoint record, and removes its veth, address and port', async () => {
    const net = await network('10.153.0.0/24');
    const c = await container({ network: net, publish: ['18451:80'] });
    const key = (readdirSync(join(process.env.NSNET_STATE_DIR, 'endpoints'))).find((f) => f.startsWith(`${net}@`)).slice(0, -'.json'.length);
    writeFileSync(stateFile('endpoints', key), '[]');
    await expectReject((await getNetwork(net)).endpoints(), 'NsnetError', 'STATE_CORRUPT');
    const report = await reconcile();
    expect(report.failures).to.deep.equal([]);
    expect(report.rebuilt).to.have.length(1);
    expect(report.rebuilt[0]).to.match(new RegExp(`^endpoints/${key.replace('.', '\\.')}\\.json is not a JSON object; moved aside as endpoints/`));
    expect(report.links).to.include(c.endpoint.hostIfname);
    expect(report.leases).to.include(`${net} ${c.endpoint.ipv4}`);
    expect(report.ports).to.include('tcp 0.0.0.0:18451');
    expect(linkNames()).to.not.include(c.endpoint.hostIfname);
    // The port and the address are free again.
    const next = await container({ network: net, ip: c.endpoint.ipv4, publish: ['18451:80'] });
    expect(next.endpoint.ipv4).to.equal(c.endpoint.ipv4);
  });

  it('reconcile moves aside a corrupt network record; its bridge and endpoints go with it', async () => {
    const net = await network('10.154.0.0/24');
    const c = await container({ network: net, publish: ['18461:80'] });
    const { bridge } = (await getNetwork(net)).options;
    writeFileSync(stateFile('networks', net), '[]');
    await expectReject(getNetwork(net), 'NsnetError', 'STATE_CORRUPT');
    const report = await reconcile();
    expect(report.failures).to.deep.equal([]);
    expect(report.rebuilt).to.have.length(1);
    expect(report.rebuilt[0]).to.match(new RegExp(`^networks/${net}\\.json is not a JSON object; moved aside as networks/${net}\\.json\\.corrupt-`));
    expect(report.strayBridges).to.include(bridge);
    expect(report.endpoints.filter((key) => key.startsWith(`${net}@`))).to.have.length(1);
    expect(report.ports).to.include('tcp 0.0.0.0:18461');
    expect(linkNames()).to.not.include(bridge).and.not.include(c.endpoint.hostIfname);
    expect(readdirSync(join(process.env.NSNET_STATE_DIR, 'leases'))).to.not.include(`${net}.json`);
    await expectReject(getNetwork(net), 'NsnetError', 'NETWORK_NOT_FOUND');
    // The container, now without a network, still goes.
    await teardownContainer(c.id);
    expect(namespaces()).to.not.include(c.id);
  });

  it('reconcile rebuilds a corrupt container record from its namespace and endpoint; teardown then removes it', async () => {
    const net = await network('10.155.0.0/24');
    const c = await container({ network: net });
    writeFileSync(stateFile('containers', c.id), '{"id":7}');
    await expectReject(teardownContainer(c.id), 'NsnetError', 'STATE_CORRUPT');
    expect(namespaces()).to.include(c.id);
    const report = await reconcile();
    expect(report.failures).to.deep.equal([]);
    expect(report.rebuilt).to.have.length(1);
    expect(report.rebuilt[0]).to.match(new RegExp(`^containers/${c.id}\\.json .*rebuilt from its namespace`));
    expect(report.containers).to.not.include(c.id);
    expect(JSON.parse(readState('containers', c.id))).to.include({ id: c.id, mode: 'network', network: net, ownsNamespace: true, status: 'ready' });
    await teardownContainer(c.id);
    expect(namespaces()).to.not.include(c.id);
    // The kernel removes the veth with the namespace, in the background.
    expect(await eventually(() => !linkNames().has(c.endpoint.hostIfname), 10000)).to.equal(true);
    expect(JSON.parse(readState('leases', net)).ipv4.addresses).to.deep.equal({});
  });
});
