/** Bridge networks: the options createBridgeNetwork takes, and the record stored for a network. */
import v = require('valibot');

import { invalid } from '../errors';
import { MAX_MTU, MAX_POOL_SIZE, MIN_MTU } from './limits';
import { CidrText, FirewallInterfaceName, IpText, MacText } from './record-text';
import { Integer, jsonObject, strictJsonObject } from './schema';

export const FIREWALL_BACKENDS = ['auto', 'nftables', 'iptables', 'none'] as const;
export type FirewallBackend = (typeof FIREWALL_BACKENDS)[number];

/** The backend in use, resolved from `firewall` when the network was made. */
export const ACTIVE_FIREWALLS = ['nftables', 'iptables', 'none'] as const;
export type ActiveFirewall = (typeof ACTIVE_FIREWALLS)[number];

export const NETWORK_DRIVERS = ['bridge', 'macvlan', 'ipvlan', 'routed'] as const;
export type NetworkDriver = (typeof NETWORK_DRIVERS)[number];

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw invalid(`network name must match ${NETWORK_NAME.source}: ${String(name)}`);
  }
  return name;
}

export const BridgeNetworkOptionsSchema = strictJsonObject({
  /** [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63} */
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  /** Bridge device; `nsbr-<name>` (or a hash of a long name) when omitted. */
  bridge: v.optional(v.string()),
  /** IPv4 subnet; else the first free /24 of 10.89.0.0/16. */
  subnet: v.optional(v.string()),
  /** Defaults to the first host address of the subnet. */
  gateway: v.optional(v.string()),
  ipv6: v.optional(strictJsonObject({ subnet: v.string(), gateway: v.optional(v.string()) })),
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(MIN_MTU), v.maxValue(MAX_MTU))),
  masquerade: v.optional(v.boolean()),
  icc: v.optional(v.boolean()),
  internal: v.optional(v.boolean()),
  /** Default host address of published ports. */
  hostIp: v.optional(v.string()),
  firewall: v.optional(v.picklist(FIREWALL_BACKENDS)),
  /** Containers find each other by name (true, except on the default network `bridge`); part of the network's definition. */
  dns: v.optional(v.boolean()),
  /** A warm pool of prepared namespaces in this process (see BridgeNetwork.pool); not part of the network. */
  pool: v.optional(strictJsonObject({ size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_POOL_SIZE)) })),
});
export type BridgeNetworkOptions = v.InferOutput<typeof BridgeNetworkOptionsSchema>;

/** What is stored for a network, and what compares equal on re-creation. */
export const NetworkRecordSchema = jsonObject({
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  driver: v.optional(v.picklist(NETWORK_DRIVERS)),
  bridge: FirewallInterfaceName,
  /** The bridge's pinned MAC address (locally administered, random). */
  bridgeMac: MacText,
  subnet: CidrText,
  gateway: IpText,
  /** The subnet was picked by nsnet, not asked for. */
  subnetAuto: v.boolean(),
  ipv6: v.optional(jsonObject({ subnet: CidrText, gateway: IpText })),
  mtu: Integer,
  masquerade: v.boolean(),
  icc: v.boolean(),
  internal: v.boolean(),
  hostIp: IpText,
  firewall: v.picklist(FIREWALL_BACKENDS),
  activeFirewall: v.picklist(ACTIVE_FIREWALLS),
  /** Containers resolve each other's names; absent in records older than resolution: see resolvesNames. */
  dns: v.optional(v.boolean()),
  created: v.string(),
});
export type NetworkRecord = v.InferOutput<typeof NetworkRecordSchema>;

export function networkDriver(record: Pick<NetworkRecord, 'driver'>): NetworkDriver {
  return record.driver ?? 'bridge';
}

/** The default network, `bridge`, has no name resolution (as Docker's); a user network made now has it unless made with `dns: false`. */
export function namesByDefault(name: string): boolean {
  return name !== 'bridge';
}

/**
 * Whether a network's containers resolve each other's names. A record older
 * than name resolution has no `dns`: an internal one of those has no address
 * on its bridge for the resolver to listen on, so it resolves none.
 */
export function resolvesNames(record: Pick<NetworkRecord, 'name' | 'dns' | 'internal'>): boolean {
  return record.dns ?? (namesByDefault(record.name) && !record.internal);
}
