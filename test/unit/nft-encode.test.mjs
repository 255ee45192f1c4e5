// nf_tables set-element messages against golden bytes written from
// linux/netfilter/nf_tables.h and nfnetlink.h:
//
//   nfgenmsg 4 bytes: u8 family, u8 version, be16 res_id
//   type = NFNL_SUBSYS_NFTABLES (10) << 8 | NFT_MSG_NEWSETELEM (12) / DELSETELEM (14)
//   nested attributes carry NLA_F_NESTED (0x8000)
import { endianness } from 'node:os';

import { expect } from 'chai';

import { concat, encodeSetChange, field } from '../../dist/firewall/nftables/elements.js';
import { hex, words } from './bytes.mjs';

describe('nf_tables element encoder (golden bytes)', function () {
  before(function () {
    if (endianness() !== 'LE') this.skip();
  });

  const element = {
    key: concat(field.ipv4('0.0.0.0'), field.protocol('tcp'), field.port(8080)),
    data: concat(field.ipv4('10.89.0.2'), field.port(80)),
  };

  it('pads each field of a concatenation to 4 bytes', function () {
    expect(element.key.toString('hex')).to.equal('00000000' + '06000000' + '1f900000');
    expect(element.data.toString('hex')).to.equal('0a590002' + '00500000');
    expect(field.ifname('nsbr0').toString('hex')).to.equal('6e73627230' + '00'.repeat(11));
  });

  it('adds a map element exclusively: NEWSETELEM with table, set and one keyed value', function () {
    const golden = hex`
      58000000          # nlmsg_len 88
      0c0a              # nlmsg_type NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM
      0106              # nlmsg_flags NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL
      00000000          # nlmsg_seq
      00000000          # nlmsg_pid
      01 00 0000        # nfgenmsg: NFPROTO_INET, NFNETLINK_V0, res_id 0
      0a00 0100 6e736e6574000000          # NFTA_SET_ELEM_LIST_TABLE "nsnet"
      0b00 0200 706f727473340000          # NFTA_SET_ELEM_LIST_SET "ports4"
      2c00 0380                           # NFTA_SET_ELEM_LIST_ELEMENTS, nested, 44
      2800 0180                           #   NFTA_LIST_ELEM, nested, 40
      1400 0180                           #     NFTA_SET_ELEM_KEY, nested, 20
      1000 0100 00000000 06000000 1f900000 #       NFTA_DATA_VALUE 0.0.0.0 . tcp . 8080
      1000 0280                           #     NFTA_SET_ELEM_DATA, nested, 16
      0c00 0100 0a590002 00500000         #       NFTA_DATA_VALUE 10.89.0.2 . 80
    `;
    expect(golden.readUInt32LE(0)).to.equal(golden.length);
    expect(words(encodeSetChange('nsnet', { op: 'add', set: 'ports4', elements: [element], exclusive: true }))).to.equal(words(golden));
  });

  it('deletes set elements: DELSETELEM, keys only, no create flags', function () {
    const golden = hex`
      4c000000          # nlmsg_len 76
      0e0a              # nlmsg_type NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELSETELEM
      0100              # nlmsg_flags NLM_F_REQUEST
      00000000 00000000 # nlmsg_seq, nlmsg_pid
      01 00 0000        # nfgenmsg
      0a00 0100 6e736e6574000000          # NFTA_SET_ELEM_LIST_TABLE "nsnet"
      0c00 0200 6272696467657300          # NFTA_SET_ELEM_LIST_SET "bridges"
      2000 0380                           # NFTA_SET_ELEM_LIST_ELEMENTS, nested, 32
      1c00 0180                           #   NFTA_LIST_ELEM, nested, 28
      1800 0180                           #     NFTA_SET_ELEM_KEY, nested, 24
      1400 0100 6e73627230000000 0000000000000000 # NFTA_DATA_VALUE ifname "nsbr0"
    `;
    expect(golden.readUInt32LE(0)).to.equal(golden.length);
    expect(words(encodeSetChange('nsnet', { op: 'delete', set: 'bridges', elements: [{ key: field.ifname('nsbr0') }] }))).to.equal(words(golden));
  });

  it('refuses a message whose element list would outgrow netlink attribute lengths', function () {
    const many = Array.from({ length: 2000 }, () => element);
    expect(() => encodeSetChange('nsnet', { op: 'add', set: 'ports4', elements: many })).to.throw(RangeError, /65535/);
  });
});
