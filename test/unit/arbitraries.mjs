// fast-check arbitraries shared by the property tests: IP addresses as
// numbers and in every text form inet_pton reads, and inet_ntop (through
// Node's SocketAddress) as the oracle of canonical text.
import { SocketAddress } from 'node:net';

import fc from 'fast-check';

/** An IPv4 address as a number, often at the edges (0, 255) of its bytes. */
export const ipv4Number = fc
  .array(fc.oneof(fc.constantFrom(0, 1, 255), fc.integer({ min: 0, max: 255 })), { minLength: 4, maxLength: 4 })
  .map((bytes) => bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n));

/** An IPv6 address as eight 16-bit groups, zero groups frequent (so "::" has runs to compress). */
export const ipv6Groups = fc.array(
  fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.constantFrom(1, 0xffff), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 8, maxLength: 8 },
);

export const groupsToNumber = (groups) => groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);

export function numberToIpv4(value) {
  return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.');
}

/**
 * One text form of `groups`: hex in either case, groups padded with leading
 * zeros or not, one run of zero groups written "::" or none, the last two
 * groups as a dotted quad or not.
 */
export function ipv6Text(groups, { compress, upper, pad, dotted }) {
  let words = groups.map((group) => {
    const hex = group.toString(16);
    return upper ? hex.toUpperCase() : hex;
  });
  if (pad) words = words.map((word) => word.padStart(4, '0'));
  if (dotted) {
    const quad = [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
    words = [...words.slice(0, 6), quad];
  }
  const runs = [];
  for (let i = 0; i < words.length; i++) {
    if (groups[i] !== 0 || (dotted && i >= 6)) continue;
    let end = i;
    while (end + 1 < words.length && groups[end + 1] === 0 && !(dotted && end + 1 >= 6)) end++;
    for (let j = i; j <= end; j++) runs.push([i, j]);
    i = end;
  }
  if (compress === 0 || runs.length === 0) return words.join(':');
  const [start, end] = runs[compress % runs.length];
  return `${words.slice(0, start).join(':')}::${words.slice(end + 1).join(':')}`;
}

/** How ipv6Text writes an address. */
export const ipv6Form = fc.record({ compress: fc.nat(), upper: fc.boolean(), pad: fc.boolean(), dotted: fc.boolean() });

/** { groups, text }: an IPv6 address and one of its text forms. */
export const ipv6 = fc
  .record({ groups: ipv6Groups, form: ipv6Form })
  .map(({ groups, form }) => ({ groups, text: ipv6Text(groups, form) }));

/** What inet_ntop prints for an address (Node's SocketAddress goes through inet_pton and inet_ntop). */
export function inetNtop(address, family) {
  return new SocketAddress({ address, family: family === 6 ? 'ipv6' : 'ipv4' }).address;
}
