/**
 * A query's answer from the table: local names answered at once (and their
 * encoded answers kept, so that the next same question costs a copy), the
 * rest left to the forwarder.
 */
import * as dnsPacket from 'dns-packet';

import { answerLimit, PLAIN_UDP_SIZE, readQuery, type Transport } from './bounds';
import { dnsLower, findName, type NameTable, type View } from './names';
import { inSubnet, reverseAddress } from './reverse';

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const TYPE = { A: 1, PTR: 12, AAAA: 28, IXFR: 251, AXFR: 252, ANY: 255 } as const;
const CLASS_IN = 1;
const CLASS_ANY = 255;
/** Of the query's flags, what a response repeats: opcode, RD and CD. */
const REPEATED_FLAGS = 0x7800 | dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED;
/** Kept encoded answers; the cache starts again when full (names change rarely, questions repeat). */
const MAX_CACHED = 10_000;

export type Resolution = { kind: 'answer'; response: Buffer } | { kind: 'forward' };

/** A query the table cannot answer: for the forwarder. */
export interface ToForward {
  packet: dnsPacket.DecodedPacket;
  view: View;
}

interface LocalAnswer {
  rcode: number;
  authoritative: boolean;
  answers: dnsPacket.Answer[];
}

export class Answerer {
  /** Key: transport, the query's flags, the view and the lower-cased question → the encoded answer. */
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly table: NameTable) {}

  /** Every change of the table makes every kept answer stale. */
  invalidate(): void {
    this.cache.clear();
  }

  /**
   * What to do with a datagram (or TCP message) from `source`: its answer;
   * none (dropped: not an endpoint's address, or out of bounds); or what the
   * forwarder needs.
   */
  answer(query: Buffer, source: string, transport: Transport): Buffer | undefined | ToForward {
    const view = this.table.viewOf(source);
    if (!view) return undefined;
    const hit = this.cached(query, view, transport);
    if (hit) return hit;
    const packet = readQuery(query, transport);
    if (!packet) return undefined;
    const resolution = this.resolve(query, packet, view, transport);
    return resolution.kind === 'answer' ? resolution.response : { packet, view };
  }

  /**
   * The kept answer to this query, with its ID and its question's letters:
   * for a plain query (one question, no other record, no EDNS) asked before
   * in this view since the last change. No decoding.
   */
  cached(query: Buffer, view: View, transport: Transport): Buffer | undefined {
    const key = plainQueryKey(query, view, transport);
    const kept = key === undefined ? undefined : this.cache.get(key);
    if (!kept) return undefined;
    const response = Buffer.allocUnsafe(kept.length);
    kept.copy(response);
    response[0] = query[0]!;
    response[1] = query[1]!;
    query.copy(response, 12, 12, query.length - 4);
    return response;
  }

  /** The answer of a decoded query, or 'forward'. */
  resolve(query: Buffer, packet: dnsPacket.DecodedPacket, view: View, transport: Transport): Resolution {
    const local = this.localAnswer(packet, view);
    if (!local) return { kind: 'forward' };
    const response = encodeAnswer(packet, local, transport, !view.internalOnly);
    // Several addresses are shuffled on every answer: those are not kept.
    if (local.answers.length <= 1) {
      const key = plainQueryKey(query, view, transport);
      if (key !== undefined) {
        if (this.cache.size >= MAX_CACHED) this.cache.clear();
        this.cache.set(key, response);
      }
    }
    return { kind: 'answer', response };
  }

  private localAnswer(packet: dnsPacket.DecodedPacket, view: View): LocalAnswer | undefined {
    const question = packet.questions![0]!;
    const opcode = ((packet.flags ?? 0) >> 11) & 0xf;
    if (opcode !== 0) return { rcode: RCODE.NOTIMP, authoritative: false, answers: [] };
    const type = typeNumber(question.type);
    if (type === TYPE.AXFR || type === TYPE.IXFR) return { rcode: RCODE.REFUSED, authoritative: false, answers: [] };
    const klass = question.class === undefined || question.class === 'IN' ? CLASS_IN : question.class === 'ANY' ? CLASS_ANY : 0;
    const found = klass === 0 ? undefined : this.lookUp(dnsLower(question.name), type, question.name, view);
    if (found) return found;
    return view.internalOnly ? { rcode: RCODE.REFUSED, authoritative: false, answers: [] } : undefined;
  }

  private lookUp(name: string, type: number, asked: string, view: View): LocalAnswer | undefined {
    if (type === TYPE.PTR) {
      const address = reverseAddress(name);
      if (address !== undefined) return this.pointer(address, asked, view);
    }
    const match = findName(view, name);
    if (match.kind === 'none') return undefined;
    if (match.kind === 'unknown-on-network') return { rcode: RCODE.NXDOMAIN, authoritative: true, answers: [] };
    const answers: dnsPacket.Answer[] = [];
    const seen = new Set<string>();
    for (const { endpoint } of match.found) {
      if ((type === TYPE.A || type === TYPE.ANY) && !seen.has(endpoint.ipv4)) {
        seen.add(endpoint.ipv4);
        answers.push({ type: 'A', name: asked, ttl: 0, data: endpoint.ipv4 });
      }
      if ((type === TYPE.AAAA || type === TYPE.ANY) && endpoint.ipv6 && !seen.has(endpoint.ipv6)) {
        seen.add(endpoint.ipv6);
        answers.push({ type: 'AAAA', name: asked, ttl: 0, data: endpoint.ipv6 });
      }
    }
    shuffle(answers);
    // A name with no address of the family asked: NODATA, not forwarded.
    return { rcode: RCODE.NOERROR, authoritative: true, answers };
  }

  /** PTR of an endpoint's address seen from this view; NXDOMAIN inside one of its subnets; else forwarded. */
  private pointer(address: string, asked: string, view: View): LocalAnswer | undefined {
    const endpoint = this.table.endpointAt(address);
    const network = endpoint && view.networks.get(dnsLower(endpoint.network));
    if (endpoint && network) {
      const target = `${endpoint.names[0]}.${network.network.name}`;
      return { rcode: RCODE.NOERROR, authoritative: true, answers: [{ type: 'PTR', name: asked, ttl: 0, data: target }] };
    }
    for (const { network } of view.networks.values()) {
      if (inSubnet(address, network.subnet) || (network.subnet6 !== undefined && inSubnet(address, network.subnet6))) {
        return { rcode: RCODE.NXDOMAIN, authoritative: true, answers: [] };
      }
    }
    return undefined;
  }
}

