/** Networks: the options createBridgeNetwork (and the other drivers' creations) take, and the record stored for a network. */
import v = require('valibot');

import { invalid } from '../errors';
import { GatewayModeOptionSchema, GatewayModesSchema, TrustedHostInterfacesSchema } from './gateway-mode';
import { MAX_MTU, MAX_POOL_SIZE, MIN_MTU } from './limits';
import { OverlayRecordSchema } from './overlay';
import { CidrText, FirewallInterfaceName, IpText, MacText } from './record-text';
import { Integer, jsonObject, jsonRecord, presenceCheck, strictJsonObject } from './schema';

export const FIREWALL_BACKENDS = ['auto', 'nftables', 'iptables', 'none'] as const;
export type FirewallBackend = (typeof FIREWALL_BACKENDS)[number];

/** The backend in use, resolved from `firewall` when the network was made. */
export const ACTIVE_FIREWALLS = ['nftables', 'iptables', 'none'] as const;
export type ActiveFirewall = (typeof ACTIVE_FIREWALLS)[number];

/** How a network attaches its containers; a record without `driver` is a bridge network (made before drivers). */
export const NETWORK_DRIVERS = ['bridge', 'macvlan', 'ipvlan', 'routed', 'overlay'] as const;
export type NetworkDriver = (typeof NETWORK_DRIVERS)[number];

/** Modes of a macvlan network (Docker's `-o macvlan_mode`); `source` is no network's. */
export const MACVLAN_NETWORK_MODES = ['bridge', 'private', 'vepa', 'passthru'] as const;
export type MacvlanNetworkMode = (typeof MACVLAN_NETWORK_MODES)[number];
/** Modes and flags of an ipvlan network (Docker's `-o ipvlan_mode`, `-o ipvlan_flag`). */
export const IPVLAN_NETWORK_MODES = ['l2', 'l3', 'l3s'] as const;
export type IpvlanNetworkMode = (typeof IPVLAN_NETWORK_MODES)[number];
export const IPVLAN_NETWORK_FLAGS = ['bridge', 'private', 'vepa'] as const;
export type IpvlanNetworkFlag = (typeof IPVLAN_NETWORK_FLAGS)[number];

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw invalid(`network name must match ${NETWORK_NAME.source}: ${String(name)}`);
  }
  return name;
}

/** What every driver's IPAM takes beside the subnets (Docker's --ip-range, --aux-address). */
const ADDRESSING_ENTRIES = {
  /** Addresses handed out unasked come from this prefix of the (IPv4) subnet; one asked for may be anywhere in it. */
  ipRange: v.optional(v.string()),
  /** Addresses of the subnets never handed out, by name (a router's, a DHCP server's): `{ router: '192.168.1.2' }`. */
  auxAddresses: v.optional(v.record(v.string(), v.string())),
};

export const BridgeNetworkOptionsSchema = strictJsonObject({
  /** [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63} */
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  /** Bridge device; `nsbr-<name>` (or a hash of a long name) when omitted. */
  bridge: v.optional(v.string()),
  /** IPv4 subnet; else the first free /24 of 10.89.0.0/16. */
  subnet: v.optional(v.string()),
  /** false: an IPv6-only network (it needs `ipv6`); its endpoints get no IPv4 address. */
  ipv4: v.optional(v.boolean()),
  /** Defaults to the first host address of the subnet. */
  gateway: v.optional(v.string()),
  ipv6: v.optional(strictJsonObject({ subnet: v.string(), gateway: v.optional(v.string()) })),
  ...ADDRESSING_ENTRIES,
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(MIN_MTU), v.maxValue(MAX_MTU))),
  masquerade: v.optional(v.boolean()),
  icc: v.optional(v.boolean()),
  internal: v.optional(v.boolean()),
  /** Default host address of published ports. */
  hostIp: v.optional(v.string()),
  /** Docker 28's gateway mode, for both families or each (types/gateway-mode.ts); 'nat' by default. */
  gatewayMode: v.optional(GatewayModeOptionSchema),
  /** Host interfaces whose packets may reach containers by their own address (Docker 28.2's trusted_host_interfaces). */
  trustedHostInterfaces: v.optional(v.array(v.string())),
  firewall: v.optional(v.picklist(FIREWALL_BACKENDS)),
  /** Containers find each other by name (true, except on the default network `bridge`); part of the network's definition. */
  dns: v.optional(v.boolean()),
  /** A warm pool of prepared namespaces in this process (see BridgeNetwork.pool); not part of the network. */
  pool: v.optional(strictJsonObject({ size: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_POOL_SIZE)) })),
});
export type BridgeNetworkOptions = v.InferOutput<typeof BridgeNetworkOptionsSchema>;

