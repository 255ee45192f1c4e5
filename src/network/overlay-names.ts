/**
 * The other hosts' containers of an overlay network in this host's
 * resolver: each one more endpoint of the network to it (marked with its
 * host), added and removed with its forwarding entries by the network's
 * agent, so that a name answers while its container can be reached.
 */
import { dnsAdd, dnsRemove } from '../dns/client';
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
  /** Addresses whose names this agent gave the resolver. */
  private readonly added = new Set<string>();

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
  async apply(change: AgentChange): Promise<void> {
    const network = this.network;
    if (!network) return;
    const adding = change.add.filter((entry) => entry.names?.length);
    const replaced = new Set(adding.map((entry) => entry.ipv4));
    const results = await Promise.allSettled([
      ...change.remove.filter((entry) => !replaced.has(entry.ipv4)).map((entry) => this.remove(entry.ipv4)),
      ...adding.map(async (entry) => {
        await dnsAdd(network, this.endpointOf(network, entry));
        this.added.add(entry.ipv4);
      }),
    ]);
    const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed.length) this.log(`${failed.length} names of other hosts' containers not changed in the resolver: ${(failed[0]!.reason as Error).message}`);
  }

  /** Every name this agent added (the agent stops). */
  async removeAll(): Promise<void> {
    const results = await Promise.allSettled([...this.added].map((ipv4) => this.remove(ipv4)));
    if (results.some((result) => result.status === 'rejected')) this.log("names of other hosts' containers left in the resolver: it did not answer");
  }

  private async remove(ipv4: string): Promise<void> {
    await dnsRemove(this.network!.name, remoteId(this.network!.name, ipv4));
    this.added.delete(ipv4);
  }

  private endpointOf(network: DnsNetwork, entry: AddressEntry): DnsEndpoint {
    const endpoint: DnsEndpoint = { id: remoteId(network.name, entry.ipv4), network: network.name, netnsInode: 0, ipv4: entry.ipv4, names: entry.names!, host: entry.host };
    if (entry.ipv6 !== undefined) endpoint.ipv6 = entry.ipv6;
    return endpoint;
  }
}
