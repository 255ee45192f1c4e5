// The state directory's records: written with their format version, read
// back through the schema of their kind; anything else is STATE_CORRUPT
// naming the file. No privileges: a temporary directory as the state.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { readPortTables, releaseOrphanPorts, releasePorts, takePorts } from '../../dist/firewall/ports.js';
import { parsePublish } from '../../dist/firewall/publish.js';
import { addressTablesJson, allocateAddress, emptyLeaseTable } from '../../dist/ipam/leases.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { randomLocalMac } from '../../dist/network/mac.js';
import { mendUnreadableRecords } from '../../dist/network/rebuild.js';
import { checkNetworkOptions } from '../../dist/network/options.js';
import { JsonEntries } from '../../dist/state/json-entries.js';
import { StateStore } from '../../dist/state/store.js';
import { endpointKey } from '../../dist/types/endpoint.js';
import { RECORD_KINDS } from '../../dist/types/records.js';

/** One record of each kind, made as nsnet makes them. */
async function recordsAsWritten() {
  const created = new Date().toISOString();
  const wanted = checkNetworkOptions({ name: 'web', subnet: '10.90.1.0/24', ipv6: { subnet: 'fd00:5a::/64' }, hostIp: '127.0.0.1' });
  const network = { ...wanted, subnetAuto: false, bridgeMac: randomLocalMac(), activeFirewall: 'nftables', created };
  const leases = { ipv4: emptyLeaseTable(), ipv6: emptyLeaseTable() };
  const ipv4 = allocateAddress(leases.ipv4, Subnet.parse(network.subnet), 'e1', new Set([network.gateway]));
  const ipv6 = allocateAddress(leases.ipv6, Subnet.parse(network.ipv6.subnet), 'e1', new Set([network.ipv6.gateway]));
  const tables = new Map([['tcp', new JsonEntries()], ['udp', new JsonEntries()]]);
  const ports = await takePorts(tables, [parsePublish('8080:80'), parsePublish('[::]:5353:53/udp')], 'e1', network.hostIp);
  const endpoint = {
    id: 'e1', network: 'web', netnsPath: '/run/netns/c1', netnsInode: 4026532000, ifname: 'eth0', hostIfname: 'veth0123456',
    hostMac: randomLocalMac(), mac: randomLocalMac(), ipv4, prefixLength: 24, ipv6, prefixLength6: 64,
    gateway: network.gateway, gateway6: network.ipv6.gateway, ports, status: 'ready', pid: process.pid, created,
  };
  const container = {
    id: 'c1', mode: 'network', network: 'web', joinedBy: ['c2'], netnsPath: '/run/netns/c1', netnsInode: 4026532000,
    ownsNamespace: true, endpoint: endpointKey('web', 4026532000), status: 'ready', pid: process.pid, created,
  };
  const attachment = { network: 'web', containerId: 'k8s-1', ifname: 'eth0', netnsPath: '/run/netns/c1', endpoint: endpointKey('web', 4026532000), status: 'creating', pid: process.pid, created };
  const poolEntry = { id: '0123456789abcdef', network: 'web', netnsPath: '/run/netns/_nsnet-pool-0123456789abcdef', hostIfname: 'veth0123456', pid: process.pid, created };
  return {
    networks: [['web', network]],
    leases: [['web', JSON.parse(addressTablesJson(leases))]],
    endpoints: [[endpointKey('web', 4026532000), endpoint]],
    containers: [['c1', container]],
    ports: [...tables].map(([protocol, table]) => [protocol, table.toRecord()]),
    attachments: [['web:k8s-1:eth0', attachment]],
    pool: [['0123456789abcdef', poolEntry]],
  };
}

async function expectCorrupt(promise, file) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `reading ${file} should fail`).to.be.an('error');
  expect(error.code).to.equal('STATE_CORRUPT');
  expect(error.message).to.include(file);
  return error;
}

const WRONG_FOR_EVERY_KIND = ['[]', '[1,2,3]', '"hello"', '42', 'null', 'true', '', '{"a":', '{"version":"1"}'];

