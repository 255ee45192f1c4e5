// The reply parsers on dump replies captured from a real kernel (see
// test/fixtures/README.md). The expected values come from what iproute2
// (`ip -j ...`) listed in the same run, not from nsnet's own parser. Then the
// same replies, edited byte by byte, for malformed and unusual input.
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { attribute, attributesOf, fromHexText, message, messagesOf, NLMSG_HDRLEN, u32 } from './bytes.mjs';

const addon = native();

const fixtureUrl = (name) => new URL(`../fixtures/${name}`, import.meta.url);
const hexFixture = (name) => fromHexText(readFileSync(fixtureUrl(name), 'utf8'));
const jsonFixture = (name) => JSON.parse(readFileSync(fixtureUrl(name), 'utf8'));

const replies = {
  links: hexFixture('links.hex'),
  addresses: hexFixture('addresses.hex'),
  routesMain: hexFixture('routes-main.hex'),
  routesTable100: hexFixture('routes-table100.hex'),
};
const ip = {
  links: jsonFixture('ip-link.json'),
  addresses: jsonFixture('ip-addr.json'),
  routes: [...jsonFixture('ip-route.json'), ...jsonFixture('ip-route6.json')],
  routesTable100: jsonFixture('ip-route-table100.json'),
};

const RTM_NEWLINK = 16;
const RTM_NEWADDR = 20;
const NLMSG_NOOP = 1;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 2;
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;
const IFLA_MTU = 4;
const RTA_DST = 1;
const IFLA_LINKINFO = 18;
const IFLA_AF_SPEC = 26;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
const IFLA_BRPORT_MODE = 4;
const NLA_F_NET_BYTEORDER = 0x4000;
const IFF_UP = 0x1;
const IFA_F_NODAD = 0x02;
const IFA_F_TENTATIVE = 0x40;

const AF = { inet: 2, inet6: 10 };
const SCOPES = { global: 0, universe: 0, link: 253, host: 254 };
const PROTOCOLS = { kernel: 2, boot: 3, static: 4 };
const OPER_STATES = { UNKNOWN: 0, DOWN: 2, UP: 6 };

const indexByName = new Map(ip.links.map((link) => [link.ifname, link.ifindex]));
const byIndex = (a, b) => a.index - b.index;

function expectMalformed(parse) {
  expect(parse).to.throw(Error).with.property('code', 'EBADMSG');
}

// --- editing captured replies ------------------------------------------------

/** A copy of one message with nlmsg_len set to `len`. */
function withLength(bytes, len) {
  const copy = Buffer.from(bytes);
  copy.writeUInt32LE(len, 0);
  return copy;
}

/** A copy of `bytes` cut to `len` bytes, nlmsg_len made to agree. */
function cutMessage(bytes, len) {
  return withLength(bytes.subarray(0, len), len);
}

/** The message with `extra` bytes appended to it, nlmsg_len made to agree. */
function appendToMessage(bytes, extra) {
  return withLength(Buffer.concat([bytes, extra]), bytes.length + extra.length);
}

/** The message with the first attribute of `type` replaced by `replacement`. */
function replaceAttribute(bytes, headerLen, type, replacement) {
  const found = attributesOf(bytes, NLMSG_HDRLEN + headerLen).find((attr) => attr.type === type);
  if (!found) throw new Error(`no attribute ${type} in the message`);
  const end = found.offset + ((found.len + 3) & ~3);
  const edited = Buffer.concat([bytes.subarray(0, found.offset), replacement, bytes.subarray(end)]);
  return withLength(edited, edited.length);
}

/** The attribute at `path` (types, outermost first) in a link message, as { offset, len, type }. */
function nestedAttribute(bytes, path) {
  let found = { offset: NLMSG_HDRLEN + IFINFOMSG_LEN - 4, len: bytes.length - NLMSG_HDRLEN - IFINFOMSG_LEN + 4 };
  for (const type of path) {
    const within = bytes.subarray(0, found.offset + found.len);
    found = attributesOf(within, found.offset + 4).find((attr) => attr.type === type);
    if (!found) throw new Error(`no attribute ${path.join('/')} in the message`);
  }
  return found;
}

