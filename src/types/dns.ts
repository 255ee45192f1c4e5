/**
 * Name resolution between containers: what the network layer tells the
 * resolver service about a network and an endpoint, and the limits of a name.
 */

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
  /** The endpoint record's key (endpointKey: network@inode). */
  key: string;
  network: string;
  /** The endpoint's namespace: its endpoints on other networks share its view of names. */
  netnsInode: number;
  ipv4: string;
  ipv6?: string;
  /** In Docker's order (container name, aliases, id, short id): the first answers PTR queries. */
  names: string[];
  /** The container's own upstream servers (`dns` option), in place of the host's. */
  upstreams?: string[];
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
