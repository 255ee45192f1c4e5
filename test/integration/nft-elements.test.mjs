// Set and map elements changed through nf_tables netlink, in one transaction,
// checked with `nft -j` in a namespace of the test's own.
import { execFileSync } from 'node:child_process';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { applySetChanges, concat, field } from '../../dist/firewall/nftables/elements.js';
import { expectReject, uniqueName } from '../helpers.mjs';

const TABLE = 'nsnet';
const RULESET = `
table inet ${TABLE} {
  set bridges { type ifname; }
  map ports4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
  map ports6 { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
}
table inet foreign {
  set keep { type ipv4_addr; elements = { 192.0.2.1 } }
}`;

function nft(ns, args, input) {
  return execFileSync('ip', ['netns', 'exec', ns.name, 'nft', ...args], { encoding: 'utf8', input });
}

/** The elements of a set or map as `nft -j` lists them. */
function listed(ns, kind, name, table = TABLE) {
  const out = JSON.parse(nft(ns, ['-j', 'list', kind, 'inet', table, name]));
  return out.nftables.find((entry) => entry[kind])[kind].elem ?? [];
}

const port4 = (hostIp, proto, port, addr, cport) => ({
  key: concat(field.ipv4(hostIp), field.protocol(proto), field.port(port)),
  data: concat(field.ipv4(addr), field.port(cport)),
});

describe('nf_tables set elements over netlink', () => {
  let ns;
  let conn;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('nft'));
    nft(ns, ['-f', '-'], RULESET);
    conn = await ns.nftables();
  });
  afterEach(async () => {
    await ns.delete();
  });

  it('adds and deletes map elements with concatenated keys, as nft reads them', async () => {
    await applySetChanges(conn, TABLE, [
      { op: 'add', set: 'ports4', elements: [port4('0.0.0.0', 'tcp', 8080, '10.89.0.2', 80), port4('127.0.0.1', 'udp', 5353, '10.89.0.3', 53)] },
      { op: 'add', set: 'bridges', elements: [{ key: field.ifname('nsbr-web') }] },
      {
        op: 'add',
        set: 'ports6',
        elements: [{ key: concat(field.ipv6('::'), field.protocol('sctp'), field.port(9000)), data: concat(field.ipv6('fd00::2'), field.port(9)) }],
      },
    ]);
    const ports = listed(ns, 'map', 'ports4').map(([key, value]) => [key.concat, value.concat]);
    expect(ports).to.have.deep.members([
      [['0.0.0.0', 'tcp', 8080], ['10.89.0.2', 80]],
      [['127.0.0.1', 'udp', 5353], ['10.89.0.3', 53]],
    ]);
    expect(listed(ns, 'set', 'bridges')).to.deep.equal(['nsbr-web']);
    expect(listed(ns, 'map', 'ports6')[0]).to.deep.equal([{ concat: ['::', 'sctp', 9000] }, { concat: ['fd00::2', 9] }]);
    await applySetChanges(conn, TABLE, [{ op: 'delete', set: 'ports4', elements: [port4('0.0.0.0', 'tcp', 8080, '10.89.0.2', 80)] }]);
    expect(listed(ns, 'map', 'ports4').map(([key]) => key.concat)).to.deep.equal([['127.0.0.1', 'udp', 5353]]);
    expect(listed(ns, 'set', 'keep', 'foreign')).to.deep.equal(['192.0.2.1']);
  });

  it('applies a transaction whole or not at all', async () => {
    const error = await expectReject(
      applySetChanges(conn, TABLE, [
        { op: 'add', set: 'ports4', elements: [port4('0.0.0.0', 'tcp', 8081, '10.89.0.2', 80)] },
        { op: 'add', set: 'no_such_map', elements: [port4('0.0.0.0', 'tcp', 8082, '10.89.0.2', 80)] },
      ]),
      'NetlinkError',
      'ENOENT',
    );
    expect(error.op).to.contain('no_such_map');
    expect(listed(ns, 'map', 'ports4')).to.deep.equal([]);
  });

  it('refuses a taken key when exclusive, and deleting a missing one', async () => {
    const element = port4('0.0.0.0', 'tcp', 8083, '10.89.0.2', 80);
    await applySetChanges(conn, TABLE, [{ op: 'add', set: 'ports4', elements: [element], exclusive: true }]);
    await expectReject(applySetChanges(conn, TABLE, [{ op: 'add', set: 'ports4', elements: [element], exclusive: true }]), 'NetlinkError', 'EEXIST');
    await applySetChanges(conn, TABLE, [{ op: 'delete', set: 'ports4', elements: [element] }]);
    await expectReject(applySetChanges(conn, TABLE, [{ op: 'delete', set: 'ports4', elements: [element] }]), 'NetlinkError', 'ENOENT');
  });

  it('changes 10,000 elements in one transaction', async function () {
    this.timeout(30000);
    const elements = Array.from({ length: 10000 }, (_, i) => port4('0.0.0.0', 'tcp', 10000 + i, '10.89.0.2', 80));
    const started = Date.now();
    await applySetChanges(conn, TABLE, [{ op: 'add', set: 'ports4', elements }]);
    const elapsed = Date.now() - started;
    expect(listed(ns, 'map', 'ports4')).to.have.length(10000);
    expect(elapsed, 'ms for 10,000 elements').to.be.below(5000);
  });

  it('refuses bad fields before building a message', () => {
    expect(() => field.ipv4('fd00::1')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => field.port(0)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => field.port(65536)).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => field.protocol('icmp')).to.throw().with.property('code', 'INVALID_ARGUMENT');
    expect(() => field.ifname('x'.repeat(16))).to.throw().with.property('code', 'INVALID_ARGUMENT');
  });
});
