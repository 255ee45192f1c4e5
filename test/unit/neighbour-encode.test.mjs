// The neighbour encoders against golden bytes written by hand from the kernel
// UAPI headers (linux/netlink.h, rtnetlink.h, neighbour.h):
//
//   nlmsghdr  16 bytes: u32 len, u16 type, u16 flags, u32 seq, u32 pid
//   ndmsg     12 bytes: u8 family, u8 pad1, u16 pad2, s32 ifindex, u16 state, u8 flags, u8 type
//   nlattr     4 bytes: u16 len (header + payload, unpadded), u16 type; payload padded to 4
//
// RTM_NEWNEIGH 28, RTM_DELNEIGH 29, RTM_GETNEIGH 30; NDA_DST 1, NDA_LLADDR 2,
// NDA_VLAN 5, NDA_IFINDEX 8; NUD_PERMANENT 0x80; NTF_SELF 0x02; NLM_F_REQUEST 0x1,
// NLM_F_REPLACE 0x100, NLM_F_EXCL 0x200, NLM_F_DUMP 0x300, NLM_F_CREATE 0x400, NLM_F_APPEND 0x800.
// Little-endian, as in encode.test.mjs.
import { endianness } from 'node:os';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { hex, words } from './bytes.mjs';

const addon = native();

function expectBytes(actual, golden) {
  expect(golden.readUInt32LE(0), 'golden nlmsg_len').to.equal(golden.length);
  expect(words(actual)).to.equal(words(golden));
}

describe('neighbour encoders (golden bytes)', function () {
  before(function () {
    if (endianness() !== 'LE') this.skip();
  });

  const arp = { family: 2, index: 3, state: 0x80, flags: 0, dst: '10.0.0.9', lladdr: '02:00:00:00:00:09' };

  it('adds a permanent ARP entry: RTM_NEWNEIGH, create and exclusive, NDA_DST and NDA_LLADDR', function () {
    const golden = hex`
      30000000          # nlmsg_len 48
      1c00              # nlmsg_type RTM_NEWNEIGH (28)
      0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE (0x601)
      00000000 00000000 # nlmsg_seq, nlmsg_pid
      02 00 0000        # ndm_family AF_INET, pad1, pad2
      03000000          # ndm_ifindex 3
      8000              # ndm_state NUD_PERMANENT
      00 00             # ndm_flags, ndm_type
      0800 0100 0a000009            # NDA_DST (1) 10.0.0.9
      0a00 0200 020000000009 0000   # NDA_LLADDR (2) len 10 + 2 bytes padding
    `;
    expectBytes(addon.encodeNeighbour('add', arp), golden);
  });

  it('replaces one: create and replace, not exclusive', function () {
    const bytes = addon.encodeNeighbour('replace', arp);
    expect(bytes.readUInt16LE(6)).to.equal(0x0501);
    expect(words(bytes.subarray(8))).to.equal(words(addon.encodeNeighbour('add', arp).subarray(8)));
  });

  it("appends a VXLAN device's remote: AF_BRIDGE, NTF_SELF, NLM_F_APPEND, dst and vlan", function () {
    const golden = hex`
      38000000          # nlmsg_len 56
      1c00              # RTM_NEWNEIGH
      010c              # NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND (0xc01)
      00000000 00000000
      07 00 0000        # ndm_family AF_BRIDGE
      05000000          # ndm_ifindex 5
      8000              # NUD_PERMANENT
      02 00             # ndm_flags NTF_SELF
      0800 0100 0a000002            # NDA_DST 10.0.0.2
      0a00 0200 000000000000 0000   # NDA_LLADDR 00:00:00:00:00:00
      0600 0500 0a00 0000           # NDA_VLAN (5) 10, u16 + 2 bytes padding
    `;
    expectBytes(
      addon.encodeNeighbour('append', { family: 7, index: 5, state: 0x80, flags: 2, dst: '10.0.0.2', lladdr: '00:00:00:00:00:00', vlan: 10 }),
      golden,
    );
  });

  it('deletes an NDP entry: RTM_DELNEIGH with no state, whatever was given', function () {
    const golden = hex`
      30000000          # nlmsg_len 48
      1d00              # RTM_DELNEIGH (29)
      0100              # NLM_F_REQUEST
      00000000 00000000
      0a 00 0000        # AF_INET6
      04000000          # ndm_ifindex 4
      0000              # ndm_state 0
      00 00
      1400 0100 fd000000000000000000000000000009   # NDA_DST (1) len 20: fd00::9
    `;
    expectBytes(addon.encodeNeighbour('delete', { family: 10, index: 4, state: 0x80, flags: 0, dst: 'fd00::9' }), golden);
  });

  it('dumps one family, of one link by NDA_IFINDEX (strict checking filters by it)', function () {
    const golden = hex`
      24000000          # nlmsg_len 36
      1e00              # RTM_GETNEIGH (30)
      0103              # NLM_F_REQUEST | NLM_F_DUMP (0x301)
      00000000 00000000
      07 00 0000 00000000 0000 00 00   # ndmsg: AF_BRIDGE, the rest 0
      0800 0800 05000000               # NDA_IFINDEX (8) 5
    `;
    expectBytes(addon.encodeNeighbourDump(7, 5), golden);
    expect(addon.encodeNeighbourDump(0, 0).readUInt32LE(0), 'no link: no attribute').to.equal(28);
  });

  it('refuses an operation or an address it does not know', function () {
    expect(() => addon.encodeNeighbour('flush', arp)).to.throw(TypeError, /unknown neighbour operation/);
    expect(() => addon.encodeNeighbour('add', { ...arp, dst: '10.0.0.300' })).to.throw(TypeError, /invalid IP address/);
    expect(() => addon.encodeNeighbour('add', { ...arp, lladdr: '02:00:zz:00:00:09' })).to.throw(TypeError, /invalid MAC address/);
  });
});
