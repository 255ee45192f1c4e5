/**
 * The resolver's table: the DNS-enabled networks and their endpoints' names,
 * and each asker's view of them (the networks its namespace is on).
 */
import type { DnsEndpoint, DnsNetwork } from '../types/dns';
import { canonicalAddress } from '../types/ip';

/** What one asker may see: the networks its namespace has an endpoint with names on. */
export interface View {
  /** The same for every namespace on the same networks: part of the answer cache's key. */
  key: string;
  /** Lower-case network name → network. */
  networks: Map<string, NetworkEntry>;
  /** The asking endpoint (the one whose address asked). */
  asker: DnsEndpoint;
  /** Every network of the view is internal: nothing is forwarded. */
  internalOnly: boolean;
}

export interface NetworkEntry {
  network: DnsNetwork;
  /** By endpoint id. */
  endpoints: Map<string, DnsEndpoint>;
  /** Lower-case name → endpoints answering to it. */
  byName: Map<string, DnsEndpoint[]>;
}

/** Lower case in ASCII only, as DNS compares names. */
export function dnsLower(name: string): string {
  return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

export class NameTable {
  private readonly entries = new Map<string, NetworkEntry>();
  /** Canonical address → the endpoint that has it. */
  private readonly byAddress = new Map<string, DnsEndpoint>();
  /** Asker's address → its view, made on first use after each change. */
  private readonly views = new Map<string, View>();
  /** Called after each change (the answer cache empties itself). */
  onChange: () => void = () => undefined;

  /** Adds or replaces the endpoint (and the network's description). */
  add(network: DnsNetwork, endpoint: DnsEndpoint): void {
    this.removeEndpoint(endpoint.id, false);
    let entry = this.entries.get(network.name);
    if (!entry) this.entries.set(network.name, (entry = { network, endpoints: new Map(), byName: new Map() }));
    entry.network = network;
    const stored: DnsEndpoint = { ...endpoint, ipv4: canonicalAddress(endpoint.ipv4) };
    if (endpoint.ipv6) stored.ipv6 = canonicalAddress(endpoint.ipv6);
    entry.endpoints.set(stored.id, stored);
    this.index(entry);
    this.byAddress.set(stored.ipv4, stored);
    if (stored.ipv6) this.byAddress.set(stored.ipv6, stored);
    this.changed();
  }

  /** Removes an endpoint; a network left with none goes from the table. Returns whether it was there. */
  remove(network: string, endpointId: string): boolean {
    const entry = this.entries.get(network);
    if (!entry?.endpoints.has(endpointId)) return false;
    return this.removeEndpoint(endpointId, true);
  }

  private removeEndpoint(endpointId: string, notify: boolean): boolean {
    for (const [name, entry] of this.entries) {
      const endpoint = entry.endpoints.get(endpointId);
      if (!endpoint) continue;
      entry.endpoints.delete(endpointId);
      for (const address of [endpoint.ipv4, endpoint.ipv6]) {
        if (address && this.byAddress.get(address) === endpoint) this.byAddress.delete(address);
      }
      if (entry.endpoints.size === 0) this.entries.delete(name);
      else this.index(entry);
      if (notify) this.changed();
      return true;
    }
    return false;
  }

  private index(entry: NetworkEntry): void {
    entry.byName.clear();
    for (const endpoint of entry.endpoints.values()) {
      for (const name of new Set(endpoint.names.map(dnsLower))) {
        const list = entry.byName.get(name);
        if (list) list.push(endpoint);
        else entry.byName.set(name, [endpoint]);
      }
    }
  }

  private changed(): void {
    this.views.clear();
    this.onChange();
  }

  /** The networks with at least one endpoint. */
  networks(): DnsNetwork[] {
    return [...this.entries.values()].map((entry) => entry.network);
  }

  network(name: string): NetworkEntry | undefined {
    return this.entries.get(name);
  }

  endpoints(): DnsEndpoint[] {
    return [...this.entries.values()].flatMap((entry) => [...entry.endpoints.values()]);
  }

  get size(): number {
    let count = 0;
    for (const entry of this.entries.values()) count += entry.endpoints.size;
    return count;
  }

  /** The view of whoever asks from `address`; none for an address that is no endpoint's (dropped). */
  viewOf(address: string): View | undefined {
    const known = this.views.get(address);
    if (known) return known;
    const asker = this.byAddress.get(address) ?? this.byAddress.get(canonicalOrSame(address));
    // Another host's container asks its own host's resolver.
    if (!asker || asker.host !== undefined) return undefined;
    const view = this.makeView(asker);
    this.views.set(address, view);
    return view;
  }

  /** The endpoint with this (canonical) address. */
  endpointAt(address: string): DnsEndpoint | undefined {
    return this.byAddress.get(address);
  }

  private makeView(asker: DnsEndpoint): View {
    const networks = new Map<string, NetworkEntry>();
    for (const entry of this.entries.values()) {
      for (const endpoint of entry.endpoints.values()) {
        if (endpoint.netnsInode === asker.netnsInode) networks.set(dnsLower(entry.network.name), entry);
      }
    }
    const names = [...networks.keys()].sort();
    return { key: names.join('\n'), networks, asker, internalOnly: [...networks.values()].every((entry) => entry.network.internal) };
  }
}

function canonicalOrSame(address: string): string {
  try {
    return canonicalAddress(address.replace(/^::ffff:(?=\d+\.)/, ''));
  } catch {
    return address;
  }
}

/** What a name means in a view. */
export type NameMatch =
  /** Endpoints answering to it, each with the network it was found on. */
  | { kind: 'endpoints'; found: { endpoint: DnsEndpoint; network: NetworkEntry }[] }
  /** `x.<network>` where the network is the asker's and has no `x`. */
  | { kind: 'unknown-on-network' }
  | { kind: 'none' };

/**
 * Looks a lower-case name up: as a whole name on every network of the view
 * first (an alias may contain dots), then as `name.<network>`.
 */
export function findName(view: View, name: string): NameMatch {
  const found: { endpoint: DnsEndpoint; network: NetworkEntry }[] = [];
  for (const network of view.networks.values()) {
    for (const endpoint of network.byName.get(name) ?? []) found.push({ endpoint, network });
  }
  if (found.length > 0) return { kind: 'endpoints', found };
  let onNetwork = false;
  for (const [networkName, network] of view.networks) {
    if (name.length <= networkName.length + 1 || !name.endsWith(networkName) || name[name.length - networkName.length - 1] !== '.') continue;
    onNetwork = true;
    const short = name.slice(0, name.length - networkName.length - 1);
    for (const endpoint of network.byName.get(short) ?? []) found.push({ endpoint, network });
  }
  if (found.length > 0) return { kind: 'endpoints', found };
  return onNetwork ? { kind: 'unknown-on-network' } : { kind: 'none' };
}