/** What macvlan and ipvlan networks take alike: containers are machines of the parent's LAN. */
const LAN_NETWORK_ENTRIES = {
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  /** The host interface the children hang off (`eth0`); `eth0.10` is made (VLAN 10) when missing. Omitted for an internal network, which gets a dummy. */
  parent: v.optional(v.string()),
  /** The LAN's IPv4 subnet. */
  subnet: v.string(),
  /** The LAN's router (no address on the host); the first host address of the subnet when omitted. */
  gateway: v.optional(v.string()),
  ipv6: v.optional(strictJsonObject({ subnet: v.string(), gateway: v.optional(v.string()) })),
  ...ADDRESSING_ENTRIES,
  /** The children's MTU; the parent's when omitted (at most the parent's). */
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(MIN_MTU), v.maxValue(MAX_MTU))),
  /** No parent traffic: the children hang off a dummy of the network's own, and get no default route. */
  internal: v.optional(v.boolean()),
  /** Always false: there is no address on the host for a resolver to listen on; true is refused. */
  dns: v.optional(v.boolean()),
};

export const MacvlanNetworkOptionsSchema = strictJsonObject({
  ...LAN_NETWORK_ENTRIES,
  mode: v.optional(v.picklist(MACVLAN_NETWORK_MODES)),
  /**
   * A macvlan of the parent on the host (bridge mode only) with this address
   * of the subnet (/32, never handed out), and a route to the ip range (or
   * the subnet) through it: the host reaches its own children, which it
   * cannot through the parent.
   */
  hostInterface: v.optional(strictJsonObject({ name: v.string(), address: v.string() })),
});
export type MacvlanNetworkOptions = v.InferOutput<typeof MacvlanNetworkOptionsSchema>;

export const IpvlanNetworkOptionsSchema = strictJsonObject({
  ...LAN_NETWORK_ENTRIES,
  mode: v.optional(v.picklist(IPVLAN_NETWORK_MODES)),
  flag: v.optional(v.picklist(IPVLAN_NETWORK_FLAGS)),
});
export type IpvlanNetworkOptions = v.InferOutput<typeof IpvlanNetworkOptionsSchema>;

/** What is stored for a network, and what compares equal on re-creation. */
export const NetworkRecordSchema = v.pipe(jsonObject({
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  /** Absent means 'bridge': read it through networkDriver. */
  driver: v.optional(v.picklist(NETWORK_DRIVERS)),
  bridge: FirewallInterfaceName,
  /** The bridge's pinned MAC address (locally administered, random). */
  bridgeMac: MacText,
  /** Absent on an IPv6-only network (`ipv4: false`): see ipv4Of. */
  subnet: v.optional(CidrText),
  gateway: v.optional(IpText),
  /** The subnet was picked by nsnet, not asked for. */
  subnetAuto: v.boolean(),
  ipv6: v.optional(jsonObject({ subnet: CidrText, gateway: IpText })),
  mtu: Integer,
  masquerade: v.boolean(),
  icc: v.boolean(),
  internal: v.boolean(),
  hostIp: IpText,
  /** Absent when both families are 'nat' (and in records made before gateway modes). */
  gatewayMode: v.optional(GatewayModesSchema),
  /** Absent when none. */
  trustedHostInterfaces: v.optional(TrustedHostInterfacesSchema),
  firewall: v.picklist(FIREWALL_BACKENDS),
  activeFirewall: v.picklist(ACTIVE_FIREWALLS),
  /** Containers resolve each other's names; absent in records older than resolution: see resolvesNames. */
  dns: v.optional(v.boolean()),
  /** Addresses handed out unasked come from this prefix of the subnet. */
  ipRange: v.optional(CidrText),
  /** Addresses never handed out, by name. */
  auxAddresses: v.optional(jsonRecord(v.string(), IpText)),
  /** macvlan, ipvlan: the host interface the children hang off (`bridge` holds its name too). */
  parent: v.optional(FirewallInterfaceName),
  /** nsnet made the parent (a VLAN sub-interface, or an internal network's dummy) and removes it with the network. */
  parentCreated: v.optional(v.boolean()),
  macvlanMode: v.optional(v.picklist(MACVLAN_NETWORK_MODES)),
  ipvlanMode: v.optional(v.picklist(IPVLAN_NETWORK_MODES)),
  ipvlanFlag: v.optional(v.picklist(IPVLAN_NETWORK_FLAGS)),
  /** macvlan: the host's own child of the parent, through which it reaches the network's children. */
  hostInterface: v.optional(jsonObject({ name: FirewallInterfaceName, address: IpText })),
  /** overlay: its VXLAN port, this host's underlay address and the store the network lives in (types/overlay.ts). */
  overlay: v.optional(OverlayRecordSchema),
  created: v.string(),
}), presenceCheck((record) => (record.subnet !== undefined && record.gateway !== undefined) || record.ipv6 !== undefined, 'a network with an IPv4 subnet and gateway, an ipv6 one or both'));
export type NetworkRecord = v.InferOutput<typeof NetworkRecordSchema>;

/** A network's driver; records made before drivers have none and are bridge networks. */
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

/** A network's IPv4 subnet and gateway; undefined on an IPv6-only network. */
export function ipv4Of(record: Pick<NetworkRecord, 'subnet' | 'gateway'>): { subnet: string; gateway: string } | undefined {
  return record.subnet !== undefined && record.gateway !== undefined ? { subnet: record.subnet, gateway: record.gateway } : undefined;
}
