/**
 * Address leases of one subnet: which address belongs to which endpoint.
 * Pure functions over a table that the caller reads and writes under the
 * state lock. Allocation is round-robin from the last address handed out, so
 * a just-released address is not reused at once (stale ARP caches).
 */
import { NsnetError } from '../errors';
import type { LeaseTable, NetworkLeases } from '../types/leases';
import type { Subnet } from './subnet';

export function emptyLeaseTable(): LeaseTable {
  return { addresses: {} };
}

/**
 * Leases `requested` (refused with ADDRESS_IN_USE / ADDRESS_OUT_OF_RANGE) or
 * the next free address after the last one, skipping `reserved` (the
 * gateway). SUBNET_FULL when none is left.
 */
export function allocateAddress(
  table: LeaseTable,
  subnet: Subnet,
  owner: string,
  reserved: ReadonlySet<string>,
  requested?: string,
): string {
  const { first, last } = subnet.usableRange;
  if (requested !== undefined) {
    if (!subnet.contains(requested)) throw new NsnetError('ADDRESS_OUT_OF_RANGE', `${requested} is outside ${subnet.cidr}`);
    const offset = subnet.offsetOf(requested);
    if (offset < first || offset > last) {
      const which = offset > last ? 'broadcast address' : subnet.family === 4 ? 'network address' : 'subnet-router anycast address';
      throw new NsnetError('ADDRESS_OUT_OF_RANGE', `${requested} is not a usable address of ${subnet.cidr} (its ${which})`);
    }
    const address = subnet.address(offset); // canonical text
    if (reserved.has(address)) throw new NsnetError('ADDRESS_IN_USE', `${address} is reserved on ${subnet.cidr} (the gateway)`);
    if (table.addresses[address] !== undefined) {
      throw new NsnetError('ADDRESS_IN_USE', `${address} is already in use on ${subnet.cidr}`);
    }
    table.addresses[address] = owner;
    return address;
  }
  const span = last - first + 1n;
  const previous = table.last === undefined ? last : BigInt(table.last);
  // Large IPv6 subnets: the search ends long before the span does.
  const limit = span < 1n << 20n ? span : 1n << 20n;
  for (let step = 1n; step <= limit; step++) {
    const offset = first + ((previous - first + step) % span + span) % span;
    const address = subnet.address(offset);
    if (reserved.has(address) || table.addresses[address] !== undefined) continue;
    table.addresses[address] = owner;
    table.last = offset.toString();
    return address;
  }
  throw new NsnetError('SUBNET_FULL', `no free address left in ${subnet.cidr}`);
}

/** Releases every address of `owner`; returns them. */
export function releaseAddresses(table: LeaseTable, owner: string): string[] {
  const released = Object.keys(table.addresses).filter((address) => table.addresses[address] === owner);
  for (const address of released) delete table.addresses[address];
  return released;
}

/** Releases every address of `owner`, both families; returns them. */
export function releaseLeases(leases: NetworkLeases, owner: string): string[] {
  return [...releaseAddresses(leases.ipv4, owner), ...(leases.ipv6 ? releaseAddresses(leases.ipv6, owner) : [])];
}

/** Leases that hold nothing, not even a pointer: the same as no leases at all. */
export function leasesEmpty(leases: NetworkLeases): boolean {
  return [leases.ipv4, leases.ipv6].every((table) => !table || (table.last === undefined && Object.keys(table.addresses).length === 0));
}

/** Where the round-robin pointers of both tables stand. */
export interface LeasePointers {
  ipv4?: string;
  ipv6?: string;
}

export function leasePointers(leases: NetworkLeases): LeasePointers {
  return { ipv4: leases.ipv4.last, ipv6: leases.ipv6?.last };
}

/** Pointers before and after the leases of one endpoint were handed out. */
export interface PointerMove {
  before: LeasePointers;
  after: LeasePointers;
}

/** What undoing one endpoint's leases restores: the pointers, and whether there were leases at all. */
export interface LeasesBefore {
  pointers: PointerMove;
  /** The network had no leases record before. */
  created: boolean;
}

/**
 * Puts back the pointers an undone connect moved, so that it leaves the
 * allocation as it found it; a pointer that moved on since (another lease
 * was handed out) stays. Returns whether anything changed.
 */
export function rewindPointers(leases: NetworkLeases, move: PointerMove): boolean {
  let changed = false;
  for (const family of ['ipv4', 'ipv6'] as const) {
    const table = leases[family];
    const before = move.before[family];
    const after = move.after[family];
    if (!table || before === after || table.last !== after) continue;
    if (before === undefined) delete table.last;
    else table.last = before;
    changed = true;
  }
  return changed;
}
