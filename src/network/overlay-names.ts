/**
 * The other hosts' containers of an overlay network in this host's
 * resolver: each one more endpoint of the network to it (marked with its
 * host), added and removed with its forwarding entries by the network's
 * agent, so that a name answers while its container can be reached.
 */
import { dnsAdd, dnsRemove, dnsServicePid } from '../dns/client';
import { asNsnetError } from '../errors';
import { type DnsEndpoint, type DnsNetwork, dnsNetworkOf } from '../types/dns';
import { type NetworkRecord, resolvesNames } from '../types/network';
import type { AddressEntry } from '../types/overlay';
import type { AgentChange } from './overlay-agent';

/**
 * A remote endpoint's id in the resolver: by network and address, which the
 * kernel's entries keep too, so that names left by an agent before this one
 * go with the entries it finds programmed.
 */
function remoteId(network: string, ipv4: string): string {
  return `remote:${network}:${ipv4}`;
}

export class RemoteNames {
  private readonly network: DnsNetwork | undefined;
  /** The names the resolver is to answer, by IPv4 address. */
  private readonly wanted = new Map<string, DnsEndpoint>();
  /** The resolver that was given them: one started since knows only this host's names. */
  private resolverPid: number | undefined;
  /** A resolver that did not answer missed some: given them all again. */
  private missed = false;
  /** Changes reach the resolver one at a time, in the agent's order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    record: NetworkRecord,
    private readonly log: (message: string) => void = (message) => process.stderr.write(`nsnet overlay ${record.name}: ${message}\n`),
  ) {
    this.network = resolvesNames(record) ? dnsNetworkOf(record) : undefined;
  }

  /**
   * The change's names: the resolver is started when none runs and a name
   * arrives. A resolver that fails is reported, never the change's failure:
   * the forwarding entries are applied already.
   */
  apply(change: AgentChange): Promise<void> {
    const network = this.network;
    if (!network) return Promise.resolve();
    const adding = change.add.filter((entry) => entry.names?.length).map((entry) => this.endpointOf(network, entry));
    const replaced = new Set(adding.map((endpoint) => endpoint.ipv4));
    const removing = change.remove.map((entry) => entry.ipv4).filter((ipv4) => !replaced.has(ipv4));
    return this.serially(() => this.send(network, adding, removing));
  }

  /** Gives every name again to a resolver started since they were given (or started anew, when none runs). */
  refresh(): Promise<void> {
    const network = this.network;
    if (!network || this.wanted.size === 0 || (!this.missed && dnsServicePid() === this.resolverPid)) return Promise.resolve();
    return this.serially(() => this.send(network, [...this.wanted.values()], []));
  }

  /** Every name this agent added (the agent stops). */
  removeAll(): Promise<void> {
    const network = this.network;
    if (!network) return Promise.resolve();
    return this.serially(() => this.send(network, [], [...this.wanted.keys()]));
  }

  private serially(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work);
    return this.queue;
  }

  private async send(network: DnsNetwork, adding: DnsEndpoint[], removing: string[]): Promise<void> {
    for (const ipv4 of removing) this.wanted.delete(ipv4);
    for (const endpoint of adding) this.wanted.set(endpoint.ipv4, endpoint);
    const results = await Promise.allSettled([
      ...removing.map((ipv4) => dnsRemove(network.name, remoteId(network.name, ipv4))),
      ...adding.map((endpoint) => dnsAdd(network, endpoint)),
    ]);
    const failed = results.flatMap((result) => (result.status === 'rejected' ? [asNsnetError(result.reason)] : []));
    // A name the resolver refuses (not a DNS name) is not asked again; one it could not take is.
    this.missed = failed.some((error) => error.code === 'DNS_UNAVAILABLE');
    if (adding.length) this.resolverPid = dnsServicePid();
    if (failed.length) this.log(`${failed.length} names of other hosts' containers not changed in the resolver: ${failed[0]!.message}`);
  }

  private endpointOf(network: DnsNetwork, entry: AddressEntry): DnsEndpoint {
    const endpoint: DnsEndpoint = { id: remoteId(network.name, entry.ipv4), network: network.name, netnsInode: 0, ipv4: entry.ipv4, names: entry.names!, host: entry.host };
    if (entry.ipv6 !== undefined) endpoint.ipv6 = entry.ipv6;
    return endpoint;
  }
}