const firstMessage = (buffer) => messagesOf(buffer)[0].bytes;
const linkMessages = messagesOf(replies.links);
const loMessage = linkMessages[0].bytes;

// -----------------------------------------------------------------------------

describe('reply parsers on captured kernel replies', function () {
  describe('parseLinks (RTM_NEWLINK dump)', function () {
    let links;
    before(function () {
      links = addon.parseLinks(replies.links).sort(byIndex);
    });
    const listed = [...ip.links].sort((a, b) => a.ifindex - b.ifindex);
    const linkNamed = (name) => links.find((link) => link.name === name);

    it('finds the links iproute2 listed, with the same indexes and names', function () {
      expect(links.map(({ index, name }) => ({ index, name }))).to.deep.equal(
        listed.map((link) => ({ index: link.ifindex, name: link.ifname })),
      );
    });

    it('reads mtu and MAC address as iproute2 does', function () {
      expect(links.map(({ name, mtu, mac }) => ({ name, mtu, mac }))).to.deep.equal(
        listed.map((link) => ({ name: link.ifname, mtu: link.mtu, mac: link.address })),
      );
      // Both set when the links were created.
      expect(linkNamed('br0')).to.include({ mtu: 1400, mac: '02:00:00:00:09:01' });
      expect(linkNamed('v1')).to.include({ mac: '02:00:00:00:09:11' });
    });

    it('reads the kind from IFLA_LINKINFO, empty for the loopback', function () {
      expect(links.map(({ name, kind }) => ({ name, kind }))).to.deep.equal(
        listed.map((link) => ({ name: link.ifname, kind: link.linkinfo?.info_kind ?? '' })),
      );
      expect(new Set(links.map((link) => link.kind))).to.deep.equal(new Set(['', 'bridge', 'veth', 'macvlan']));
    });

    it('reads IFF_UP and the operational state', function () {
      for (const link of listed) {
        const parsed = linkNamed(link.ifname);
        expect(Boolean(parsed.flags & IFF_UP), `${link.ifname} up`).to.equal(link.flags.includes('UP'));
        expect(parsed.operState, `${link.ifname} operstate`).to.equal(OPER_STATES[link.operstate]);
      }
    });

    it('gives the master index of a bridge port, 0 for the others', function () {
      for (const link of listed) {
        const expected = link.master ? indexByName.get(link.master) : 0;
        expect(linkNamed(link.ifname).master, `${link.ifname} master`).to.equal(expected);
      }
      expect(linkNamed('v0').master).to.equal(linkNamed('br0').index);
    });

    it("gives a veth its peer's index (IFLA_LINK), with the peer's netns id when it is elsewhere", function () {
      for (const link of listed) {
        const expected = link.link ? indexByName.get(link.link) : (link.link_index ?? 0);
        expect(linkNamed(link.ifname).link, `${link.ifname} link`).to.equal(expected);
        expect(linkNamed(link.ifname).linkNetnsId, `${link.ifname} link netnsid`).to.equal(link.link_netnsid);
      }
      expect(linkNamed('v0').link).to.equal(linkNamed('v1').index);
      expect(linkNamed('v1').link).to.equal(linkNamed('v0').index);
      expect(linkNamed('v2')).to.include({ link: 2, linkNetnsId: 0 });
    });

    it('reads the alias (IFLA_IFALIAS)', function () {
      for (const link of listed) {
        expect(linkNamed(link.ifname).alias, `${link.ifname} alias`).to.equal(link.ifalias ?? '');
      }
      expect(linkNamed('br0').alias).to.equal('capture bridge');
    });

    it("reads a bridge port's hairpin mode (IFLA_INFO_SLAVE_DATA), only for a bridge's ports", function () {
      for (const link of listed) {
        const port = link.linkinfo?.info_slave_kind === 'bridge';
        const parsed = linkNamed(link.ifname);
        expect(parsed.hairpin, `${link.ifname} hairpin`).to.equal(port ? link.linkinfo.info_slave_data.hairpin : undefined);
        expect(parsed.slaveKind, `${link.ifname} slave kind`).to.equal(link.linkinfo?.info_slave_kind);
      }
      expect(linkNamed('v0')).to.include({ hairpin: false, slaveKind: 'bridge' });
      // The same port with hairpin mode on: its IFLA_BRPORT_MODE byte set.
      const v0 = linkMessages.find((m) => addon.parseLinks(m.bytes)[0].name === 'v0').bytes;
      const mode = nestedAttribute(v0, [IFLA_LINKINFO, IFLA_INFO_SLAVE_DATA, IFLA_BRPORT_MODE]);
      const edited = Buffer.from(v0);
      edited[mode.offset + 4] = 1;
      expect(addon.parseLinks(edited)[0]).to.include({ name: 'v0', hairpin: true });
      // A port of another kind of master numbers its attributes otherwise: no hairpin read from them.
      const kind = nestedAttribute(v0, [IFLA_LINKINFO, IFLA_INFO_SLAVE_KIND]);
      edited.write('bond\0\0', kind.offset + 4, 'latin1');
      expect(addon.parseLinks(edited)[0]).to.include({ slaveKind: 'bond' }).and.not.have.property('hairpin');
    });
  });

  describe('parseLinkBriefs (RTM_NEWLINK dump, index, flags, name and master only)', function () {
    it('reads each link as parseLinks does, in the same order', function () {
      const briefs = addon.parseLinkBriefs(replies.links);
      expect(briefs.indexes).to.be.an.instanceOf(Uint32Array);
      const rows = briefs.names.map((name, i) => ({ index: briefs.indexes[i], flags: briefs.flags[i], name, master: briefs.masters[i] }));
      expect(rows).to.deep.equal(addon.parseLinks(replies.links).map(({ index, flags, name, master }) => ({ index, flags, name, master })));
      expect(rows.find((link) => link.name === 'v0').master).to.equal(indexByName.get('br0'));
    });
  });

  describe('parseAddresses (RTM_NEWADDR dump)', function () {
    const key = (a) => `${a.index} ${a.address}/${a.prefixLength}`;
    const listed = ip.addresses.flatMap((link) => link.addr_info.map((info) => ({ link, info })));
    let addresses;
    let parsedByKey;
    before(function () {
      addresses = addon.parseAddresses(replies.addresses);
      parsedByKey = new Map(addresses.map((a) => [key(a), a]));
    });

    it('finds the addresses iproute2 listed, with their links and prefix lengths', function () {
      const expected = listed.map(({ link, info }) => `${link.ifindex} ${info.local}/${info.prefixlen}`);
      expect(addresses.map(key).sort()).to.deep.equal(expected.sort());
      expect(parsedByKey.get(`${indexByName.get('br0')} 10.9.0.1/24`)).to.include({ family: 2, prefixLength: 24 });
      expect(parsedByKey.get(`${indexByName.get('br0')} fd00:9::1/64`)).to.include({ family: 10, prefixLength: 64 });
    });

    it('reads family, scope and the IPv4 label', function () {
      for (const { link, info } of listed) {
        const parsed = parsedByKey.get(`${link.ifindex} ${info.local}/${info.prefixlen}`);
        expect(parsed.family, `${info.local} family`).to.equal(AF[info.family]);
        expect(parsed.scope, `${info.local} scope`).to.equal(SCOPES[info.scope]);
        expect(parsed.label, `${info.local} label`).to.equal(info.label ?? '');
      }
    });

    it('reads the flags from IFA_FLAGS: nodad and tentative as iproute2 shows them', function () {
      for (const { link, info } of listed) {
        const parsed = parsedByKey.get(`${link.ifindex} ${info.local}/${info.prefixlen}`);
        expect(Boolean(parsed.flags & IFA_F_NODAD), `${info.local} nodad`).to.equal(Boolean(info.nodad));
        expect(Boolean(parsed.flags & IFA_F_TENTATIVE), `${info.local} tentative`).to.equal(Boolean(info.tentative));
      }
      expect(listed.some(({ info }) => info.nodad)).to.equal(true);
    });
  });

  describe('parseRoutes (RTM_NEWROUTE dump)', function () {
    /** A route in iproute2's terms, from the parser's output. */
    function asIproute2(route) {
      const out = {
        dst: route.dstLength === 0 ? 'default' : `${route.dst}/${route.dstLength}`,
        dev: [...indexByName].find(([, index]) => index === route.oif)?.[0],
        protocol: route.protocol,
        scope: route.scope,
      };
      if (route.gateway) out.gateway = route.gateway;
      if (route.src) out.prefsrc = route.src;
      if (route.metric !== undefined) out.metric = route.metric;
      return out;
    }
    function fromIproute2(route) {
      const out = {
        dst: route.dst,
        dev: route.dev,
        protocol: PROTOCOLS[route.protocol],
        scope: SCOPES[route.scope ?? 'universe'],
      };
      if (route.gateway) out.gateway = route.gateway;
      if (route.prefsrc) out.prefsrc = route.prefsrc;
      if (route.metric !== undefined) out.metric = route.metric;
      return out;
    }
    const sortKey = (r) => `${r.dst} ${r.dev}`;
    const sorted = (list) => [...list].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));

    it('reads dst, gateway, oif, metric, scope, protocol and prefsrc of the main table as iproute2 does', function () {
      const routes = addon.parseRoutes(replies.routesMain);
      expect(sorted(routes.map(asIproute2))).to.deep.equal(sorted(ip.routes.map(fromIproute2)));
    });

    it('reads the family and table of each route, and the metric only when the kernel sent one', function () {
      const routes = addon.parseRoutes(replies.routesMain);
      expect(routes.every((route) => route.table === 254)).to.equal(true);
      const find = (dst) => routes.find((route) => `${route.dst}/${route.dstLength}` === dst);
      expect(find('10.10.0.0/16')).to.include({ family: 2, gateway: '10.9.0.254', oif: indexByName.get('br0') });
      expect(find('10.10.0.0/16')).to.not.have.property('metric');
      expect(find('10.11.0.0/16')).to.include({ family: 2, metric: 50, scope: 253 });
      expect(find('fd00:10::/48')).to.include({ family: 10, gateway: 'fd00:9::fe', metric: 1024 });
    });

    it('reads a default route of table 100', function () {
      const routes = addon.parseRoutes(replies.routesTable100);
      expect(routes.map(asIproute2)).to.deep.equal(ip.routesTable100.map(fromIproute2));
      expect(routes).to.have.lengthOf(1);
      expect(routes[0]).to.include({ table: 100, dst: '', dstLength: 0, gateway: '10.9.0.254', family: 2 });
    });
  });

  describe('parseMessages', function () {
    it('splits a dump into its messages with type, flags, seq and payload', function () {
      const messages = addon.parseMessages(replies.links);
      expect(messages).to.have.lengthOf(linkMessages.length);
      messages.forEach((parsed, i) => {
        expect(parsed.type).to.equal(RTM_NEWLINK);
        expect(parsed.flags & NLM_F_MULTI).to.equal(NLM_F_MULTI);
        expect(parsed.seq).to.equal(linkMessages[i].bytes.readUInt32LE(8));
        expect(parsed.payload.equals(linkMessages[i].bytes.subarray(NLMSG_HDRLEN))).to.equal(true);
      });
    });
  });
});

