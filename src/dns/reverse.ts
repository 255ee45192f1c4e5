/** Reverse names (in-addr.arpa, ip6.arpa) and the subnets they fall in. */
import { canonicalAddress, parseCidr, toNumber } from '../types/ip';

/** The address a lower-case reverse name stands for; none for any other name (or a partial one). */
export function reverseAddress(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((nibble) => /^[0-9a-f]$/.test(nibble))) return undefined;
    const hex = nibbles.reverse().join('');
    return canonicalAddress(hex.match(/.{4}/g)!.join(':'));
  }
  return undefined;
}

/** The reverse name of an address (the PTR query's name). */
export function reverseName(address: string): string {
  if (address.includes('.') && !address.includes(':')) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const hex = toNumber(address).toString(16).padStart(32, '0');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

/** Whether `address` is inside `cidr` (both of one family; false across families). */
export function inSubnet(address: string, cidr: string): boolean {
  const subnet = parseCidr(cidr);
  const v4 = !address.includes(':');
  if (v4 !== (subnet.family === 4)) return false;
  const bits = subnet.family === 4 ? 32n : 128n;
  const shift = bits - BigInt(subnet.prefixLength);
  return toNumber(address) >> shift === toNumber(subnet.address) >> shift;
}
