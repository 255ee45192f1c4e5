// The neighbour and notification parsers on replies captured from a real
// kernel (see test/fixtures/README.md), the expected values from what
// iproute2 (`ip -j neigh`, `bridge -j fdb`) listed in the same run and from a
// plain walk of the messages; then the same bytes edited for malformed input.
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { attribute, fromHexText, message, messagesOf, NLMSG_HDRLEN } from './bytes.mjs';

const addon = native();
const fixture = (name) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const replies = { neighbours: fromHexText(fixture('neighbours.hex')), fdb: fromHexText(fixture('fdb.hex')), events: fromHexText(fixture('events.hex')) };
const ipNeigh = JSON.parse(fixture('ip-neigh.json'));
const bridgeFdb = JSON.parse(fixture('bridge-fdb.json'));
const nameOf = new Map(JSON.parse(fixture('ip-link-neighbours.json')).map((link) => [link.ifindex, link.ifname]));

const RTM_NEWNEIGH = 28;
const NDMSG_LEN = 12;
const NTF_SELF = 0x02;
const NTF_ROUTER = 0x80;
const NUD = { PERMANENT: 0x80, NOARP: 0x40, STALE: 0x04 };
const EVENT_TYPES = { 16: 'link new', 17: 'link del', 20: 'address new', 21: 'address del', 24: 'route new', 25: 'route del', 28: 'neighbour new', 29: 'neighbour del' };
const AF_BRIDGE = 7;
const byText = (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b));

function expectMalformed(parse) {
  expect(parse).to.throw(Error).with.property('code', 'EBADMSG');
}

/** One RTM_NEWNEIGH with these attributes. */
function neighbourMessage(attributes, header = Buffer.alloc(NDMSG_LEN)) {
  return message(RTM_NEWNEIGH, 0, Buffer.concat([header, ...attributes]));
}

describe('neighbour parsers on captured kernel replies', function () {
  it('reads the ARP and NDP entries ip neigh listed', function () {
    const ours = addon.parseNeighbours(replies.neighbours).map((n) => ({
      dst: n.dst,
      dev: nameOf.get(n.index),
      lladdr: n.lladdr,
      ...(n.flags & NTF_ROUTER ? { router: null } : {}),
      state: [Object.keys(NUD).find((name) => NUD[name] === n.state)],
    }));
    expect(ours.sort(byText)).to.deep.equal([...ipNeigh].sort(byText));
  });

  it('reads the FDB entries bridge fdb listed: MAC, device, VXLAN dst, self, master, permanent or static', function () {
    const ours = addon.parseNeighbours(replies.fdb).map((e) => {
      const entry = { mac: e.lladdr, ifname: nameOf.get(e.index) };
      if (e.dst) entry.dst = e.dst;
      entry.flags = e.flags & NTF_SELF ? ['self'] : [];
      if (e.master) entry.master = nameOf.get(e.master);
      entry.state = e.state & NUD.PERMANENT ? 'permanent' : e.state & NUD.NOARP ? 'static' : String(e.state);
      return entry;
    });
    expect(ours.sort(byText)).to.deep.equal([...bridgeFdb].sort(byText));
    expect(addon.parseNeighbours(replies.fdb).every((e) => e.family === AF_BRIDGE)).to.equal(true);
  });

  it('reads notifications in order, each of its kind, a deletion as a deletion, skipping a bridge port\'s own', function () {
    const walked = messagesOf(replies.events)
      .filter((m) => !((m.type === 16 || m.type === 17) && m.bytes[NLMSG_HDRLEN] === AF_BRIDGE))
      .map((m) => EVENT_TYPES[m.type]);
    const events = addon.parseEvents(replies.events);
    expect(events.map((e) => `${e.type} ${e.action}`)).to.deep.equal(walked);
    expect(walked).to.include.members(['link new', 'link del', 'address new', 'address del', 'route new', 'route del', 'neighbour new', 'neighbour del']);
    expect(events.find((e) => e.type === 'link' && e.action === 'del').entry).to.include({ name: 'vx0', kind: 'vxlan' });
    expect(events.find((e) => e.type === 'address').entry).to.include({ address: '10.9.0.1', prefixLength: 24 });
    expect(events.filter((e) => e.type === 'neighbour' && e.entry.family === 2).map((e) => [e.action, e.entry.dst])).to.deep.include(['del', '10.9.0.7']);
  });
});

describe('neighbour parsers on malformed and unusual input', function () {
  const dst = attribute(1, Buffer.from([10, 0, 0, 9]));
  const lladdr = attribute(2, Buffer.from([2, 0, 0, 0, 0, 9]));

  it('read a message built here as the kernel would send it', function () {
    expect(addon.parseNeighbours(neighbourMessage([dst, lladdr]))).to.deep.equal([
      { family: 0, index: 0, state: 0, flags: 0, type: 0, dst: '10.0.0.9', lladdr: '02:00:00:00:00:09' },
    ]);
  });

  it('throw EBADMSG on a buffer cut short, in a message or in its header', function () {
    expectMalformed(() => addon.parseNeighbours(replies.fdb.subarray(0, replies.fdb.length - 3)));
    expectMalformed(() => addon.parseEvents(replies.events.subarray(0, replies.events.length - 3)));
    expectMalformed(() => addon.parseNeighbours(message(RTM_NEWNEIGH, 0, Buffer.alloc(NDMSG_LEN - 1))));
    expectMalformed(() => addon.parseEvents(message(RTM_NEWNEIGH, 0, Buffer.alloc(NDMSG_LEN - 1))));
  });

  it('throw EBADMSG on an address of the wrong length, and on a too-short VLAN or master', function () {
    expectMalformed(() => addon.parseNeighbours(neighbourMessage([attribute(1, Buffer.alloc(5))])));
    expectMalformed(() => addon.parseNeighbours(neighbourMessage([attribute(2, Buffer.alloc(33))])));
    expectMalformed(() => addon.parseNeighbours(neighbourMessage([attribute(5, Buffer.alloc(1))])));
    expectMalformed(() => addon.parseNeighbours(neighbourMessage([attribute(9, Buffer.alloc(2))])));
    expectMalformed(() => addon.parseNeighbours(neighbourMessage([Buffer.from([0xff, 0x00, 0x01, 0x00])])));
  });

  it('keep going past attributes they do not know and messages of other types', function () {
    const unknown = attribute(200, Buffer.alloc(7, 0xee));
    const done = message(3, 2, Buffer.alloc(4));
    const [entry] = addon.parseNeighbours(Buffer.concat([neighbourMessage([unknown, dst]), done]));
    expect(entry.dst).to.equal('10.0.0.9');
    expect(addon.parseEvents(Buffer.concat([done, neighbourMessage([dst])])).map((e) => e.type)).to.deep.equal(['neighbour']);
  });

  it('read a link-layer address of another length than Ethernet\'s, and none', function () {
    const [long] = addon.parseNeighbours(neighbourMessage([attribute(2, Buffer.alloc(16, 0xab))]));
    expect(long.lladdr).to.equal(Array(16).fill('ab').join(':'));
    const [none] = addon.parseNeighbours(neighbourMessage([dst]));
    expect(none.lladdr).to.equal('');
  });
});
