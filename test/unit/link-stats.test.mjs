// Link counters (IFLA_STATS64) read by parseLinks(replies, true), on a dump
// captured from a real kernel after traffic (test/fixtures/README.md) and
// checked against what `ip -j -s link` listed at the same time; then the
// same dump edited for counters past 32 bits, a cut struct and a longer one.
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { align4, attribute, attributesOf, fromHexText, messagesOf, NLMSG_HDRLEN } from './bytes.mjs';

const addon = native();
const fixture = (name) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
const dump = fromHexText(fixture('links-stats.hex'));
const ipLinks = JSON.parse(fixture('ip-link-stats.json'));

const IFINFOMSG_LEN = 16;
const IFLA_IFNAME = 3;
const IFLA_STATS64 = 23;
const OLDEST_STATS_LEN = 23 * 8; // struct rtnl_link_stats64 up to tx_compressed
const RX_BYTES_OFFSET = 16;
const TX_BYTES_OFFSET = 24;

/** The message of the link named `name`, and its IFLA_STATS64 attribute (offsets into the message). */
function linkMessage(name) {
  for (const { bytes } of messagesOf(dump)) {
    const attrs = attributesOf(bytes, NLMSG_HDRLEN + IFINFOMSG_LEN);
    const ifname = attrs.find((a) => a.type === IFLA_IFNAME);
    if (bytes.toString('latin1', ifname.offset + 4, ifname.offset + ifname.len - 1) !== name) continue;
    return { bytes, stats: attrs.find((a) => a.type === IFLA_STATS64) };
  }
  throw new Error(`no link ${name} in the fixture`);
}

/** The message with its IFLA_STATS64 payload replaced by `payload`, nlmsg_len made to agree. */
function withStatsPayload({ bytes, stats }, payload) {
  const edited = Buffer.concat([bytes.subarray(0, stats.offset), attribute(IFLA_STATS64, payload), bytes.subarray(stats.offset + align4(stats.len))]);
  edited.writeUInt32LE(edited.length, 0);
  return edited;
}

const statsPayload = ({ bytes, stats }) => Buffer.from(bytes.subarray(stats.offset + 4, stats.offset + stats.len));

describe('link counters (IFLA_STATS64)', () => {
  it('reads what ip -s lists for the same links, traffic included', () => {
    const links = addon.parseLinks(dump, true);
    expect(links.map((l) => l.name)).to.deep.equal(ipLinks.map((l) => l.ifname));
    for (const link of links) {
      const { rx, tx } = ipLinks.find((l) => l.ifname === link.name).stats64;
      expect(link.stats, link.name).to.deep.equal({
        rxBytes: rx.bytes,
        txBytes: tx.bytes,
        rxPackets: rx.packets,
        txPackets: tx.packets,
        rxErrors: rx.errors,
        txErrors: tx.errors,
        rxDropped: rx.dropped,
        txDropped: tx.dropped,
        multicast: rx.multicast,
      });
    }
    // The capture sent 300 kB through v0: a check that could not pass on zeros.
    expect(links.find((l) => l.name === 'v0').stats.txBytes).to.be.above(300000);
  });

  it('leaves them out unless asked, though the kernel sends them in every reply', () => {
    const plain = addon.parseLinks(dump);
    const counted = addon.parseLinks(dump, true);
    expect(plain.some((l) => 'stats' in l)).to.equal(false);
    expect(plain).to.deep.equal(counted.map(({ stats: _stats, ...rest }) => rest));
  });

  it('keeps counters past 32 bits exact, up to 2^53', () => {
    const v0 = linkMessage('v0');
    const payload = statsPayload(v0);
    payload.writeBigUInt64LE(2n ** 40n + 7n, RX_BYTES_OFFSET);
    payload.writeBigUInt64LE(2n ** 53n - 1n, TX_BYTES_OFFSET);
    const [link] = addon.parseLinks(withStatsPayload(v0, payload), true);
    expect(link.stats.rxBytes).to.equal(2 ** 40 + 7);
    expect(link.stats.txBytes).to.equal(Number.MAX_SAFE_INTEGER);
  });

  it('refuses a struct cut shorter than any kernel sends, only when reading it', () => {
    const v0 = linkMessage('v0');
    const cut = withStatsPayload(v0, statsPayload(v0).subarray(0, OLDEST_STATS_LEN - 1));
    expect(() => addon.parseLinks(cut, true)).to.throw(Error).with.property('code', 'EBADMSG');
    expect(addon.parseLinks(cut)[0].name).to.equal('v0');
  });

  it("accepts the oldest kernels' struct and a longer one from a newer kernel", () => {
    const v0 = linkMessage('v0');
    const [expected] = addon.parseLinks(v0.bytes, true);
    const oldest = withStatsPayload(v0, statsPayload(v0).subarray(0, OLDEST_STATS_LEN));
    const longer = withStatsPayload(v0, Buffer.concat([statsPayload(v0), Buffer.alloc(16, 0xff)]));
    expect(addon.parseLinks(oldest, true)[0].stats).to.deep.equal(expected.stats);
    expect(addon.parseLinks(longer, true)[0].stats).to.deep.equal(expected.stats);
  });
});
