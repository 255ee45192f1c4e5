// The rtnetlink encoders against golden bytes written by hand from the kernel
// UAPI headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, veth.h):
//
//   nlmsghdr  16 bytes: u32 len, u16 type, u16 flags, u32 seq, u32 pid
//   ifinfomsg 16 bytes: u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change
//   ifaddrmsg  8 bytes: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index
//   rtmsg     12 bytes: u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags
//   nlattr     4 bytes: u16 len (header + payload, unpadded), u16 type; payload padded to 4
//
// Netlink is in host byte order; these bytes are little-endian. The encoder
// leaves seq at 0 and NLM_F_ACK clear: the socket layer fills in the sequence
// number and asks for the ACK when it sends the request.
import { endianness } from 'node:os';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { attributesOf, hex, NLMSG_HDRLEN, words } from './bytes.mjs';

const addon = native();

function expectBytes(actual, golden) {
  // The hand-written bytes must at least agree with their own length field.
  expect(golden.readUInt32LE(0), 'golden nlmsg_len').to.equal(golden.length);
  expect(Buffer.isBuffer(actual), 'the encoder returns a Buffer').to.equal(true);
  expect(words(actual)).to.equal(words(golden));
}

describe('rtnetlink encoders (golden bytes)', function () {
  before(function () {
    if (endianness() !== 'LE') this.skip();
  });

  describe('links', function () {
    it('deletes a link by index: RTM_DELLINK with ifi_index and no attribute', function () {
      const golden = hex`
        20000000          # nlmsg_len 32
        1100              # nlmsg_type RTM_DELLINK (17)
        0100              # nlmsg_flags NLM_F_REQUEST
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00                # ifi_family AF_UNSPEC
        00                # __ifi_pad
        0000              # ifi_type
        07000000          # ifi_index 7
        00000000          # ifi_flags
        00000000          # ifi_change
      `;
      expectBytes(addon.encodeLinkDelete(7, ''), golden);
    });

    it('gets a link by name: RTM_GETLINK with IFLA_IFNAME and IFLA_EXT_MASK', function () {
      const golden = hex`
        34000000          # nlmsg_len 52
        1200              # nlmsg_type RTM_GETLINK (18)
        0100              # nlmsg_flags NLM_F_REQUEST
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 0000        # ifi_family AF_UNSPEC, pad, ifi_type
        00000000          # ifi_index 0: find the link by name
        00000000          # ifi_flags
        00000000          # ifi_change
        0900 0300 6574683000 000000   # IFLA_IFNAME (3) len 9 "eth0" NUL + 3 bytes padding
        0800 1d00 08000000            # IFLA_EXT_MASK (29) RTEXT_FILTER_SKIP_STATS (1 << 3)
      `;
      expectBytes(addon.encodeLinkGet(0, 'eth0'), golden);
    });

    it('creates a veth with mtu, mac, master and up, its peer named and put in another namespace', function () {
      const golden = hex`
        84000000          # nlmsg_len 132
        1000              # nlmsg_type RTM_NEWLINK (16)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE (0x601)
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 0000        # ifi_family AF_UNSPEC, pad, ifi_type
        00000000          # ifi_index 0
        01000000          # ifi_flags IFF_UP
        01000000          # ifi_change IFF_UP
        0a00 0300 766574683000 0000   # IFLA_IFNAME (3) len 10 "veth0" NUL + 2 bytes padding
        0800 0400 78050000            # IFLA_MTU (4) 1400
        0a00 0100 0242ac110002 0000   # IFLA_ADDRESS (1) len 10 02:42:ac:11:00:02 + 2 bytes padding
        0800 0a00 05000000            # IFLA_MASTER (10) 5
        3c00 1280                     # IFLA_LINKINFO (18 | NLA_F_NESTED) len 60
        0900 0100 7665746800 000000   #   IFLA_INFO_KIND (1) len 9 "veth" NUL + 3 bytes padding
        2c00 0280                     #   IFLA_INFO_DATA (2 | NLA_F_NESTED) len 44
        2800 0180                     #     VETH_INFO_PEER (1 | NLA_F_NESTED) len 40
        00 00 0000                    #       peer ifinfomsg: family, pad, type
        00000000                      #       peer ifi_index
        00000000                      #       peer ifi_flags
        00000000                      #       peer ifi_change
        0900 0300 6574683000 000000   #       IFLA_IFNAME (3) len 9 "eth0" NUL + 3 bytes padding
        0800 1c00 09000000            #       IFLA_NET_NS_FD (28) fd 9
      `;
      const spec = {
        kind: 'veth',
        name: 'veth0',
        mtu: 1400,
        mac: '02:42:ac:11:00:02',
        master: 5,
        up: true,
        peer: { name: 'eth0', netnsFd: 9 },
      };
      expectBytes(addon.encodeLinkCreate(spec), golden);
    });

    it('creates a bridge: IFLA_IFNAME then IFLA_LINKINFO with only IFLA_INFO_KIND', function () {
      const golden = hex`
        38000000          # nlmsg_len 56
        1000              # nlmsg_type RTM_NEWLINK (16)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 0000        # ifi_family AF_UNSPEC, pad, ifi_type
        00000000          # ifi_index 0
        00000000          # ifi_flags: up not asked for
        00000000          # ifi_change: leave IFF_UP alone
        0800 0300 62723000            # IFLA_IFNAME (3) len 8 "br0" NUL
        1000 1280                     # IFLA_LINKINFO (18 | NLA_F_NESTED) len 16
        0b00 0100 62726964676500 00   #   IFLA_INFO_KIND (1) len 11 "bridge" NUL + 1 byte padding
      `;
      expectBytes(addon.encodeLinkCreate({ kind: 'bridge', name: 'br0' }), golden);
    });

    it('creates a VXLAN device without learning, as a proxy: IFLA_VXLAN_LEARNING 0 and IFLA_VXLAN_PROXY 1 as u8', function () {
      const golden = hex`
        64000000          # nlmsg_len 100
        1000              # nlmsg_type RTM_NEWLINK (16)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 0000        # ifi_family AF_UNSPEC, pad, ifi_type
        00000000          # ifi_index 0
        00000000          # ifi_flags
        00000000          # ifi_change
        0800 0300 76783000            # IFLA_IFNAME (3) len 8 "vx0" NUL
        3c00 1280                     # IFLA_LINKINFO (18 | NLA_F_NESTED) len 60
        0a00 0100 76786c616e00 0000   #   IFLA_INFO_KIND (1) len 10 "vxlan" NUL + 2 bytes padding
        2c00 0280                     #   IFLA_INFO_DATA (2 | NLA_F_NESTED) len 44
        0800 0100 2a000000            #     IFLA_VXLAN_ID (1) 42
        0600 0f00 12b5 0000           #     IFLA_VXLAN_PORT (15) 4789, network byte order, + 2 bytes padding
        0800 0400 0a000001            #     IFLA_VXLAN_LOCAL (4) 10.0.0.1
        0500 0700 00 000000           #     IFLA_VXLAN_LEARNING (7) 0 + 3 bytes padding
        0500 0b00 01 000000           #     IFLA_VXLAN_PROXY (11) 1 + 3 bytes padding
      `;
      const spec = { kind: 'vxlan', name: 'vx0', vxlanId: 42, vxlanPort: 4789, vxlanLocal: '10.0.0.1', vxlanLearning: false, vxlanProxy: true };
      expectBytes(addon.encodeLinkCreate(spec), golden);
    });

    it('leaves bridge-port attributes out of a creation: one IFLA_LINKINFO, the kind\'s', function () {
      // The kernel applies IFLA_INFO_SLAVE_DATA only to an existing port, and
      // of two IFLA_LINKINFO it keeps the last. A change carries them.
      const plain = addon.encodeLinkCreate({ kind: 'bridge', name: 'br0' });
      expect(words(addon.encodeLinkCreate({ kind: 'bridge', name: 'br0', hairpin: true }))).to.equal(words(plain));
      const IFLA_LINKINFO = 18;
      const change = addon.encodeLinkChange(7, { hairpin: true });
      const types = attributesOf(change, NLMSG_HDRLEN + 16).map((attr) => attr.type);
      expect(types).to.deep.equal([IFLA_LINKINFO]);
    });

    it('changes a link: down via ifi_change, new mtu, released from its master (IFLA_MASTER 0)', function () {
      const golden = hex`
        30000000          # nlmsg_len 48
        1000              # nlmsg_type RTM_NEWLINK (16)
        0100              # nlmsg_flags NLM_F_REQUEST, no CREATE: changes an existing link
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 0000        # ifi_family AF_UNSPEC, pad, ifi_type
        07000000          # ifi_index 7
        00000000          # ifi_flags: IFF_UP clear
        01000000          # ifi_change IFF_UP: the up bit is what changes
        0800 0400 28230000            # IFLA_MTU (4) 9000
        0800 0a00 00000000            # IFLA_MASTER (10) 0: no master
      `;
      expectBytes(addon.encodeLinkChange(7, { mtu: 9000, master: 0, up: false }), golden);
    });

    it('dumps links of one kind: NLM_F_DUMP with an IFLA_LINKINFO/IFLA_INFO_KIND filter', function () {
      const golden = hex`
        38000000          # nlmsg_len 56
        1200              # nlmsg_type RTM_GETLINK (18)
        0103              # nlmsg_flags NLM_F_REQUEST | NLM_F_DUMP (0x301)
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 0000        # ifi_family AF_UNSPEC, pad, ifi_type
        00000000          # ifi_index
        00000000          # ifi_flags
        00000000          # ifi_change
        0800 1d00 08000000            # IFLA_EXT_MASK (29) RTEXT_FILTER_SKIP_STATS
        1000 1280                     # IFLA_LINKINFO (18 | NLA_F_NESTED) len 16
        0900 0100 7665746800 000000   #   IFLA_INFO_KIND (1) len 9 "veth" NUL + 3 bytes padding
      `;
      expectBytes(addon.encodeLinkDump({ kind: 'veth' }), golden);
    });
  });

  describe('addresses', function () {
    it('adds an IPv4 /24: ifaddrmsg then IFA_LOCAL and IFA_ADDRESS', function () {
      const golden = hex`
        28000000          # nlmsg_len 40
        1400              # nlmsg_type RTM_NEWADDR (20)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        02                # ifa_family AF_INET
        18                # ifa_prefixlen 24
        00                # ifa_flags
        00                # ifa_scope RT_SCOPE_UNIVERSE
        07000000          # ifa_index 7
        0800 0200 0a000002            # IFA_LOCAL (2) 10.0.0.2
        0800 0100 0a000002            # IFA_ADDRESS (1) 10.0.0.2
      `;
      expectBytes(addon.encodeAddress(true, { index: 7, address: '10.0.0.2', prefixLength: 24 }), golden);
    });

    it('adds an IPv6 /64 without DAD: IFA_F_NODAD in ifa_flags and in IFA_FLAGS', function () {
      const golden = hex`
        48000000          # nlmsg_len 72
        1400              # nlmsg_type RTM_NEWADDR (20)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        0a                # ifa_family AF_INET6
        40                # ifa_prefixlen 64
        02                # ifa_flags IFA_F_NODAD
        00                # ifa_scope RT_SCOPE_UNIVERSE
        07000000          # ifa_index 7
        1400 0200 fd000000000000000000000000000002   # IFA_LOCAL (2) len 20 fd00::2
        1400 0100 fd000000000000000000000000000002   # IFA_ADDRESS (1) len 20 fd00::2
        0800 0800 02000000                           # IFA_FLAGS (8) IFA_F_NODAD
      `;
      const spec = { index: 7, address: 'fd00::2', prefixLength: 64, noDad: true };
      expectBytes(addon.encodeAddress(true, spec), golden);
    });

    it('deletes an address with NLM_F_REQUEST only', function () {
      const golden = hex`
        28000000          # nlmsg_len 40
        1500              # nlmsg_type RTM_DELADDR (21)
        0100              # nlmsg_flags NLM_F_REQUEST
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        02 18 00 00       # ifa_family AF_INET, ifa_prefixlen 24, ifa_flags, ifa_scope
        07000000          # ifa_index 7
        0800 0200 0a000002            # IFA_LOCAL (2) 10.0.0.2
        0800 0100 0a000002            # IFA_ADDRESS (1) 10.0.0.2
      `;
      expectBytes(addon.encodeAddress(false, { index: 7, address: '10.0.0.2', prefixLength: 24 }), golden);
    });

    it('dumps the IPv6 addresses of one link: family and index in ifaddrmsg', function () {
      const golden = hex`
        18000000          # nlmsg_len 24
        1600              # nlmsg_type RTM_GETADDR (22)
        0103              # nlmsg_flags NLM_F_REQUEST | NLM_F_DUMP
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        0a 00 00 00       # ifa_family AF_INET6, prefixlen, flags, scope
        07000000          # ifa_index 7
      `;
      expectBytes(addon.encodeAddressDump(10, 7), golden);
    });
  });

  describe('routes', function () {
    it('adds a default IPv4 route via a gateway in the main table', function () {
      const golden = hex`
        2c000000          # nlmsg_len 44
        1800              # nlmsg_type RTM_NEWROUTE (24)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        02                # rtm_family AF_INET
        00                # rtm_dst_len 0: default
        00                # rtm_src_len
        00                # rtm_tos
        fe                # rtm_table RT_TABLE_MAIN (254)
        04                # rtm_protocol RTPROT_STATIC
        00                # rtm_scope RT_SCOPE_UNIVERSE
        01                # rtm_type RTN_UNICAST
        00000000          # rtm_flags
        0800 0f00 fe000000            # RTA_TABLE (15) 254
        0800 0500 0a000001            # RTA_GATEWAY (5) 10.0.0.1
      `;
      expectBytes(addon.encodeRoute('add', { family: 2, gateway: '10.0.0.1' }), golden);
    });

    it('replaces a link-scope route in table 100 with dst, dev and metric', function () {
      const golden = hex`
        3c000000          # nlmsg_len 60
        1800              # nlmsg_type RTM_NEWROUTE (24)
        0105              # nlmsg_flags NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_CREATE (0x501)
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        02                # rtm_family AF_INET
        10                # rtm_dst_len 16
        00                # rtm_src_len
        00                # rtm_tos
        64                # rtm_table 100
        04                # rtm_protocol RTPROT_STATIC
        fd                # rtm_scope RT_SCOPE_LINK (253)
        01                # rtm_type RTN_UNICAST
        00000000          # rtm_flags
        0800 0f00 64000000            # RTA_TABLE (15) 100
        0800 0100 0a140000            # RTA_DST (1) 10.20.0.0
        0800 0400 07000000            # RTA_OIF (4) 7
        0800 0600 32000000            # RTA_PRIORITY (6) metric 50
      `;
      const spec = { family: 2, dst: '10.20.0.0', dstLength: 16, oif: 7, metric: 50, table: 100, scope: 253 };
      expectBytes(addon.encodeRoute('replace', spec), golden);
    });

    it('puts a table id above 255 only in RTA_TABLE (rtm_table RT_TABLE_UNSPEC)', function () {
      const golden = hex`
        38000000          # nlmsg_len 56
        1800              # nlmsg_type RTM_NEWROUTE (24)
        0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        0a 40 00 00       # rtm_family AF_INET6, rtm_dst_len 64, src_len, tos
        00                # rtm_table RT_TABLE_UNSPEC: the id does not fit in a byte
        04 00 01          # rtm_protocol RTPROT_STATIC, rtm_scope RT_SCOPE_UNIVERSE, rtm_type RTN_UNICAST
        00000000          # rtm_flags
        0800 0f00 e8030000                           # RTA_TABLE (15) 1000
        1400 0100 fd000000000000010000000000000000   # RTA_DST (1) len 20 fd00:0:0:1::
      `;
      const spec = { family: 10, dst: 'fd00:0:0:1::', dstLength: 64, table: 1000 };
      expectBytes(addon.encodeRoute('add', spec), golden);
    });

    it('deletes a route: no protocol or type, scope RT_SCOPE_NOWHERE, so any of them matches', function () {
      const golden = hex`
        2c000000          # nlmsg_len 44
        1900              # nlmsg_type RTM_DELROUTE (25)
        0100              # nlmsg_flags NLM_F_REQUEST
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        02                # rtm_family AF_INET
        10                # rtm_dst_len 16
        00                # rtm_src_len
        00                # rtm_tos
        fe                # rtm_table RT_TABLE_MAIN
        00                # rtm_protocol RTPROT_UNSPEC
        ff                # rtm_scope RT_SCOPE_NOWHERE
        00                # rtm_type RTN_UNSPEC
        00000000          # rtm_flags
        0800 0f00 fe000000            # RTA_TABLE (15) 254
        0800 0100 0a140000            # RTA_DST (1) 10.20.0.0
      `;
      expectBytes(addon.encodeRoute('delete', { family: 2, dst: '10.20.0.0', dstLength: 16 }), golden);
    });

    it('dumps the main table: rtm_table and RTA_TABLE both set', function () {
      const golden = hex`
        24000000          # nlmsg_len 36
        1a00              # nlmsg_type RTM_GETROUTE (26)
        0103              # nlmsg_flags NLM_F_REQUEST | NLM_F_DUMP
        00000000          # nlmsg_seq
        00000000          # nlmsg_pid
        00 00 00 00       # rtm_family AF_UNSPEC, dst_len, src_len, tos
        fe 00 00 00       # rtm_table RT_TABLE_MAIN, protocol, scope, type
        00000000          # rtm_flags
        0800 0f00 fe000000            # RTA_TABLE (15) 254
      `;
      expectBytes(addon.encodeRouteDump({ table: 254 }), golden);
    });

    it('refuses an unknown route operation', function () {
      expect(() => addon.encodeRoute('change', { family: 2 })).to.throw(TypeError, /unknown route operation/);
    });
  });
});
