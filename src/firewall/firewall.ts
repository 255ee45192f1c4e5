/** Which firewall a network uses, and the one interface both backends offer. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { NsnetError } from '../errors';
import type { EndpointRecord } from '../types/endpoint';
import type { ActiveFirewall, FirewallBackend, NetworkRecord } from '../types/network';
import { iptablesFirewall } from './iptables/backend';
import { nftablesFirewall } from './nftables/backend';

/** What a network's firewall does as networks and endpoints come and go. */
export interface Firewall {
  /** Installs the fixed part (tables, chains, jumps) where it is missing. */
  install(): Promise<void>;
  addNetwork(network: NetworkRecord): Promise<void>;
  /** Removes what the network added; already gone is fine. */
  removeNetwork(network: NetworkRecord): Promise<void>;
  addEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Promise<void>;
  /** Removes what the endpoint added; already gone is fine. */
  removeEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Promise<void>;
  /** Rebuilds this backend's state from the records; returns how many entries it wrote. */
  restore(networks: NetworkRecord[], endpoints: EndpointRecord[]): Promise<number>;
}

export function firewallFor(active: ActiveFirewall): Firewall | undefined {
  if (active === 'nftables') return nftablesFirewall;
  if (active === 'iptables') return iptablesFirewall;
  return undefined;
}

function onPath(command: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => dir && existsSync(path.join(dir, command)));
}

/** 'auto' prefers nftables, then iptables; an explicit choice must be installed. */
export function resolveFirewall(option: FirewallBackend): ActiveFirewall {
  if (option === 'none') return 'none';
  const nft = onPath('nft');
  const iptables = onPath('iptables-restore') && onPath('iptables-save');
  if (option === 'nftables' || (option === 'auto' && nft)) {
    if (nft) return 'nftables';
  } else if (iptables) {
    return 'iptables';
  }
  throw new NsnetError(
    'FIREWALL_UNAVAILABLE',
    `no ${option === 'auto' ? 'nft or iptables-restore' : option} command found: install nftables (or iptables), or use firewall: 'none'`,
  );
}
