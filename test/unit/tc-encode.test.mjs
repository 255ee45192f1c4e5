// The traffic-control encoders against golden bytes written by hand from the
// kernel UAPI headers (linux/rtnetlink.h, pkt_sched.h, pkt_cls.h,
// tc_act/tc_mirred.h, gen_stats.h):
//
//   nlmsghdr    16 bytes: u32 len, u16 type, u16 flags, u32 seq, u32 pid
//   tcmsg       20 bytes: u8 family, u8 pad, u16 pad, s32 ifindex, u32 handle, u32 parent, u32 info
//   tc_ratespec 12 bytes: u8 cell_log, u8 linklayer, u16 overhead, s16 cell_align, u16 mpu, u32 rate
//   tc_tbf_qopt 36 bytes: tc_ratespec rate, peakrate; u32 limit, buffer, mtu
//   tc_u32_sel  16 bytes: u8 flags, offshift, nkeys, pad; be16 offmask; u16 off; s16 offoff, hoff; be32 hmask
//   tc_u32_key  16 bytes: be32 mask, val; s32 off, offmask
//   tc_mirred   28 bytes: u32 index, capab; s32 action, refcnt, bindcnt; s32 eaction; u32 ifindex
//   nlattr       4 bytes: u16 len, u16 type (NLA_F_NESTED 0x8000 on nests); payload padded to 4
import { endianness } from 'node:os';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { attributesOf, hex, words } from './bytes.mjs';

const addon = native();

function expectBytes(actual, golden) {
  expect(golden.readUInt32LE(0), 'golden nlmsg_len').to.equal(golden.length);
  expect(words(actual)).to.equal(words(golden));
}