function wrongShapes(all) {
  const [[, network]] = all.networks;
  const [[, endpoint]] = all.endpoints;
  const [[, container]] = all.containers;
  const [[, attachment]] = all.attachments;
  const [[, poolEntry]] = all.pool;
  const json = (value) => JSON.stringify(value);
  return {
    // {} is a port table with no port, and no record of any other kind.
    // Text that would reach the kernel or a firewall script: addresses, prefixes, names.
    networks: ['{}', json({ ...network, bridge: 'br0 -j ACCEPT' }), json({ ...network, subnet: '10.0.0.0/33' }), json({ ...network, gateway: 'x' }), json({ ...network, name: 'a b' }), json({ ...network, name: 7 }), json({ ...network, ipv6: [] }), json({ ...network, mtu: 1500.5 }), json({ ...network, activeFirewall: 'pf' })],
    leases: ['{}', '{"v4":"x"}', '{"ipv4":"x"}', '{"ipv4":{"addresses":[]}}', '{"ipv4":{"addresses":{"10.0.0.2":5}}}', '{"ipv4":{"addresses":{}},"ipv6":[]}', '{"ipv4":{"addresses":{},"last":-1}}'],
    ports: ['{"80":"x"}', '{"80":[null]}', '{"80":[{"hostIp":1,"owner":"e1"}]}', '{"http":[]}', '{"080":[]}'],
    endpoints: ['{}', json({ ...endpoint, ipv4: '10.0.0.300' }), json({ ...endpoint, hostIfname: 'veth0;x' }), json({ ...endpoint, ifname: 'a/b' }), json({ ...endpoint, mac: 'zz' }), json({ ...endpoint, ports: [{ ...endpoint.ports[0], hostIp: 'x' }] }), json({ ...endpoint, ports: 'x' }), json({ ...endpoint, ports: [null] }), json({ ...endpoint, netnsInode: '4' }), json({ ...endpoint, status: 'gone' })],
    containers: ['{}', json({ ...container, joinedBy: 'c2' }), json({ ...container, ownsNamespace: 'yes' }), json({ ...container, mode: 'vm' })],
    attachments: ['{}', json({ ...attachment, pid: 'x' }), json({ ...attachment, status: 1 }), json({ ...attachment, network: null })],
    pool: ['{}', json({ ...poolEntry, pid: 'x' }), json({ ...poolEntry, hostIfname: 'veth0;x' }), json({ ...poolEntry, netnsPath: 1 })],
  };
}

