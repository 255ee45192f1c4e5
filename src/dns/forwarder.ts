/**
 * Queries for names that are not the table's, sent on to upstream servers:
 * over UDP (TCP when the answer comes truncated, or when the container asked
 * over TCP), each upstream in turn until one gives an answer that is final.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

import type { Transport } from './bounds';

const DNS_PORT = 53;
const DEFAULT_UPSTREAM_TIMEOUT_MS = 4000;
/** Docker's limit of forwarded queries in flight. */
export const MAX_IN_FLIGHT = 1024;
/** Upstreams asked for one query at most. */
export const MAX_UPSTREAMS = 3;

const SERVFAIL = 2;
const REFUSED = 5;

/** Per upstream: `NSNET_DNS_UPSTREAM_TIMEOUT_MS` (for tests), else 4 s. */
export function upstreamTimeoutMs(): number {
  const value = Number(process.env.NSNET_DNS_UPSTREAM_TIMEOUT_MS);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_UPSTREAM_TIMEOUT_MS;
}

export class Forwarder {
  private inFlight = 0;

  constructor(private readonly timeoutMs = upstreamTimeoutMs()) {}

  /** Room for one more query in flight. */
  get full(): boolean {
    return this.inFlight >= MAX_IN_FLIGHT;
  }

  /**
   * The first final answer of the upstreams (SERVFAIL, REFUSED and silence
   * move on to the next; anything else, NXDOMAIN included, is final); none
   * when every one failed.
   */
  async forward(query: Buffer, upstreams: readonly string[], transport: Transport): Promise<Buffer | undefined> {
    this.inFlight += 1;
    try {
      for (const upstream of upstreams.slice(0, MAX_UPSTREAMS)) {
        let answer = transport === 'tcp' ? await askTcp(query, upstream, this.timeoutMs) : await askUdp(query, upstream, this.timeoutMs);
        // Truncated: the whole answer over TCP from the same server.
        if (answer && transport === 'udp' && (answer[2]! & 0x02) !== 0) answer = await askTcp(query, upstream, this.timeoutMs);
        if (!answer) continue;
        const rcode = answer[3]! & 0x0f;
        if (rcode !== SERVFAIL && rcode !== REFUSED) return answer;
      }
      return undefined;
    } finally {
      this.inFlight -= 1;
    }
  }
}

function isAnswerTo(answer: Buffer, query: Buffer): boolean {
  return answer.length >= 12 && answer[0] === query[0] && answer[1] === query[1] && (answer[2]! & 0x80) !== 0;
}

/** One socket per query: a random source port of its own, which a spoofed answer has to guess. */
function askUdp(query: Buffer, upstream: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(upstream.includes(':') ? 'udp6' : 'udp4');
    let finished = false;
    const done = (answer: Buffer | undefined) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('message', (answer, peer) => {
      if (peer.port === DNS_PORT && isAnswerTo(answer, query)) done(answer);
    });
    socket.connect(DNS_PORT, upstream, () => socket.send(query, (error) => error && done(undefined)));
  });
}

function askTcp(query: Buffer, upstream: string, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: upstream, port: DNS_PORT });
    let received = Buffer.alloc(0);
    let finished = false;
    const done = (answer: Buffer | undefined) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.on('connect', () => {
      const length = Buffer.allocUnsafe(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const size = received.readUInt16BE(0);
      if (received.length < 2 + size) return;
      const answer = received.subarray(2, 2 + size);
      done(isAnswerTo(answer, query) ? answer : undefined);
    });
  });
}
