/**
 * Routed networks (bridgeless, pure L3 as Calico's): the options
 * createRoutedNetwork takes, and what a routed network's record means.
 * Each container's veth has a host end without an address, named with the
 * network's prefix (held in the record's `bridge`: a routed network has no
 * bridge), a /32 (/128) host route to the container through it, and inside
 * a link-local gateway that answers by the MAC every host end of the network
 * carries (the record's `bridgeMac`).
 */
import { createHash } from 'node:crypto';

import v = require('valibot');

import { MAX_MTU, MIN_MTU } from './limits';
import { FIREWALL_BACKENDS, NETWORK_NAME, type NetworkRecord } from './network';
import { strictJsonObject } from './schema';

export const RoutedNetworkOptionsSchema = strictJsonObject({
  /** [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63} */
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  /** IPv4 subnet the containers' addresses come from; else the first free /24 of 10.89.0.0/16. */
  subnet: v.optional(v.string()),
  ipv6: v.optional(strictJsonObject({ subnet: v.string() })),
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(MIN_MTU), v.maxValue(MAX_MTU))),
  masquerade: v.optional(v.boolean()),
  icc: v.optional(v.boolean()),
  internal: v.optional(v.boolean()),
  /** Default host address of published ports. */
  hostIp: v.optional(v.string()),
  firewall: v.optional(v.picklist(FIREWALL_BACKENDS)),
  /** Name resolution needs an address of the network's on this host, which a routed network has not: false only. */
  dns: v.optional(v.literal(false)),
});
export type RoutedNetworkOptions = v.InferOutput<typeof RoutedNetworkOptionsSchema>;

/** The container's IPv4 gateway: link-local, never a container's address (Calico's). */
export const ROUTED_GATEWAY4 = '169.254.1.1';
/** The container's IPv6 gateway, on its interface's link. */
export const ROUTED_GATEWAY6 = 'fe80::1';

/** Host ends are `<prefix><7 hex of the endpoint id>`: 15 bytes, the kernel's most. */
const PREFIX_HEX = 5;

/** What every routed network's host-end prefix starts with. */
export const ROUTED_HOST_END_PREFIX = 'nsr';

/** The prefix of a routed network's host ends: `nsr` and a hash of its name. */
export function routedHostEndPrefix(network: string): string {
  return `${ROUTED_HOST_END_PREFIX}${createHash('sha256').update(network).digest('hex').slice(0, PREFIX_HEX)}`;
}

export function routedHostEndName(prefix: string, endpointId: string): string {
  return `${prefix}${endpointId.slice(0, 7)}`;
}

/**
 * The interface group of a routed network's host ends, from its prefix (so
 * one per network): the firewall lets a network's containers talk (icc) by
 * the pair of groups, one element per network, whatever its size.
 */
export function routedLinkGroup(record: Pick<NetworkRecord, 'bridge'>): number {
  return 0x72000000 + parseInt(record.bridge.slice(3), 16);
}
