// The lease and port tables held in memory between connects: written as the
// JSON the stored format is, reused only while the file still holds the
// bytes this process wrote, read afresh when anyone else changed it, never
// kept half-changed. Two stores on one directory stand for two processes.
// No privileges: a temporary directory as the state.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';
import fc from 'fast-check';

import { readPortTables, releasePorts, takePorts, writePortTables } from '../../dist/firewall/ports.js';
import { parsePublish } from '../../dist/firewall/publish.js';
import { saveLeases, takeLeases } from '../../dist/ipam/lease-file.js';
import { addressTablesJson, addressTablesOf, allocateAddress, emptyLeaseTable, releaseEndpointLeases } from '../../dist/ipam/leases.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { JsonEntries } from '../../dist/state/json-entries.js';
import { StateStore } from '../../dist/state/store.js';

const subnet = Subnet.parse('10.7.0.0/16');
const gateway = new Set(['10.7.0.1']);

describe('JSON entries', () => {
  it('write the same JSON as JSON.stringify of the object, through any run of sets and deletes', () => {
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.nat(70000).map(String), fc.constantFrom('"', '\\', '\u2028', '__proto__'));
    const value = fc.oneof(fc.string({ maxLength: 6 }), fc.array(fc.record({ hostIp: fc.string({ maxLength: 3 }), owner: fc.string({ maxLength: 3 }) }), { maxLength: 2 }));
    const step = fc.oneof(fc.tuple(fc.constant('set'), key, value), fc.tuple(fc.constant('delete'), key, fc.constant(undefined)));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const entries = new JsonEntries();
        const model = new Map();
        for (const [op, k, v] of steps) {
          if (op === 'set') {
            entries.set(k, v);
            model.set(k, v);
          } else {
            expect(entries.delete(k)).to.equal(model.delete(k));
          }
        }
        expect(entries.size).to.equal(model.size);
        expect(JSON.parse(entries.json())).to.deep.equal(Object.fromEntries(model));
        expect(JsonEntries.of(JSON.parse(entries.json())).toRecord()).to.deep.equal(Object.fromEntries(model));
      }),
      { numRuns: 300 },
    );
  });
});

describe('lease tables in memory', () => {
  it('are written in the stored format, compact, and read back the same', () => {
    const tables = { ipv4: emptyLeaseTable(), ipv6: emptyLeaseTable() };
    allocateAddress(tables.ipv4, subnet, 'e1', gateway);
    allocateAddress(tables.ipv4, subnet, 'e2', gateway, '10.7.3.4');
    allocateAddress(tables.ipv6, Subnet.parse('fd00:7::/64'), 'e1', new Set(['fd00:7::1']));
    const stored = { ipv4: { addresses: { '10.7.0.2': 'e1', '10.7.3.4': 'e2' }, last: '2' }, ipv6: { addresses: { 'fd00:7::2': 'e1' }, last: '2' } };
    expect(addressTablesJson(tables)).to.equal(JSON.stringify(stored));
    expect(addressTablesJson(addressTablesOf(stored))).to.equal(JSON.stringify(stored));
    expect(addressTablesJson({ ipv4: emptyLeaseTable() })).to.equal('{"ipv4":{"addresses":{}}}');
  });

  it('an endpoint releases the addresses its record names, and only while they are still its own', () => {
    const tables = { ipv4: emptyLeaseTable(), ipv6: emptyLeaseTable() };
    const ipv4 = allocateAddress(tables.ipv4, subnet, 'e1', gateway);
    const ipv6 = allocateAddress(tables.ipv6, Subnet.parse('fd00:7::/64'), 'e1', new Set(['fd00:7::1']));
    allocateAddress(tables.ipv4, subnet, 'e2', gateway);
    // An address of its record that went to another endpoint (after a crash) stays the other's.
    expect(releaseEndpointLeases(tables, { id: 'e3', ipv4 })).to.equal(false);
    expect(releaseEndpointLeases(tables, { id: 'e1', ipv4, ipv6 })).to.equal(true);
    expect([...tables.ipv4.addresses.entries()]).to.deep.equal([['10.7.0.3', 'e2']]);
    expect(tables.ipv6.addresses.size).to.equal(0);
    expect(releaseEndpointLeases(tables, { id: 'e1', ipv4, ipv6 })).to.equal(false);
  });
});