describe('state records', () => {
  let dir;
  let store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-records-'));
    store = new StateStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back every kind of record as nsnet writes it, with version 1 in the file', async () => {
    const all = await recordsAsWritten();
    expect(Object.keys(all).sort()).to.deep.equal([...RECORD_KINDS].sort());
    for (const [kind, entries] of Object.entries(all)) {
      for (const [name, record] of entries) {
        await store.write(kind, name, record);
        expect(JSON.parse(readFileSync(join(dir, kind, `${name}.json`), 'utf8')).version, `${kind}/${name}`).to.equal(1);
        // Through a store of its own: the writer's store does not check its own bytes again.
        expect(await new StateStore(dir).read(kind, name), `${kind}/${name}`).to.deep.equal(record);
        expect(await store.read(kind, name), `${kind}/${name}`).to.deep.equal(record);
      }
      expect(await new StateStore(dir).list(kind)).to.deep.equal(entries.map(([, record]) => record));
    }
  });

  it('reads a record of the release before versions (no version field) as version 1', async () => {
    const [[name, record]] = (await recordsAsWritten()).networks;
    await store.list('networks'); // makes the directories
    writeFileSync(join(dir, 'networks', `${name}.json`), JSON.stringify(record));
    expect(await store.read('networks', name)).to.deep.equal(record);
  });

  it('refuses bad JSON, a missing field, a field of the wrong type, an unknown version and a non-object, naming the file', async () => {
    const [[name, record]] = (await recordsAsWritten()).endpoints;
    await store.write('endpoints', name, record);
    const file = join(dir, 'endpoints', `${name}.json`);
    const { mac: _mac, ...missing } = record;
    const { ipv4: _ipv4, ipv6: _ipv6, ...noAddress } = record;
    const cases = [
      ['{"id": "e1", ', 'not valid JSON'],
      [JSON.stringify(missing), 'mac'],
      [JSON.stringify(noAddress), 'an endpoint with an ipv4 address, an ipv6 one or both'],
      [JSON.stringify({ ...record, netnsInode: 'many' }), 'netnsInode'],
      [JSON.stringify({ ...record, ports: [{ ...record.ports[0], protocol: 'gre' }] }), 'ports[0].protocol'],
      [JSON.stringify({ ...record, version: 2 }), 'format 2'],
      [JSON.stringify({ ...record, version: '1' }), 'format "1"'],
      ['[1, 2]', 'not a JSON object'],
      ['null', 'not a JSON object'],
    ];
    for (const [text, why] of cases) {
      writeFileSync(file, text);
      const error = await expectCorrupt(store.read('endpoints', name), file);
      expect(error.message, text).to.include(why);
      await expectCorrupt(store.list('endpoints'), file);
    }
  });

  it('checks again a file changed from outside after this process wrote it', async () => {
    const [[name, record]] = (await recordsAsWritten()).endpoints;
    await store.write('endpoints', name, record);
    expect(await store.read('endpoints', name)).to.deep.equal(record);
    const file = join(dir, 'endpoints', `${name}.json`);
    writeFileSync(file, JSON.stringify({ ...record, ipv4: 7 }));
    await expectCorrupt(store.read('endpoints', name), file);
  });

  describe('listed', () => {
    it("in the order of their files' names (bytes), each as read() reads it; other files of the directory passed over", async () => {
      const [[, record]] = (await recordsAsWritten()).endpoints;
      const names = ['b', 'a-1', 'B', 'a', 'a_1', 'a.1', '10', '9', 'é'];
      for (const name of names) await store.write('endpoints', name, { ...record, id: name });
      writeFileSync(join(dir, 'endpoints', 'a.json.123.4.tmp'), '{');
      writeFileSync(join(dir, 'endpoints', 'notes.txt'), 'x');
      const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(`${x}.json`), Buffer.from(`${y}.json`)));
      const listed = await new StateStore(dir).list('endpoints');
      expect(listed.map((e) => e.id)).to.deep.equal(byBytes);
      for (const endpoint of listed) expect(endpoint).to.deep.equal(await new StateStore(dir).read('endpoints', endpoint.id));
    });

    it('a file that cannot be read fails the listing as read() fails; a name that is not UTF-8 is passed over, as readdir made it a name of no file', async () => {
      const [[, record]] = (await recordsAsWritten()).endpoints;
      await store.write('endpoints', 'e1', record);
      writeFileSync(Buffer.from(`${dir}/endpoints/bad\xff.json`, 'latin1'), JSON.stringify(record));
      expect((await new StateStore(dir).list('endpoints')).map((e) => e.id)).to.deep.equal([record.id]);
      mkdirSync(join(dir, 'endpoints', 'dir.json'));
      const failure = (promise) => promise.then(() => expect.fail('should fail'), (error) => ({ code: error.code, message: error.message }));
      const readFailure = await failure(new StateStore(dir).read('endpoints', 'dir'));
      expect(readFailure.message).to.include('dir.json');
      expect(await failure(new StateStore(dir).list('endpoints'))).to.deep.equal(readFailure);
    });
  });

  it('refuses a port table with a key that is not a port', async () => {
    await store.write('ports', 'tcp', { 8080: [{ hostIp: '0.0.0.0', owner: 'e1' }] });
    const file = join(dir, 'ports', 'tcp.json');
    writeFileSync(file, JSON.stringify({ version: 1, http: [{ hostIp: '0.0.0.0', owner: 'e1' }] }));
    await expectCorrupt(store.read('ports', 'tcp'), file);
  });

  describe('of the wrong shape', () => {
    it('every kind: STATE_CORRUPT naming the file and `nsnet reconcile`, from read, list and unreadable, and the file unchanged', async () => {
      const all = await recordsAsWritten();
      const specific = wrongShapes(all);
      expect(Object.keys(specific).sort()).to.deep.equal([...RECORD_KINDS].sort());
      for (const kind of RECORD_KINDS) {
        const [[name, record]] = all[kind];
        for (const text of [...WRONG_FOR_EVERY_KIND, ...specific[kind]]) {
          await store.write(kind, name, record);
          const file = join(dir, kind, `${name}.json`);
          writeFileSync(file, text);
          const error = await expectCorrupt(store.read(kind, name), file);
          expect(error.message, text).to.include('nsnet reconcile');
          expect(error.details.file).to.equal(file);
          await expectCorrupt(new StateStore(dir).list(kind), file);
          expect((await store.unreadable(kind)).map((u) => u.name), `${kind}: ${text}`).to.deep.equal([name]);
          expect(readFileSync(file, 'utf8'), `${kind}: ${text}`).to.equal(text);
        }
      }
    });

    it('the port and lease tables of the first reports: refused before any change', async () => {
      const [[, endpoint]] = (await recordsAsWritten()).endpoints;
      await store.list('ports');
      const requests = [parsePublish('8080:80')];
      for (const text of ['[1,2,3]', '"hello"']) {
        writeFileSync(join(dir, 'ports', 'tcp.json'), text);
        const file = join(dir, 'ports', 'tcp.json');
        await expectCorrupt(readPortTables(store, requests), file);
        await expectCorrupt(releasePorts(store, endpoint.ports, endpoint.id), file);
        await expectCorrupt(releaseOrphanPorts(store, new Set()), file);
        expect(readFileSync(join(dir, 'ports', 'tcp.json'), 'utf8')).to.equal(text);
      }
    });

    it('a record of another release is not reported as one to mend', async () => {
      const [[name, record]] = (await recordsAsWritten()).endpoints;
      await store.write('endpoints', name, record);
      writeFileSync(join(dir, 'endpoints', `${name}.json`), JSON.stringify({ ...record, version: 2 }));
      const error = await expectCorrupt(store.unreadable('endpoints'), join(dir, 'endpoints', `${name}.json`));
      expect(error.message).to.include('another release');
    });
  });
});