describe('reply parsers on malformed and unusual input', function () {
  it('start from fixtures that parse as they are', function () {
    expect(addon.parseLinks(replies.links)).to.have.lengthOf(linkMessages.length);
    expect(addon.parseLinks(loMessage)[0]).to.include({ name: 'lo', index: 1, mtu: 65536 });
  });

  describe('truncation', function () {
    it('throws EBADMSG on a buffer cut in the middle of a message', function () {
      const cut = replies.links.subarray(0, linkMessages[1].offset + 40);
      expectMalformed(() => addon.parseLinks(cut));
      expectMalformed(() => addon.parseLinkBriefs(cut));
      expectMalformed(() => addon.parseMessages(cut));
      expectMalformed(() => addon.parseAddresses(replies.addresses.subarray(0, replies.addresses.length - 1)));
      expectMalformed(() => addon.parseRoutes(replies.routesMain.subarray(0, replies.routesMain.length - 6)));
    });

    it('throws EBADMSG on a buffer shorter than a netlink header', function () {
      expectMalformed(() => addon.parseLinks(replies.links.subarray(0, 10)));
    });

    it('throws EBADMSG on a message cut inside an attribute, even with nlmsg_len fixed up', function () {
      const afSpec = attributesOf(loMessage, NLMSG_HDRLEN + IFINFOMSG_LEN).find((a) => a.type === IFLA_AF_SPEC);
      const cut = cutMessage(loMessage, afSpec.offset + Math.floor(afSpec.len / 2));
      expectMalformed(() => addon.parseLinks(cut));
      expectMalformed(() => addon.parseLinkBriefs(cut));
      expectMalformed(() => addon.parseAttributes(cut.subarray(NLMSG_HDRLEN + IFINFOMSG_LEN)));
    });
  });

  describe('nlmsg_len', function () {
    it('throws EBADMSG when nlmsg_len is smaller than the 16-byte header', function () {
      for (const len of [0, 8, 15]) {
        const edited = Buffer.concat([withLength(loMessage, len), replies.links.subarray(loMessage.length)]);
        expectMalformed(() => addon.parseLinks(edited));
        expectMalformed(() => addon.parseMessages(edited));
      }
    });

    it('throws EBADMSG when nlmsg_len runs past the end of the buffer', function () {
      expectMalformed(() => addon.parseLinks(withLength(loMessage, loMessage.length + 4)));
      const last = linkMessages.at(-1);
      const edited = Buffer.from(replies.links);
      edited.writeUInt32LE(last.len + 1, last.offset);
      expectMalformed(() => addon.parseLinks(edited));
    });
  });

  describe('family headers', function () {
    const cases = [
      { what: 'ifinfomsg', parse: 'parseLinks', reply: replies.links, size: IFINFOMSG_LEN },
      { what: 'ifaddrmsg', parse: 'parseAddresses', reply: replies.addresses, size: IFADDRMSG_LEN },
      { what: 'rtmsg', parse: 'parseRoutes', reply: replies.routesMain, size: RTMSG_LEN },
    ];
    for (const { what, parse, reply, size } of cases) {
      it(`throws EBADMSG when the ${what} is shorter than its ${size} bytes`, function () {
        const short = cutMessage(firstMessage(reply), NLMSG_HDRLEN + size - 1);
        expectMalformed(() => addon[parse](short));
      });

      it(`accepts a message that is only a full ${what}, without attributes`, function () {
        const bare = cutMessage(firstMessage(reply), NLMSG_HDRLEN + size);
        expect(addon[parse](bare)).to.have.lengthOf(1);
      });
    }
  });

  describe('attribute lengths', function () {
    const attrs = attributesOf(loMessage, NLMSG_HDRLEN + IFINFOMSG_LEN);

    it('throws EBADMSG when an nla_len runs past its message, even if the buffer goes on', function () {
      const last = attrs.at(-1);
      const edited = Buffer.from(replies.links);
      edited.writeUInt16LE(loMessage.length - last.offset + 4, last.offset);
      expect(edited.length).to.be.greaterThan(loMessage.length + 4);
      expectMalformed(() => addon.parseLinks(edited));
    });

    it('throws EBADMSG when an nla_len is smaller than the attribute header', function () {
      const edited = Buffer.from(loMessage);
      edited.writeUInt16LE(2, attrs[1].offset);
      expectMalformed(() => addon.parseLinks(edited));
      expectMalformed(() => addon.parseAttributes(edited.subarray(NLMSG_HDRLEN + IFINFOMSG_LEN)));
    });

    it('throws EBADMSG when an attribute nested in IFLA_LINKINFO runs past its parent', function () {
      const br0 = linkMessages.find((m) => addon.parseLinks(m.bytes)[0].name === 'br0').bytes;
      const linkInfo = attributesOf(br0, NLMSG_HDRLEN + IFINFOMSG_LEN).find((a) => a.type === IFLA_LINKINFO);
      const edited = Buffer.from(br0);
      edited.writeUInt16LE(linkInfo.len, linkInfo.offset + 4); // the first nested attribute's nla_len
      expectMalformed(() => addon.parseLinks(edited));
    });

    it('reads the first 4 bytes of an IFLA_MTU that is 8 bytes long', function () {
      const payload = Buffer.concat([u32(1400), u32(0xffffffff)]);
      const edited = replaceAttribute(loMessage, IFINFOMSG_LEN, IFLA_MTU, attribute(IFLA_MTU, payload));
      expect(edited.length).to.equal(loMessage.length + 4);
      const [link] = addon.parseLinks(edited);
      expect(link).to.deep.equal({ ...addon.parseLinks(loMessage)[0], mtu: 1400 });
    });

    it('throws EBADMSG on an IFLA_MTU shorter than 4 bytes', function () {
      const edited = replaceAttribute(loMessage, IFINFOMSG_LEN, IFLA_MTU, attribute(IFLA_MTU, Buffer.from([0x10])));
      expectMalformed(() => addon.parseLinks(edited));
    });

    it('throws EBADMSG on a route whose RTA_DST is neither 4 nor 16 bytes', function () {
      const routeMessage = messagesOf(replies.routesMain).find((m) => attributesOf(m.bytes, NLMSG_HDRLEN + RTMSG_LEN).some((a) => a.type === RTA_DST)).bytes;
      const edited = replaceAttribute(routeMessage, RTMSG_LEN, RTA_DST, attribute(RTA_DST, Buffer.from([10, 10, 0])));
      expectMalformed(() => addon.parseRoutes(edited));
    });
  });

  describe('unknown attributes and other messages', function () {
    it('keeps a link that carries an unknown attribute, which parseAttributes returns with its data', function () {
      const data = Buffer.from('deadbeefcafe', 'hex');
      const edited = appendToMessage(loMessage, attribute(0x3ff0, data));
      expect(addon.parseLinks(edited)).to.deep.equal(addon.parseLinks(loMessage));
      const attrs = addon.parseAttributes(edited.subarray(NLMSG_HDRLEN + IFINFOMSG_LEN));
      expect(attrs).to.have.lengthOf(attributesOf(loMessage, NLMSG_HDRLEN + IFINFOMSG_LEN).length + 1);
      expect(attrs.at(-1).type).to.equal(0x3ff0);
      expect(attrs.at(-1).data.toString('hex')).to.equal('deadbeefcafe');
    });

    it('reports type 0x7ff0 as 0x3ff0: the NLA_F_NET_BYTEORDER bit (0x4000) is masked off like NLA_F_NESTED', function () {
      const edited = appendToMessage(loMessage, attribute(0x7ff0, u32(7)));
      expect(addon.parseLinks(edited)).to.deep.equal(addon.parseLinks(loMessage));
      const last = addon.parseAttributes(edited.subarray(NLMSG_HDRLEN + IFINFOMSG_LEN)).at(-1);
      expect(last.type).to.equal(0x7ff0 & ~NLA_F_NET_BYTEORDER);
      expect(last.data.readUInt32LE(0)).to.equal(7);
    });

    it('skips NLMSG_DONE and messages of other types', function () {
      const done = message(NLMSG_DONE, NLM_F_MULTI, u32(0));
      const address = firstMessage(replies.addresses);
      const mixed = Buffer.concat([address, replies.links, done]);
      expect(addon.parseLinks(mixed)).to.deep.equal(addon.parseLinks(replies.links));
      expect(addon.parseAddresses(mixed)).to.deep.equal(addon.parseAddresses(address));
      expect(addon.parseRoutes(mixed)).to.deep.equal([]);
      expect(addon.parseMessages(mixed).map((m) => m.type)).to.deep.equal([
        RTM_NEWADDR,
        ...linkMessages.map(() => RTM_NEWLINK),
        NLMSG_DONE,
      ]);
    });

    it('skips a message of another type even when its payload would not parse as that family', function () {
      const noop = message(NLMSG_NOOP, 0, Buffer.alloc(2));
      expect(addon.parseLinks(Buffer.concat([noop, loMessage]))).to.have.lengthOf(1);
    });

    it('returns [] for an empty buffer', function () {
      const empty = Buffer.alloc(0);
      expect(addon.parseLinks(empty)).to.deep.equal([]);
      expect(addon.parseAddresses(empty)).to.deep.equal([]);
      expect(addon.parseRoutes(empty)).to.deep.equal([]);
      expect(addon.parseMessages(empty)).to.deep.equal([]);
      expect(addon.parseAttributes(empty)).to.deep.equal([]);
    });

    it('refuses an argument that is not a Buffer', function () {
      expect(() => addon.parseLinks(replies.links.toString('hex'))).to.throw(TypeError);
    });
  });
});