describe('tables held in memory between uses', () => {
  let dir;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-held-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (...parts) => join(dir, ...parts);

  it('a lease table written is the stored record, with its version, and reads back through the schema', async () => {
    const store = new StateStore(dir);
    const tables = { ipv4: emptyLeaseTable() };
    allocateAddress(tables.ipv4, subnet, 'e1', gateway);
    await saveLeases(store, 'web', tables);
    const text = readFileSync(file('leases', 'web.json'), 'utf8');
    expect(text).to.equal('{"ipv4":{"addresses":{"10.7.0.2":"e1"},"last":"2"},"version":1}\n');
    expect(await new StateStore(dir).read('leases', 'web')).to.deep.equal({ ipv4: { addresses: { '10.7.0.2': 'e1' }, last: '2' } });
  });

  it('is reused while the file holds what this process wrote, and read afresh once another wrote it', async () => {
    const mine = new StateStore(dir);
    const other = new StateStore(dir); // another process
    const tables = { ipv4: emptyLeaseTable() };
    allocateAddress(tables.ipv4, subnet, 'e1', gateway);
    await saveLeases(mine, 'web', tables);
    expect(await takeLeases(mine, 'web')).to.equal(tables); // the same object: nothing parsed
    await saveLeases(mine, 'web', tables);

    // The other process hands out the next address; this one must see it taken.
    const theirs = await takeLeases(other, 'web');
    expect(allocateAddress(theirs.ipv4, subnet, 'e2', gateway)).to.equal('10.7.0.3');
    await saveLeases(other, 'web', theirs);
    const again = await takeLeases(mine, 'web');
    expect(again).not.to.equal(tables);
    expect(allocateAddress(again.ipv4, subnet, 'e3', gateway)).to.equal('10.7.0.4');
  });

  it('sees a change from outside that keeps the size of the file', async () => {
    const store = new StateStore(dir);
    const tables = { ipv4: emptyLeaseTable() };
    allocateAddress(tables.ipv4, subnet, 'e1', gateway);
    await saveLeases(store, 'web', tables);
    const before = readFileSync(file('leases', 'web.json'), 'utf8');
    writeFileSync(file('leases', 'web.json'), before.replace('"e1"', '"e9"'));
    const read = await takeLeases(store, 'web');
    expect([...read.ipv4.addresses.entries()]).to.deep.equal([['10.7.0.2', 'e9']]);
  });

  it('does not keep a change given up before it was written', async () => {
    const store = new StateStore(dir);
    await saveLeases(store, 'web', { ipv4: emptyLeaseTable() });
    const taken = await takeLeases(store, 'web');
    allocateAddress(taken.ipv4, subnet, 'e1', gateway); // a connect that then fails
    const next = await takeLeases(store, 'web');
    expect(next.ipv4.addresses.size).to.equal(0);
    expect(allocateAddress(next.ipv4, subnet, 'e2', gateway)).to.equal('10.7.0.2');
  });

  it('a table corrupted from outside after this process wrote it is STATE_CORRUPT', async () => {
    const store = new StateStore(dir);
    await saveLeases(store, 'web', { ipv4: emptyLeaseTable() });
    writeFileSync(file('leases', 'web.json'), '{"ipv4":{"addresses":{"10.7.0.2":5}}}');
    let error;
    await takeLeases(store, 'web').catch((e) => (error = e));
    expect(error?.code).to.equal('STATE_CORRUPT');
    expect(error.message).to.include(file('leases', 'web.json'));
  });

  it('a table of the earlier, indented layout reads, and is written back compact', async () => {
    mkdirSync(file('leases'));
    writeFileSync(file('leases', 'web.json'), `${JSON.stringify({ ipv4: { addresses: { '10.7.0.2': 'e1' }, last: '2' }, version: 1 }, null, 2)}\n`);
    const store = new StateStore(dir);
    const tables = await takeLeases(store, 'web');
    expect(allocateAddress(tables.ipv4, subnet, 'e2', gateway)).to.equal('10.7.0.3');
    await saveLeases(store, 'web', tables);
    expect(readFileSync(file('leases', 'web.json'), 'utf8')).to.equal('{"ipv4":{"addresses":{"10.7.0.2":"e1","10.7.0.3":"e2"},"last":"3"},"version":1}\n');
  });

  it('two processes taking turns never hand out one address or one port twice', async () => {
    const stores = [new StateStore(dir), new StateStore(dir)];
    const addresses = new Set();
    const ports = new Set();
    for (let i = 0; i < 60; i++) {
      const store = stores[i % 3 === 0 ? 0 : 1];
      const owner = `e${i}`;
      const leases = (await takeLeases(store, 'web')) ?? { ipv4: emptyLeaseTable() };
      const address = allocateAddress(leases.ipv4, subnet, owner, gateway);
      const requests = [parsePublish('80')];
      const tables = await readPortTables(store, requests);
      const [published] = await takePorts(tables, requests, owner, '0.0.0.0');
      await saveLeases(store, 'web', leases);
      await writePortTables(store, tables);
      expect(addresses.has(address), `${address} twice`).to.equal(false);
      expect(ports.has(published.hostPort), `${published.hostPort} twice`).to.equal(false);
      addresses.add(address);
      ports.add(published.hostPort);
      if (i % 7 === 6) {
        // Every seventh endpoint goes again, through the other store.
        await releasePorts(stores[i % 2], [published], owner);
        ports.delete(published.hostPort);
      }
    }
    const stored = JSON.parse(readFileSync(file('leases', 'web.json'), 'utf8'));
    expect(Object.keys(stored.ipv4.addresses)).to.have.length(60);
    const tcp = await new StateStore(dir).read('ports', 'tcp');
    expect(Object.keys(tcp).map(Number).sort()).to.deep.equal([...ports].sort());
  });

  it('a request refused half-way leaves no port of it in the table', async () => {
    const store = new StateStore(dir);
    const first = await readPortTables(store, [parsePublish('8081:81')]);
    await takePorts(first, [parsePublish('8081:81')], 'e1', '0.0.0.0');
    await writePortTables(store, first);
    const requests = [parsePublish('8080:80'), parsePublish('8081:81')];
    const tables = await readPortTables(store, requests);
    let error;
    await takePorts(tables, requests, 'e2', '0.0.0.0').catch((e) => (error = e));
    expect(error?.code).to.equal('PORT_IN_USE');
    const again = await readPortTables(store, requests);
    expect(again.get('tcp').toRecord()).to.deep.equal({ 8081: [{ hostIp: '0.0.0.0', owner: 'e1' }] });
  });
});