describe('traffic-control encoders (golden bytes)', function () {
  before(function () {
    if (endianness() !== 'LE') this.skip();
  });

  it('adds a tbf as the root qdisc: RTM_NEWQDISC, handle 1:, TCA_TBF_PARMS and TCA_TBF_BURST, no rate table', function () {
    const golden = hex`
      60000000          # nlmsg_len 96
      2400              # RTM_NEWQDISC (36)
      0106              # NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE
      00000000 00000000 # seq, pid
      00 00 0000        # tcm_family AF_UNSPEC, pads
      05000000          # tcm_ifindex 5
      00000100          # tcm_handle 1:0 (0x00010000)
      ffffffff          # tcm_parent TC_H_ROOT
      00000000          # tcm_info
      0800 0100 74626600            # TCA_KIND "tbf"
      3400 0280                     # TCA_OPTIONS (2 | NLA_F_NESTED) len 52
        2800 0100                   #   TCA_TBF_PARMS (1) len 40
          00 01 0000 0000 0000      #     rate: cell_log 0, linklayer ETHERNET (1), overhead, cell_align, mpu
          d0121300                  #     rate.rate 1250000 bytes/s (10 Mbit/s)
          000000000000000000000000  #     peakrate: none
          12ba0000                  #     limit 47634 (25 ms at the rate + the burst)
          00200300                  #     buffer 204800 ticks (16384 bytes at the rate, 64 ns ticks)
          00000000                  #     mtu
        0800 0600 00400000          #   TCA_TBF_BURST (6) 16384
    `;
    expectBytes(addon.encodeTbfQdisc({ index: 5, rate: 1250000, burst: 16384, limit: 47634, buffer: 204800 }), golden);
  });

  it('replaces a root qdisc with NLM_F_REPLACE instead of NLM_F_EXCL', function () {
    const message = addon.encodeTbfQdisc({ index: 5, rate: 1250000, burst: 16384, limit: 47634, buffer: 204800, replace: true });
    expect(message.readUInt16LE(6)).to.equal(0x0001 | 0x0100 | 0x0400); // REQUEST | REPLACE | CREATE
  });

  it('gives a rate of 2^32 bytes/s or more in TCA_TBF_RATE64, the 32-bit field saturated', function () {
    const message = addon.encodeTbfQdisc({ index: 5, rate: 2 ** 32, burst: 65536, limit: 65536, buffer: 0 });
    const options = attributesOf(message, 16 + 20).find((a) => a.type === 2);
    const inner = attributesOf(message.subarray(options.offset + 4, options.offset + options.len));
    const parms = inner.find((a) => a.type === 1);
    expect(message.readUInt32LE(options.offset + 4 + parms.offset + 4 + 8), 'rate.rate').to.equal(0xffffffff);
    const rate64 = inner.find((a) => a.type === 4);
    expect(rate64.len).to.equal(12);
    expect(message.readBigUInt64LE(options.offset + 4 + rate64.offset + 4)).to.equal(2n ** 32n);
  });

  it('adds the ingress qdisc: handle ffff:, parent TC_H_INGRESS, empty options', function () {
    const golden = hex`
      34000000          # nlmsg_len 52
      2400 0106         # RTM_NEWQDISC, REQUEST | EXCL | CREATE
      00000000 00000000
      00 00 0000
      05000000          # tcm_ifindex 5
      0000ffff          # tcm_handle ffff:0
      f1ffffff          # tcm_parent TC_H_INGRESS
      00000000
      0c00 0100 696e6772 65737300   # TCA_KIND "ingress"
      0400 0280                     # TCA_OPTIONS, empty
    `;
    expectBytes(addon.encodeIngressQdisc(5), golden);
  });

  it('redirects everything arriving on a device to another: u32 match u32 0 0, action mirred egress redirect', function () {
    const golden = hex`
      8c000000          # nlmsg_len 140
      2c00 0106         # RTM_NEWTFILTER (44), REQUEST | EXCL | CREATE
      00000000 00000000
      00 00 0000
      05000000          # tcm_ifindex 5
      00000000          # tcm_handle: the kernel picks one
      0000ffff          # tcm_parent ffff: (the ingress qdisc)
      00030100          # tcm_info: priority 1 << 16 | htons(ETH_P_ALL)
      0800 0100 75333200            # TCA_KIND "u32"
      6000 0280                     # TCA_OPTIONS len 96
        2400 0500                   #   TCA_U32_SEL (5) len 36
          01 00 01 00               #     flags TC_U32_TERMINAL, offshift, nkeys 1, pad
          0000 0000 0000 0000       #     offmask, off, offoff, hoff
          00000000                  #     hmask
          00000000 00000000 00000000 00000000  # key: mask 0, val 0, off 0, offmask 0
        3800 0780                   #   TCA_U32_ACT (7 | NESTED) len 56
          3400 0180                 #     action 1 len 52
            0b00 0100 6d697272 65640000   # TCA_ACT_KIND "mirred"
            2400 0280               #       TCA_ACT_OPTIONS len 36
              2000 0200             #         TCA_MIRRED_PARMS (2) len 32
                00000000 00000000   #           index, capab
                04000000            #           action TC_ACT_STOLEN
                00000000 00000000   #           refcnt, bindcnt
                01000000            #           eaction TCA_EGRESS_REDIR
                09000000            #           ifindex 9
    `;
    expectBytes(addon.encodeRedirectFilter(5, 9), golden);
  });

  it('deletes a qdisc by its parent: RTM_DELQDISC with no attribute', function () {
    const golden = hex`
      24000000 2500 0100 00000000 00000000   # RTM_DELQDISC (37), NLM_F_REQUEST
      00 00 0000 05000000 00000000 f1ffffff 00000000
    `;
    expectBytes(addon.encodeQdiscDelete(5, 0xfffffff1), golden);
  });

  it('dumps qdiscs, and the filters of one ingress qdisc', function () {
    expectBytes(addon.encodeQdiscDump(), hex`24000000 2600 0103 00000000 00000000 00000000 00000000 00000000 00000000 00000000`);
    expectBytes(addon.encodeIngressFilterDump(5), hex`24000000 2e00 0103 00000000 00000000 00000000 05000000 00000000 0000ffff 00000000`);
  });

  it('refuses numbers that are no whole numbers in range', function () {
    expect(() => addon.encodeIngressQdisc(-1)).to.throw(TypeError);
    expect(() => addon.encodeTbfQdisc({ index: 1, rate: 1.5, burst: 1, limit: 1, buffer: 1 })).to.throw(TypeError);
    expect(() => addon.encodeTbfQdisc({ index: 1, rate: 8, burst: 2 ** 32, limit: 1, buffer: 1 })).to.throw(TypeError);
  });
});
