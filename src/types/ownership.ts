/**
 * Ownership tags: the strings that mark kernel objects as nsnet's, and
 * whose they are. A network's bridge (its alias) and its iptables rules (their
 * comment) carry `nsnet:network:<network>`; an endpoint's host veth and the
 * iptables rules of its published ports carry
 * `nsnet:endpoint:<network>:<endpoint id>`. Network names have no ":", so
 * the tag parses back unambiguously. Imports nothing: everyone may use it.
 */

/** What marks nsnet's own tables and fixed rules: the nf_tables tables, the iptables jumps. */
export const NSNET_TAG = 'nsnet';

const NETWORK_PREFIX = `${NSNET_TAG}:network:`;
const ENDPOINT_PREFIX = `${NSNET_TAG}:endpoint:`;

export type OwnerTag =
  | { kind: 'network'; network: string }
  /** `network` is absent in the tag the previous release wrote on iptables rules. */
  | { kind: 'endpoint'; network?: string; id: string };

/**
 * The interface group of the bridges nsnet makes ("nsnt"). The kernel keeps
 * a group given at creation but not an alias, which takes a second request:
 * a bridge in this group without a tag is one whose creation died in between.
 */
export const BRIDGE_LINK_GROUP = 0x6e736e74;

/** Likewise for the ifb devices that shape an endpoint's egress ("nsnb"). */
export const IFB_LINK_GROUP = 0x6e736e62;

export function networkTag(network: string): string {
  return `${NETWORK_PREFIX}${network}`;
}

export function endpointTag(network: string, id: string): string {
  return `${ENDPOINT_PREFIX}${network}:${id}`;
}

/**
 * `nsnet:endpoint:<endpoint id>`, which the previous release wrote on the
 * iptables rules of an endpoint's ports: rules of endpoints made then are
 * still in the kernel, so removing an endpoint removes rules with either tag.
 * Never written now.
 */
export function previousEndpointTag(id: string): string {
  return `${ENDPOINT_PREFIX}${id}`;
}

/** The owner a tag names; undefined for anything that is not an nsnet tag. */
export function parseTag(tag: string | undefined): OwnerTag | undefined {
  if (tag?.startsWith(NETWORK_PREFIX)) {
    const network = tag.slice(NETWORK_PREFIX.length);
    return network ? { kind: 'network', network } : undefined;
  }
  if (tag?.startsWith(ENDPOINT_PREFIX)) {
    const rest = tag.slice(ENDPOINT_PREFIX.length);
    const colon = rest.indexOf(':');
    if (colon < 0) return rest ? { kind: 'endpoint', id: rest } : undefined;
    const network = rest.slice(0, colon);
    const id = rest.slice(colon + 1);
    return network && id ? { kind: 'endpoint', network, id } : undefined;
  }
  return undefined;
}
