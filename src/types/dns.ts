/**
 * Name resolution between containers: what the network layer tells the
 * resolver service about a network and an endpoint, and the limits of a name.
 */
import type { EndpointRecord } from './endpoint';
import { gatewayMode } from './gateway-mode';
import type { NetworkRecord } from './network';

/** A network whose containers resolve each other's names. */
export interface DnsNetwork {
  name: string;
  /** The resolver listens on these, port 53 (the bridge's addresses). */
  gateway: string;
  gateway6?: string;
  /** An internal network forwards nothing: only its own names answer. */
  internal: boolean;
  subnet: string;
  subnet6?: string;
}

/** An endpoint's names on its network. */
export interface DnsEndpoint {
  /** The endpoint record's `id` (unique; its file is named by endpointKey). */
  id: string;
  network: string;
  /** The endpoint's namespace: its endpoints on other networks share its view of names. */
  netnsInode: number;
  ipv4: string;
  ipv6?: string;
  /** In Docker's order (container name, aliases, id, short id): the first answers PTR queries. */
  names: string[];
  /** The container's own upstream servers (`dns` option), in place of the host's. */
  upstreams?: string[];
  /**
   * Another host's endpoint on an overlay network: that host's underlay
   * address. It answers to its names and address, never asks (its namespace
   * is elsewhere: netnsInode 0, no namespace's), and has no record here.
   */
  host?: string;
}

/** The resolver's port on each gateway address. */
export const DNS_PORT = 53;

/** A DNS label: 63 bytes at most; a name: 253. */
export const MAX_DNS_LABEL = 63;
export const MAX_DNS_NAME = 253;

/**
 * A name or alias a container may be found by: labels of letters, digits,
 * '_' and '-' (Docker's names allow '_' and '.'), joined by dots, no label
 * starting or ending with '-'.
 */
export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_DNS_NAME) return false;
  return name.split('.').every((label) => label.length > 0 && label.length <= MAX_DNS_LABEL && /^[a-zA-Z0-9_]([a-zA-Z0-9_-]*[a-zA-Z0-9_])?$/.test(label));
}

/**
 * The addresses the resolver of a resolving network listens on: its bridge's,
 * the IPv4 gateway (a network without one resolves no names: network/
 * gateway-options.ts) and the IPv6 one unless that family is isolated.
 */
export function resolverAddresses(record: NetworkRecord): string[] {
  return [record.gateway as string, ...(record.ipv6 && gatewayMode(record, 6) !== 'isolated' ? [record.ipv6.gateway] : [])];
}

/** What the resolver needs of a network's record. */
export function dnsNetworkOf(record: NetworkRecord): DnsNetwork {
  const network: DnsNetwork = { name: record.name, gateway: record.gateway as string, internal: record.internal, subnet: record.subnet as string };
  if (record.ipv6) {
    if (gatewayMode(record, 6) !== 'isolated') network.gateway6 = record.ipv6.gateway;
    network.subnet6 = record.ipv6.subnet;
  }
  return network;
}

/** What the resolver needs of an endpoint's record; none for an endpoint without names. */
export function dnsEndpointOf(record: EndpointRecord): DnsEndpoint | undefined {
  if (!record.names || record.names.length === 0) return undefined;
  const endpoint: DnsEndpoint = { id: record.id, network: record.network, netnsInode: record.netnsInode, ipv4: record.ipv4 as string, names: record.names };
  if (record.ipv6) endpoint.ipv6 = record.ipv6;
  if (record.upstreams && record.upstreams.length > 0) endpoint.upstreams = record.upstreams;
  return endpoint;
}