/** An answer with no records: SERVFAIL when no upstream answered, REFUSED, and the like. */
export function failure(packet: dnsPacket.DecodedPacket, rcode: number, transport: Transport, recursion: boolean): Buffer {
  return encodeAnswer(packet, { rcode, authoritative: false, answers: [] }, transport, recursion);
}

function encodeAnswer(packet: dnsPacket.DecodedPacket, local: LocalAnswer, transport: Transport, recursion: boolean): Buffer {
  let flags = ((packet.flags ?? 0) & REPEATED_FLAGS) | local.rcode;
  if (local.authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (recursion) flags |= dnsPacket.RECURSION_AVAILABLE;
  const edns = packet.additionals?.some((record) => record.type === 'OPT');
  const additionals: dnsPacket.Answer[] = edns
    ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
    : [];
  const response: dnsPacket.Packet = { id: packet.id, type: 'response', flags, questions: packet.questions, answers: local.answers, additionals };
  const encoded = dnsPacket.encode(response);
  if (encoded.length <= answerLimit(packet, transport)) return encoded;
  return dnsPacket.encode({ ...response, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

function typeNumber(type: string): number {
  return (TYPE as Record<string, number>)[type] ?? -1;
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

/**
 * The cache key of a plain query (QR clear, one question and nothing else,
 * the question ending the datagram, at most 512 bytes): the name's letters
 * lowered, its type and class as they are. None for any other query.
 */
function plainQueryKey(query: Buffer, view: View, transport: Transport): string | undefined {
  const length = query.length;
  if (length < 17 || length > PLAIN_UDP_SIZE || (query[2]! & 0x80) !== 0) return undefined;
  if ((query[4]! | (query[5]! ^ 1) | query[6]! | query[7]! | query[8]! | query[9]! | query[10]! | query[11]!) !== 0) return undefined;
  let position = 12;
  let upper = false;
  for (;;) {
    const label = query[position];
    if (label === undefined || label > 63) return undefined;
    if (label === 0) break;
    for (let i = position + 1; i <= position + label && !upper; i++) upper = query[i]! >= 0x41 && query[i]! <= 0x5a;
    position += label + 1;
  }
  if (position + 5 !== length) return undefined;
  // Names are mostly asked in lower case already: one slice then, and no lowering.
  const question = upper
    ? query.toString('latin1', 12, position).toLowerCase() + query.toString('latin1', position, length)
    : query.toString('latin1', 12, length);
  return `${view.key}\n${transport}${query[2]! * 256 + query[3]!}\n${question}`;
}
