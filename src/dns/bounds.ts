/**
 * What the resolver accepts and how large its answers may be: a query that
 * breaks a bound gets no answer at all (no error an attacker could use to
 * make the resolver an amplifier), an answer too large for UDP is truncated.
 */
import * as dnsPacket from 'dns-packet';

export type Transport = 'udp' | 'tcp';

/** A UDP query without EDNS, and the smallest answer any client takes. */
export const PLAIN_UDP_SIZE = 512;
/** The largest UDP query taken, whatever the EDNS size it gives. */
export const MAX_UDP_QUERY = 4096;
/** The largest UDP answer sent (the DNS flag day's size, below any path's MTU). */
export const MAX_UDP_ANSWER = 1232;

function ednsSize(packet: dnsPacket.Packet): number | undefined {
  const opt = packet.additionals?.find((record) => record.type === 'OPT') as dnsPacket.OptAnswer | undefined;
  return opt?.udpPayloadSize;
}

/**
 * The query decoded, or none when it is to be dropped: one that does not
 * parse, is a response, has other than one question, or (over UDP) is larger
 * than 512 bytes without EDNS or than its EDNS size.
 */
export function readQuery(query: Buffer, transport: Transport): dnsPacket.DecodedPacket | undefined {
  if (transport === 'udp' && query.length > MAX_UDP_QUERY) return undefined;
  if (query.length < 12 || (query[2]! & 0x80) !== 0) return undefined;
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return undefined;
  }
  if (packet.questions?.length !== 1) return undefined;
  if (transport === 'udp') {
    const size = ednsSize(packet);
    const bound = size === undefined ? PLAIN_UDP_SIZE : Math.min(Math.max(size, PLAIN_UDP_SIZE), MAX_UDP_QUERY);
    if (query.length > bound) return undefined;
  }
  return packet;
}

/** How large an answer to this query may be. */
export function answerLimit(packet: dnsPacket.Packet, transport: Transport): number {
  if (transport === 'tcp') return 0xffff;
  const size = ednsSize(packet);
  return size === undefined ? PLAIN_UDP_SIZE : Math.min(Math.max(size, PLAIN_UDP_SIZE), MAX_UDP_ANSWER);
}

/**
 * The response as it is when it fits, else its header and question with the
 * TC bit (the client asks again over TCP); none when it does not parse.
 */
export function fitted(response: Buffer, limit: number): Buffer | undefined {
  if (response.length <= limit) return response;
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(response);
  } catch {
    return undefined;
  }
  const opt = packet.additionals?.filter((record) => record.type === 'OPT') ?? [];
  return dnsPacket.encode({
    id: packet.id,
    type: 'response',
    flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    questions: packet.questions,
    additionals: opt,
  });
}
