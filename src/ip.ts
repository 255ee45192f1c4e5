/** IP addresses and prefixes in text form, checked and normalised. */
import { isIP } from 'node:net';

import { invalid } from './errors';

export type IpFamily = 4 | 6;

export interface Cidr {
  address: string;
  prefixLength: number;
  family: IpFamily;
}

/** The family of an address, or an INVALID_ARGUMENT error naming `what`. */
export function ipFamily(address: unknown, what = 'address'): IpFamily {
  const family = typeof address === 'string' && !address.includes('%') ? isIP(address) : 0;
  if (family !== 4 && family !== 6) throw invalid(`${what} is not an IP address: ${String(address)}`);
  return family;
}

/**
 * Parses `addr/len`. Without `/len` the prefix is the whole address (a host
 * route or a /32 address), as `ip` does.
 */
export function parseCidr(text: unknown, what = 'CIDR'): Cidr {
  if (typeof text !== 'string') throw invalid(`${what} must be a string like 10.0.0.1/24`);
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = ipFamily(address, what);
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { address, prefixLength: max, family };
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw invalid(`${what} has an invalid prefix length: ${text} (0-${max})`);
  }
  return { address, prefixLength: Number(prefix), family };
}

/** The 4 or 16 bytes of a valid address. */
export function addressBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  const [head, tail = ''] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  let words = groups(head);
  let tailWords = groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) stands for two groups.
  const expand = (list: string[]) =>
    list.flatMap((word) => {
      if (!word.includes('.')) return [word];
      const [a, b, c, d] = word.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  words = expand(words);
  tailWords = expand(tailWords);
  const zeros = address.includes('::') ? 8 - words.length - tailWords.length : 0;
  const all = [...words, ...Array<string>(zeros).fill('0'), ...tailWords];
  const bytes = new Uint8Array(16);
  all.forEach((word, i) => {
    const value = parseInt(word, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

/** Whether any bit past the prefix is set (10.0.0.1/24 has host bits). */
export function hasHostBits(cidr: Cidr): boolean {
  const bytes = addressBytes(cidr.address);
  for (let bit = cidr.prefixLength; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return true;
  }
  return false;
}

export const AF_INET = 2;
export const AF_INET6 = 10;

export function addressFamilyNumber(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function ipFamilyOf(addressFamily: number): IpFamily {
  return addressFamily === AF_INET6 ? 6 : 4;
}
