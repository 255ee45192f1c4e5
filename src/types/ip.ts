/**
 * IP addresses and prefixes in text form: checked, as bytes and numbers, and
 * printed in one canonical text, the one the C library's inet_ntop (so the
 * addon, and Node) prints, so that one address is one key everywhere.
 */
import { isIP } from 'node:net';

import ipaddr from 'ipaddr.js';

import { invalid } from '../errors';

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

/** Whether a valid address (a checked or stored one) is IPv6. */
export function isIPv6(address: string): boolean {
  return isIP(address) === 6;
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

/**
 * A valid IPv6 address parsed; inet_pton's rules (Node's isIP) decide what is
 * valid. IPv4 needs no library: a dotted quad that isIP accepts is already
 * canonical (no short forms, no leading zeros), and it is on every connect's path.
 */
function parse6(address: string): ipaddr.IPv6 {
  // ipaddr.js reads "::a.b.c.d" as "::ffff:a.b.c.d"; inet_pton reads it as
  // the two groups a.b and c.d after "::": hand it those groups.
  const groups = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  return ipaddr.IPv6.parse(groups);
}

/** The 4 or 16 bytes of a valid address. */
export function addressBytes(address: string): Uint8Array {
  if (ipFamily(address) === 4) return Uint8Array.from(address.split('.'), Number);
  return Uint8Array.from(parse6(address).toByteArray());
}

/** A valid address as a number. */
export function toNumber(address: string): bigint {
  let value = 0n;
  for (const byte of addressBytes(address)) value = (value << 8n) | BigInt(byte);
  return value;
}

/** An address of `family` from its number, in canonical text. */
export function toText(family: IpFamily, value: bigint): string {
  const length = family === 4 ? 4 : 16;
  const bytes = Array.from({ length }, (_, i) => Number((value >> BigInt(8 * (length - 1 - i))) & 0xffn));
  return family === 4 ? bytes.join('.') : textOf(ipaddr.fromByteArray(bytes) as ipaddr.IPv6);
}

/** A valid address in canonical text: `FD00:0::1` as `fd00::1`, `::ffff:102:304` as `::ffff:1.2.3.4`. */
export function canonicalAddress(address: string): string {
  return ipFamily(address) === 4 ? address : textOf(parse6(address));
}

/**
 * RFC 5952 text (lower case, the longest run of zero groups as "::"), with
 * inet_ntop's one exception: an address whose first 96 bits are zero but for
 * the ffff of IPv4-mapped addresses ends in dotted IPv4 (`::ffff:1.2.3.4`,
 * `::1.2.3.4`).
 */
function textOf(address: ipaddr.IPv6): string {
  const { parts } = address;
  const zeroHead = parts.slice(0, 5).every((part) => part === 0);
  const mapped = zeroHead && parts[5] === 0xffff;
  const compatible = zeroHead && parts[5] === 0 && parts[6] !== 0;
  if (!mapped && !compatible) return address.toString();
  const ipv4 = [parts[6] >> 8, parts[6] & 0xff, parts[7] >> 8, parts[7] & 0xff].join('.');
  return `::${mapped ? 'ffff:' : ''}${ipv4}`;
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
