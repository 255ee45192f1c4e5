// The resolver's bounds: queries it drops without an answer, and answers too
// large for UDP, truncated with the TC bit.
import { expect } from 'chai';
import * as dnsPacket from 'dns-packet';

import { Answerer } from '../../dist/dns/answer.js';
import { answerLimit, fitted, readQuery } from '../../dist/dns/bounds.js';
import { NameTable } from '../../dist/dns/names.js';

const network = { name: 'big', gateway: '10.9.0.1', internal: false, subnet: '10.9.0.0/16' };

/** One asker (10.9.0.2), and 100 endpoints all named `many`. */
function world() {
  const table = new NameTable();
  const answerer = new Answerer(table);
  table.onChange = () => answerer.invalidate();
  table.add(network, { id: 'asker', network: 'big', netnsInode: 1, ipv4: '10.9.0.2', names: ['asker'] });
  for (let i = 0; i < 100; i++) table.add(network, { id: `m${i}`, network: 'big', netnsInode: 1000 + i, ipv4: `10.9.1.${i + 1}`, names: ['many'] });
  return answerer;
}

const question = (name = 'asker', type = 'A') => ({ name, type, class: 'IN' });
const opt = (udpPayloadSize) => ({ type: 'OPT', name: '.', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] });
const encode = (packet) => dnsPacket.encode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [question()], ...packet });
/** A query padded with an EDNS padding option to `size` bytes. */
function padded(size, udpPayloadSize) {
  const bare = encode({ additionals: [{ ...opt(udpPayloadSize), options: [{ code: 12, length: 0 }] }] });
  return encode({ additionals: [{ ...opt(udpPayloadSize), options: [{ code: 12, length: size - bare.length }] }] });
}
/** A query without EDNS padded to `size` bytes by a TXT record in its additional section. */
function plainLong(size) {
  // Strings of 200 bytes and the rest: each costs its length and one byte.
  const txt = (length) => {
    const strings = [];
    for (; length > 201; length -= 201) strings.push('x'.repeat(200));
    strings.push('x'.repeat(Math.max(0, length - 1)));
    return encode({ additionals: [{ type: 'TXT', name: 'pad', ttl: 0, data: strings }] });
  };
  const base = txt(1).length;
  return txt(size - base + 1);
}

describe('resolver bounds', () => {
  it('drops (no answer) a query that does not parse, has two questions or none, or is a response', () => {
    const answerer = world();
    const good = encode({});
    const cases = {
      truncated: good.subarray(0, good.length - 3),
      garbage: Buffer.from('not a dns message at all'),
      header: good.subarray(0, 11),
      twoQuestions: encode({ questions: [question(), question('many')] }),
      noQuestion: encode({ questions: [] }),
      response: dnsPacket.encode({ id: 7, type: 'response', questions: [question()], answers: [] }),
      countLies: Buffer.concat([good.subarray(0, 4), Buffer.from([0, 2]), good.subarray(6)]),
    };
    for (const [name, query] of Object.entries(cases)) {
      expect(answerer.answer(query, '10.9.0.2', 'udp'), name).to.equal(undefined);
      expect(answerer.answer(query, '10.9.0.2', 'tcp'), name).to.equal(undefined);
    }
    expect(Buffer.isBuffer(answerer.answer(good, '10.9.0.2', 'udp'))).to.equal(true);
  });

  it('drops a UDP query over 512 bytes without EDNS, over its EDNS size, or over 4096 bytes', () => {
    const answerer = world();
    expect(plainLong(512).length).to.equal(512);
    expect(Buffer.isBuffer(answerer.answer(plainLong(512), '10.9.0.2', 'udp'))).to.equal(true);
    expect(answerer.answer(plainLong(513), '10.9.0.2', 'udp')).to.equal(undefined);
    expect(readQuery(padded(1000, 1232), 'udp')).to.not.equal(undefined);
    expect(readQuery(padded(1300, 1232), 'udp')).to.equal(undefined);
    expect(readQuery(padded(4096, 65000), 'udp')).to.not.equal(undefined);
    expect(readQuery(padded(4097, 65000), 'udp')).to.equal(undefined);
    // Over TCP a message's own length frames it.
    expect(readQuery(padded(4097, 65000), 'tcp')).to.not.equal(undefined);
  });

  it('truncates a UDP answer over 512 bytes (or its EDNS size, at most 1232) with TC; TCP gets all of it', () => {
    const answerer = world();
    const udp = dnsPacket.decode(answerer.answer(encode({ questions: [question('many')] }), '10.9.0.2', 'udp'));
    expect([udp.flag_tc, udp.answers.length, udp.questions[0].name]).to.deep.equal([true, 0, 'many']);
    const edns = answerer.answer(encode({ questions: [question('many')], additionals: [opt(4096)] }), '10.9.0.2', 'udp');
    expect(dnsPacket.decode(edns).flag_tc).to.equal(true);
    const tcp = dnsPacket.decode(answerer.answer(encode({ questions: [question('many')] }), '10.9.0.2', 'tcp'));
    expect([tcp.flag_tc, tcp.answers.length]).to.deep.equal([false, 100]);
    expect(answerLimit(dnsPacket.decode(encode({ additionals: [opt(100)] })), 'udp')).to.equal(512);
    expect(answerLimit(dnsPacket.decode(encode({ additionals: [opt(4096)] })), 'udp')).to.equal(1232);
  });

  it('fits a forwarded answer into the asker\'s limit: as it is, or truncated with TC', () => {
    const answers = Array.from({ length: 60 }, (_, i) => ({ type: 'A', name: 'example.com', ttl: 30, data: `192.0.2.${i}` }));
    const big = dnsPacket.encode({ id: 9, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: [question('example.com')], answers });
    expect(big.length).to.be.greaterThan(512);
    expect(fitted(big, 65535)).to.equal(big);
    const cut = dnsPacket.decode(fitted(big, 512));
    expect([cut.id, cut.flag_tc, cut.flag_ra, cut.answers.length, cut.questions[0].name]).to.deep.equal([9, true, true, 0, 'example.com']);
    expect(fitted(Buffer.alloc(600, 0xff), 512)).to.equal(undefined);
  });
});
