// The readers of qdisc and filter dumps, against messages built by hand from
// the kernel UAPI headers (see tc-encode.test.mjs for the layouts): what
// reconcile and CNI CHECK compare with an endpoint's record.
import { endianness } from 'node:os';

import { expect } from 'chai';

import { parseFilters, parseQdiscs } from '../../dist/rtnl/qdiscs.js';
import { attribute, message, u32 } from './bytes.mjs';

const RTM_NEWQDISC = 36;
const RTM_NEWTFILTER = 44;
const NLM_F_MULTI = 2;

function tcmsg(index, handle, parent, info = 0) {
  const header = Buffer.alloc(20);
  header.writeInt32LE(index, 4);
  header.writeUInt32LE(handle, 8);
  header.writeUInt32LE(parent, 12);
  header.writeUInt32LE(info, 16);
  return header;
}

const nested = (type, ...children) => attribute(type | 0x8000, Buffer.concat(children));
const kind = (name) => attribute(1, Buffer.from(`${name}\0`));

/** tc_tbf_qopt with rate.rate, limit and buffer set; `extra` bytes past the end, as a later kernel might add. */
function tbfQopt(rate, limit, buffer, extra = 0) {
  const qopt = Buffer.alloc(36 + extra);
  qopt.writeUInt8(1, 1); // linklayer ethernet
  qopt.writeUInt32LE(rate, 8);
  qopt.writeUInt32LE(limit, 24);
  qopt.writeUInt32LE(buffer, 28);
  return qopt;
}

function mirred(ifindex) {
  const parms = Buffer.alloc(28);
  parms.writeInt32LE(4, 8); // TC_ACT_STOLEN
  parms.writeInt32LE(1, 20); // TCA_EGRESS_REDIR
  parms.writeUInt32LE(ifindex, 24);
  return nested(1, kind('mirred'), nested(2, attribute(2, parms)));
}

describe('qdisc and filter dumps', function () {
  before(function () {
    if (endianness() !== 'LE') this.skip();
  });

  it('reads each qdisc: device, kind, handle, parent; a tbf with its rate, limit and buffer', function () {
    const replies = Buffer.concat([
      message(RTM_NEWQDISC, NLM_F_MULTI, Buffer.concat([tcmsg(1, 0, 0xffffffff), kind('noqueue'), nested(2)])),
      // A longer tc_tbf_qopt and an unknown attribute are taken as they come.
      message(RTM_NEWQDISC, NLM_F_MULTI, Buffer.concat([tcmsg(5, 0x10000, 0xffffffff), kind('tbf'), nested(2, attribute(1, tbfQopt(1250000, 47634, 204800, 8)), attribute(99, u32(7))), attribute(7, Buffer.alloc(40))])),
      message(RTM_NEWQDISC, NLM_F_MULTI, Buffer.concat([tcmsg(5, 0xffff0000, 0xfffffff1), kind('ingress'), nested(2)])),
      message(3, NLM_F_MULTI, u32(0)), // NLMSG_DONE
    ]);
    expect(parseQdiscs(replies)).to.deep.equal([
      { index: 1, kind: 'noqueue', handle: 0, parent: 0xffffffff },
      { index: 5, kind: 'tbf', handle: 0x10000, parent: 0xffffffff, tbf: { rate: 1250000, limit: 47634, buffer: 204800 } },
      { index: 5, kind: 'ingress', handle: 0xffff0000, parent: 0xfffffff1 },
    ]);
  });

  it('takes a rate of 2^32 bytes/s or more from TCA_TBF_RATE64, and reads no tbf from a short tc_tbf_qopt', function () {
    const rate64 = Buffer.alloc(8);
    rate64.writeBigUInt64LE(12_500_000_000_000n);
    const fast = message(RTM_NEWQDISC, 0, Buffer.concat([tcmsg(9, 0x10000, 0xffffffff), kind('tbf'), nested(2, attribute(1, tbfQopt(0xffffffff, 1, 2)), attribute(4, rate64))]));
    expect(parseQdiscs(fast)[0].tbf.rate).to.equal(12.5e12);
    const short = message(RTM_NEWQDISC, 0, Buffer.concat([tcmsg(9, 0x10000, 0xffffffff), kind('tbf'), nested(2, attribute(1, Buffer.alloc(20)))]));
    expect(parseQdiscs(short)[0]).to.not.have.property('tbf');
  });

  it("reads the device a u32 filter's mirred action redirects to; u32's hash tables have none", function () {
    const replies = Buffer.concat([
      message(RTM_NEWTFILTER, NLM_F_MULTI, Buffer.concat([tcmsg(5, 0, 0xffff0000, 0x10003), kind('u32')])),
      message(RTM_NEWTFILTER, NLM_F_MULTI, Buffer.concat([tcmsg(5, 0x80000800, 0xffff0000, 0x10003), kind('u32'), nested(2, attribute(5, Buffer.alloc(32)), nested(7, mirred(9)))])),
    ]);
    expect(parseFilters(replies)).to.deep.equal([
      { kind: 'u32', parent: 0xffff0000 },
      { kind: 'u32', parent: 0xffff0000, redirect: 9 },
    ]);
  });

  it('refuses a malformed dump with an error, not a crash', function () {
    const good = message(RTM_NEWQDISC, 0, Buffer.concat([tcmsg(5, 0x10000, 0xffffffff), kind('tbf')]));
    const truncated = good.subarray(0, good.length - 3);
    expect(() => parseQdiscs(truncated)).to.throw();
    const badAttribute = Buffer.from(good);
    badAttribute.writeUInt16LE(200, 36); // TCA_KIND's length past the message
    expect(() => parseQdiscs(badAttribute)).to.throw();
  });
});
