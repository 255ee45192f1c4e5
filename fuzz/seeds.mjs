// Seed inputs of the harnesses, made from the replies captured in test/fixtures
// (see its README): the reply parsers (links, addresses and routes; neighbours
// and notifications) get each captured dump whole and each of
// its messages alone; the reply reader gets each dump ended by NLMSG_DONE (once
// as an interrupted dump) and errors as the kernel words them, with the
// extended-ACK text, capped and not. The encoder's inputs are no netlink
// bytes: it starts from its checked-in corpus only.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { attribute, fromHexText, message, messagesOf, NLMSG_HDRLEN, u32 } from '../test/unit/bytes.mjs';

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_MULTI = 0x2;
const NLM_F_DUMP_INTR = 0x10;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

function withSeq(bytes, seq) {
  const copy = Buffer.from(bytes);
  copy.writeUInt32LE(seq, 8);
  return copy;
}

function errorCode(errno) {
  const out = Buffer.alloc(4);
  out.writeInt32LE(-errno);
  return out;
}

/** An NLMSG_ERROR answering `request`: capped (its header only) or echoing it whole, with extended-ACK text. */
function errorReply(errno, request, capped, text) {
  const seq = request.readUInt32LE(8);
  const echoed = capped ? request.subarray(0, NLMSG_HDRLEN) : request;
  const tlvs = text
    ? [attribute(NLMSGERR_ATTR_MSG, Buffer.from(`${text}\0`)), attribute(NLMSGERR_ATTR_OFFS, u32(NLMSG_HDRLEN))]
    : [];
  const flags = (capped ? NLM_F_CAPPED : 0) | (tlvs.length ? NLM_F_ACK_TLVS : 0);
  return withSeq(message(NLMSG_ERROR, flags, Buffer.concat([errorCode(errno), echoed, ...tlvs])), seq);
}

/** The seeds of each harness, by harness name: { name: [Buffer] }. */
export function seedsFromFixtures(fixturesDir) {
  const dumps = readdirSync(fixturesDir)
    .filter((file) => file.endsWith('.hex'))
    .sort()
    .map((file) => fromHexText(readFileSync(join(fixturesDir, file), 'utf8')));
  const rtnlReply = dumps.flatMap((dump) => [dump, ...messagesOf(dump).map((m) => Buffer.from(m.bytes))]);
  const netlinkReply = dumps.flatMap((dump) => {
    const [first] = messagesOf(dump);
    const seq = first.bytes.readUInt32LE(8);
    const done = withSeq(message(NLMSG_DONE, NLM_F_MULTI, errorCode(0)), seq);
    const interrupted = Buffer.from(dump);
    interrupted.writeUInt16LE(first.bytes.readUInt16LE(6) | NLM_F_DUMP_INTR, 6);
    return [
      Buffer.concat([dump, done]),
      Buffer.concat([interrupted, done]),
      errorReply(0, first.bytes, true),
      errorReply(17, first.bytes, true, 'File exists'),
      errorReply(22, first.bytes, false, 'Invalid attribute'),
    ];
  });
  return { rtnl_reply: rtnlReply, rtnl_neighbour: rtnlReply, netlink_reply: netlinkReply };
}

/** Writes each harness's seeds as files seed-N into `dir`/<harness>/. */
export function writeSeeds(fixturesDir, dir) {
  for (const [harness, seeds] of Object.entries(seedsFromFixtures(fixturesDir))) {
    mkdirSync(join(dir, harness), { recursive: true });
    seeds.forEach((seed, i) => writeFileSync(join(dir, harness, `seed-${i}`), seed));
  }
}
