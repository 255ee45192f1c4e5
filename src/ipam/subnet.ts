/** IPv4 and IPv6 subnets as numbers: containment, overlap, and the n-th address. */
import { isIP } from 'node:net';

import { invalid } from '../errors';
import { hasHostBits, type IpFamily, parseCidr, toNumber, toText } from '../types/ip';

export class Subnet {
  private constructor(
    readonly family: IpFamily,
    /** The network address as a number. */
    readonly base: bigint,
    readonly prefixLength: number,
  ) {}

  /** Parses `10.0.0.0/24`; host bits must be clear (the kernel's rule for routes). */
  static parse(cidr: unknown, what = 'subnet'): Subnet {
    const parsed = parseCidr(cidr, what);
    if (!(cidr as string).includes('/')) throw invalid(`${what} needs a prefix length: ${String(cidr)}`);
    if (hasHostBits(parsed)) throw invalid(`${what} ${String(cidr)} has bits set past its prefix length`);
    return new Subnet(parsed.family, toNumber(parsed.address), parsed.prefixLength);
  }

  static of(family: IpFamily, base: bigint, prefixLength: number): Subnet {
    const bits = BigInt(bitsOf(family) - prefixLength);
    return new Subnet(family, (base >> bits) << bits, prefixLength);
  }

  get bits(): number {
    return bitsOf(this.family);
  }

  /** How many addresses the subnet spans, network and broadcast included. */
  get size(): bigint {
    return 1n << BigInt(this.bits - this.prefixLength);
  }

  get last(): bigint {
    return this.base + this.size - 1n;
  }

  get cidr(): string {
    return `${this.address(0n)}/${this.prefixLength}`;
  }

  /** The address at `offset` from the network address, in text form. */
  address(offset: bigint): string {
    return toText(this.family, this.base + offset);
  }

  contains(address: string): boolean {
    if (isIP(address) !== this.family) return false;
    const value = toNumber(address);
    return value >= this.base && value <= this.last;
  }

  /** The offset of an address inside the subnet. */
  offsetOf(address: string): bigint {
    return toNumber(address) - this.base;
  }

  overlaps(other: Subnet): boolean {
    return this.family === other.family && this.base <= other.last && other.base <= this.last;
  }

  /**
   * Offsets that may be handed out: IPv4 keeps the network and broadcast
   * addresses back (except on /31 and /32), IPv6 the subnet-router anycast.
   */
  get usableRange(): { first: bigint; last: bigint } {
    if (this.family === 4 && this.prefixLength >= 31) return { first: 0n, last: this.size - 1n };
    if (this.family === 6 && this.prefixLength === 128) return { first: 0n, last: 0n };
    return { first: 1n, last: this.family === 4 ? this.size - 2n : this.size - 1n };
  }

  /** The first address that may be handed out: a network's default gateway. */
  get firstHost(): string {
    return this.address(this.usableRange.first);
  }
}

function bitsOf(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}
