/** The one interface both firewall backends offer (apart from choosing one, so that they need not import the chooser). */
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';

/** What a network's firewall does as networks and endpoints come and go. */
export interface Firewall {
  addNetwork(network: NetworkRecord): Promise<void>;
  /** Removes what the network added; already gone is fine. */
  removeNetwork(network: NetworkRecord): Promise<void>;
  addEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Promise<void>;
  /** Removes what the endpoint added; already gone is fine. */
  removeEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Promise<void>;
  /** Rebuilds this backend's state from the records; returns how many entries it wrote. */
  restore(networks: NetworkRecord[], endpoints: EndpointRecord[]): Promise<number>;
  /** Whether the fixed part is all there: not after, say, `nft flush ruleset` or `iptables -F`. */
  installed(): Promise<boolean>;
  /**
   * Puts back the fixed part where missing and the entries of these records,
   * keeping entries that are there (another process's, made meanwhile);
   * returns how many entries it wrote.
   */
  reinstall(networks: NetworkRecord[], endpoints: EndpointRecord[]): Promise<number>;
}
