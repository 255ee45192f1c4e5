// The state directory's records: written with their format version, read
// back through the schema of their kind; anything else is STATE_CORRUPT
// naming the file. No privileges: a temporary directory as the state.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { takePorts } from '../../dist/firewall/ports.js';
import { parsePublish } from '../../dist/firewall/publish.js';
import { allocateAddress, emptyLeaseTable } from '../../dist/ipam/leases.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { randomLocalMac } from '../../dist/network/mac.js';
import { checkNetworkOptions } from '../../dist/network/options.js';
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
  const tables = new Map([['tcp', {}], ['udp', {}]]);
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
  return {
    networks: [['web', network]],
    leases: [['web', leases]],
    endpoints: [[endpointKey('web', 4026532000), endpoint]],
    containers: [['c1', container]],
    ports: [...tables].map(([protocol, table]) => [protocol, table]),
    attachments: [['web:k8s-1:eth0', attachment]],
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
    const { ipv4: _ipv4, ...missing } = record;
    const cases = [
      ['{"id": "e1", ', 'not valid JSON'],
      [JSON.stringify(missing), 'ipv4'],
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

  it('refuses a port table with a key that is not a port', async () => {
    await store.write('ports', 'tcp', { 8080: [{ hostIp: '0.0.0.0', owner: 'e1' }] });
    const file = join(dir, 'ports', 'tcp.json');
    writeFileSync(file, JSON.stringify({ version: 1, http: [{ hostIp: '0.0.0.0', owner: 'e1' }] }));
    await expectCorrupt(store.read('ports', 'tcp'), file);
  });
});
