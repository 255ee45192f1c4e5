/**
 * Address leases of one subnet: which address belongs to which endpoint.
 * Pure functions over a table as held in memory, which the caller reads and
 * writes under the state lock (lease-file.ts). Allocation is round-robin
 * from the last address handed out, so a just-released address is not
 * reused at once (stale ARP caches), and a connect looks at the addresses
 * after the last one only, not at the table from its start.
 */
import { createHash } from 'node:crypto';

import { NsnetError } from '../errors';
import { JsonEntries } from '../state/json-entries';
import type { LeaseTable, NetworkLeases } from '../types/leases';
import type { Subnet } from './subnet';

/** A lease table as held in memory: address -> owner (endpoint id), and the pointer. */
export interface AddressTable {
  addresses: JsonEntries<string>;
  /** Offset of the address handed out last, as a decimal string. */
  last?: string;
}

/** A network's leases as held in memory: a table per address family. */
export interface AddressTables {
  ipv4: AddressTable;
  ipv6?: AddressTable;
}

export function emptyLeaseTable(): AddressTable {
  return { addresses: new JsonEntries() };
}

/** The tables of a stored lease record. */
export function addressTablesOf(leases: NetworkLeases): AddressTables {
  const table = (stored: LeaseTable): AddressTable => {
    const held: AddressTable = { addresses: JsonEntries.of(stored.addresses) };
    if (stored.last !== undefined) held.last = stored.last;
    return held;
  };
  const tables: AddressTables = { ipv4: table(leases.ipv4) };
  if (leases.ipv6) tables.ipv6 = table(leases.ipv6);
  return tables;
}

/** The tables as the lease record's JSON text (without `version`), in the stored format. */
export function addressTablesJson(tables: AddressTables): string {
  const table = (held: AddressTable) => `{"addresses":${held.addresses.json()}${held.last === undefined ? '' : `,"last":${JSON.stringify(held.last)}`}}`;
  return `{"ipv4":${table(tables.ipv4)}${tables.ipv6 ? `,"ipv6":${table(tables.ipv6)}` : ''}}`;
}

/**
 * Leases `requested` (refused with ADDRESS_IN_USE / ADDRESS_OUT_OF_RANGE) or
 * the next free address after the last one, skipping `reserved` (the
 * gateway; given as a map, each with why it is reserved: an aux address's
 * name). An address handed out unasked comes from `pool`, offsets of the
 * subnet (an ip range), when given; one asked for may be anywhere in the
 * subnet, as with Docker. SUBNET_FULL when none is left.
 */
export function allocateAddress(
  table: AddressTable,
  subnet: Subnet,
  owner: string,
  reserved: ReadonlySet<string> | ReadonlyMap<string, string>,
  requested?: string,
  pool?: { first: bigint; last: bigint },
): string {
  const usable = subnet.usableRange;
  if (requested !== undefined) {
    if (!subnet.contains(requested)) throw new NsnetError('ADDRESS_OUT_OF_RANGE', `${requested} is outside ${subnet.cidr}`);
    const offset = subnet.offsetOf(requested);
    if (offset < usable.first || offset > usable.last) {
      const which = offset > usable.last ? 'broadcast address' : subnet.family === 4 ? 'network address' : 'subnet-router anycast address';
      throw new NsnetError('ADDRESS_OUT_OF_RANGE', `${requested} is not a usable address of ${subnet.cidr} (its ${which})`);
    }
    const address = subnet.address(offset); // canonical text
    if (reserved.has(address)) {
      const why = reserved instanceof Map ? reserved.get(address) : 'the gateway';
      throw new NsnetError('ADDRESS_IN_USE', `${address} is reserved on ${subnet.cidr} (${why})`);
    }
    if (table.addresses.get(address) !== undefined) {
      throw new NsnetError('ADDRESS_IN_USE', `${address} is already in use on ${subnet.cidr}`);
    }
    table.addresses.set(address, owner);
    return address;
  }
  const { first, last } = pool ?? usable;
  const span = last - first + 1n;
  const previous = table.last === undefined ? last : BigInt(table.last);
  // Large IPv6 subnets: the search ends long before the span does.
  const limit = span < 1n << 20n ? span : 1n << 20n;
  for (let step = 1n; step <= limit; step++) {
    const offset = first + ((previous - first + step) % span + span) % span;
    const address = subnet.address(offset);
    if (reserved.has(address) || table.addresses.get(address) !== undefined) continue;
    table.addresses.set(address, owner);
    table.last = offset.toString();
    return address;
  }
  throw new NsnetError('SUBNET_FULL', pool ? `no free address left in the ip range of ${subnet.cidr}` : `no free address left in ${subnet.cidr}`);
}

/**
 * For a subnet that several hosts hand out from (an overlay network's): a
 * table without a pointer yet gets one at a point of `range` (offsets of the
 * subnet, its usable addresses by default) that `seed`, the host's own, picks,
 * so that the hosts' round-robin searches start apart and seldom meet.
 */
export function spreadStart(table: AddressTable, subnet: Subnet, seed: string, range?: { first: bigint; last: bigint }): void {
  if (table.last !== undefined) return;
  const { first, last } = range ?? subnet.usableRange;
  if (last < first) return; // no usable address: allocation says SUBNET_FULL
  const point = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 16)}`);
  table.last = (first + (point % (last - first + 1n))).toString();
}

/** Releases every address of `owner`, looking at every lease; returns them. */
export function releaseAddresses(table: AddressTable, owner: string): string[] {
  const released = [...table.addresses.entries()].filter(([, holder]) => holder === owner).map(([address]) => address);
  for (const address of released) table.addresses.delete(address);
  return released;
}

/** Releases every address of `owner`, both families; returns them. */
export function releaseLeases(leases: AddressTables, owner: string): string[] {
  return [...releaseAddresses(leases.ipv4, owner), ...(leases.ipv6 ? releaseAddresses(leases.ipv6, owner) : [])];
}

/** The addresses of an endpoint, as its record holds them. */
export interface LeasedAddresses {
  id: string;
  ipv4?: string;
  ipv6?: string;
}

/**
 * Releases the addresses of an endpoint that the tables still give to it
 * (an address in its record may have gone to another after a crash); returns
 * whether any was. A connect leases one address per family and records it
 * before anything else, so its record names all it holds, and no lease is
 * looked at but these.
 */
export function releaseEndpointLeases(leases: AddressTables, endpoint: LeasedAddresses): boolean {
  let released = false;
  for (const [table, address] of [[leases.ipv4, endpoint.ipv4], [leases.ipv6, endpoint.ipv6]] as const) {
    if (table && address !== undefined && table.addresses.get(address) === endpoint.id) released = table.addresses.delete(address) || released;
  }
  return released;
}

/** Leases that hold nothing, not even a pointer: the same as no leases at all. */
export function leasesEmpty(leases: AddressTables): boolean {
  return [leases.ipv4, leases.ipv6].every((table) => !table || (table.last === undefined && table.addresses.size === 0));
}

/** Where the round-robin pointers of both tables stand. */
export interface LeasePointers {
  ipv4?: string;
  ipv6?: string;
}

export function leasePointers(leases: AddressTables): LeasePointers {
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
export function rewindPointers(leases: AddressTables, move: PointerMove): boolean {
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