/** Shapes that are valid JSON but no record: those of every kind, then those of one. */
describe('mending unreadable records (reconcile)', () => {
  let dir;
  let store;
  let previousNetnsDir;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-mend-'));
    store = new StateStore(join(dir, 'state'));
    previousNetnsDir = process.env.NSNET_NETNS_DIR;
    process.env.NSNET_NETNS_DIR = join(dir, 'netns'); // empty: no container has a namespace left
  });
  afterEach(() => {
    if (previousNetnsDir === undefined) delete process.env.NSNET_NETNS_DIR;
    else process.env.NSNET_NETNS_DIR = previousNetnsDir;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Two endpoints on "web" (one dual stack), one on "db", with their leases and ports, as nsnet writes them. */
  async function writeState() {
    const all = await recordsAsWritten();
    const [[, network]] = all.networks;
    const [[key1, e1]] = all.endpoints;
    const e2 = { ...e1, id: 'e2', netnsInode: 4026532001, ipv4: '10.90.1.3', ipv6: undefined, prefixLength6: undefined, gateway6: undefined, ports: [{ hostIp: '127.0.0.1', hostPort: 9090, containerPort: 90, protocol: 'tcp' }] };
    delete e2.ipv6;
    delete e2.prefixLength6;
    delete e2.gateway6;
    const e3 = { ...e2, id: 'e3', network: 'db', netnsInode: 4026532002, ipv4: '10.90.2.2', ports: [{ hostIp: '0.0.0.0', hostPort: 5432, containerPort: 5432, protocol: 'tcp' }] };
    const db = { ...network, name: 'db', bridge: 'nsbr-db', subnet: '10.90.2.0/24', gateway: '10.90.2.1' };
    delete db.ipv6;
    await store.write('networks', 'web', network);
    await store.write('networks', 'db', db);
    for (const e of [e1, e2, e3]) await store.write('endpoints', endpointKey(e.network, e.netnsInode), e);
    const [[, leases]] = all.leases;
    leases.ipv4.addresses[e2.ipv4] = 'e2';
    await store.write('leases', 'web', leases);
    await store.write('leases', 'db', { ipv4: { addresses: { [e3.ipv4]: 'e3' } } });
    const tcp = { 8080: [{ hostIp: '127.0.0.1', owner: 'e1' }], 9090: [{ hostIp: '127.0.0.1', owner: 'e2' }], 5432: [{ hostIp: '0.0.0.0', owner: 'e3' }] };
    await store.write('ports', 'tcp', tcp);
    await store.write('ports', 'udp', (await store.read('ports', 'udp')) ?? { 5353: [{ hostIp: '::', owner: 'e1' }] });
    const [[, container]] = all.containers;
    await store.write('containers', 'c1', { ...container, joinedBy: ['c2'] });
    await store.write('containers', 'c2', { ...container, id: 'c2', mode: 'container', joined: 'c1', ownsNamespace: false, netnsPath: undefined, netnsInode: undefined, endpoint: undefined });
    return { e1, e2, e3, key1, leases, tcp, network };
  }

  const files = (kind) => readdirSync(join(store.dir, kind)).sort();

  it('rebuilds a lease table and a port table from the endpoint records, keeping the unreadable file aside', async () => {
    const { leases, tcp } = await writeState();
    writeFileSync(join(store.dir, 'leases', 'web.json'), '{"v4":"x"}');
    writeFileSync(join(store.dir, 'ports', 'tcp.json'), '[1,2,3]');
    const done = await mendUnreadableRecords(store);
    expect(done).to.have.length(2);
    expect(done[0]).to.match(/^leases\/web\.json .*rebuilt from 2 endpoint record\(s\).*leases\/web\.json\.corrupt-/);
    expect(done[1]).to.match(/^ports\/tcp\.json .*rebuilt from the endpoint records \(3 port\(s\)\)/);
    const { last: _last, ...ipv4 } = leases.ipv4;
    expect(await store.read('leases', 'web')).to.deep.equal({ ipv4, ipv6: { addresses: leases.ipv6.addresses } });
    expect(await store.read('ports', 'tcp')).to.deep.equal(tcp);
    expect(files('leases').filter((f) => f.startsWith('web.json.corrupt-'))).to.have.length(1);
    expect(readFileSync(join(store.dir, 'ports', files('ports').find((f) => f.startsWith('tcp.json.corrupt-'))), 'utf8')).to.equal('[1,2,3]');
    expect(await mendUnreadableRecords(store)).to.deep.equal([]);
  });

  it('moves aside an endpoint, a network (its leases with it) and an attachment; the tables rebuilt without them', async () => {
    const { key1 } = await writeState();
    writeFileSync(join(store.dir, 'endpoints', `${key1}.json`), '[]');
    writeFileSync(join(store.dir, 'networks', 'db.json'), '[]');
    writeFileSync(join(store.dir, 'attachments', 'web:k8s-1:eth0.json'), '{"network":1}');
    writeFileSync(join(store.dir, 'ports', 'tcp.json'), '"hello"');
    writeFileSync(join(store.dir, 'leases', 'web.json'), '{"ipv4":"x"}');
    const done = await mendUnreadableRecords(store);
    expect(done.map((line) => line.split(' ')[0])).to.deep.equal(['networks/db.json', `endpoints/${key1}.json`, 'attachments/web:k8s-1:eth0.json', 'leases/web.json', 'ports/tcp.json']);
    expect((await store.list('networks')).map((n) => n.name)).to.deep.equal(['web']);
    expect(await store.read('leases', 'db')).to.equal(undefined);
    expect((await store.list('endpoints')).map((e) => e.id).sort()).to.deep.equal(['e2', 'e3']);
    // Only what remains: e1's address and ports are free again.
    expect(await store.read('leases', 'web')).to.deep.equal({ ipv4: { addresses: { '10.90.1.3': 'e2' } } });
    expect(await store.read('ports', 'tcp')).to.deep.equal({ 9090: [{ hostIp: '127.0.0.1', owner: 'e2' }], 5432: [{ hostIp: '0.0.0.0', owner: 'e3' }] });
    expect(files('networks').some((f) => f.startsWith('db.json.corrupt-'))).to.equal(true);
  });

  it('moves aside a container whose namespace is gone, and frees the container it joined', async () => {
    await writeState();
    writeFileSync(join(store.dir, 'containers', 'c2.json'), '{"id":"c2"}');
    const done = await mendUnreadableRecords(store);
    expect(done).to.have.length(1);
    expect(done[0]).to.match(/^containers\/c2\.json .*moved aside/);
    expect((await store.read('containers', 'c1')).joinedBy).to.deep.equal([]);
  });

  it('removes the temporary file of a write that died, not that of a live process', async () => {
    await writeState();
    const dead = join(store.dir, 'ports', 'tcp.json.999999999.0.tmp');
    const live = join(store.dir, 'ports', `tcp.json.${process.pid}.3.tmp`);
    writeFileSync(dead, '{');
    writeFileSync(live, '{');
    const done = await mendUnreadableRecords(store);
    expect(done).to.deep.equal(['ports/tcp.json.999999999.0.tmp: left by a write that died; removed']);
    expect(files('ports')).to.include(`tcp.json.${process.pid}.3.tmp`).and.not.include('tcp.json.999999999.0.tmp');
  });
});
