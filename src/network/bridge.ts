/**
 * The bridge device of a network, made as Docker makes it: pinned random
 * MAC, accept_ra=0, gateway addresses, MTU, up, route_localnet; forwarding on
 * when the network routes out. Tagged with an alias that names the network.
 */
import { isGone, NsnetError, unlessGone } from '../errors';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import { gatewayMode } from '../types/gateway-mode';
import { ipv4Of, type NetworkRecord, resolvesNames } from '../types/network';
import { BRIDGE_LINK_GROUP, networkTag, parseTag } from '../types/ownership';
import { Undo } from './undo';

/**
 * Bridges tagged as an nsnet network's, by the network name in their tag;
 * and bridges of nsnet's group that a creation left untagged (it died between
 * making the bridge and tagging it), which belong to no network.
 */
export async function nsnetBridges(): Promise<{ tagged: Map<string, Link>; untagged: Link[] }> {
  const tagged = new Map<string, Link>();
  const untagged: Link[] = [];
  for (const bridge of await NetNamespace.host().links.list({ kind: 'bridge' })) {
    const owner = parseTag(bridge.alias);
    if (owner?.kind === 'network') tagged.set(owner.network, bridge);
    else if (bridge.alias === undefined && bridge.linkGroup === BRIDGE_LINK_GROUP) untagged.push(bridge);
  }
  return { tagged, untagged };
}

/** The bridge link if it exists; NsnetError BRIDGE_NAME_TAKEN if a foreign link has its name. */
export async function findBridge(record: Pick<NetworkRecord, 'name' | 'bridge'>): Promise<Link | undefined> {
  let link: Link;
  try {
    link = await NetNamespace.host().links.get(record.bridge);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  if (link.kind !== 'bridge' || link.alias !== networkTag(record.name)) {
    throw new NsnetError(
      'BRIDGE_NAME_TAKEN',
      `interface ${record.bridge} exists and is not the bridge of nsnet network "${record.name}"`,
    );
  }
  return link;
}

/** A sysctl a network's bridge needs; `optional` ones do not exist when the kernel has no IPv6. */
export interface BridgeSysctl {
  key: string;
  value: string;
  optional: boolean;
}

/** The sysctls of the bridge of `record`, in the order they are written. */
export function bridgeSysctls(record: NetworkRecord): BridgeSysctl[] {
  // Slashes: a bridge name may contain dots.
  const sysctls: BridgeSysctl[] = [{ key: `net/ipv6/conf/${record.bridge}/accept_ra`, value: '0', optional: true }];
  if (!record.internal) {
    // route_localnet lets DNAT to 127.0.0.1-published ports reach the bridge.
    sysctls.push({ key: `net/ipv4/conf/${record.bridge}/route_localnet`, value: '1', optional: false });
    sysctls.push({ key: 'net.ipv4.ip_forward', value: '1', optional: false });
    if (record.ipv6) sysctls.push({ key: 'net.ipv6.conf.all.forwarding', value: '1', optional: true });
  }
  return sysctls;
}

/** Writes one; an optional sysctl that does not exist is skipped. */
export async function writeBridgeSysctl({ key, value, optional }: BridgeSysctl): Promise<void> {
  const host = NetNamespace.host();
  await (optional ? unlessGone(() => host.sysctl(key, value)) : host.sysctl(key, value));
}

export interface GatewayAddress {
  cidr: string;
  /** IPv6: usable at once, without duplicate address detection. */
  nodad: boolean;
}

/**
 * The gateway addresses the bridge of `record` carries: none on an internal
 * network, unless it resolves names (the resolver listens there; its
 * containers still get no default route, and the firewall lets them reach
 * this host only for the resolver); none of a family whose gateway mode is
 * isolated.
 */
export function gatewayAddresses(record: NetworkRecord): GatewayAddress[] {
  if (record.internal && !resolvesNames(record)) return [];
  const addresses: GatewayAddress[] = [];
  const ipv4 = ipv4Of(record);
  if (ipv4 && gatewayMode(record, 4) !== 'isolated') addresses.push({ cidr: `${ipv4.gateway}/${ipv4.subnet.split('/')[1]}`, nodad: false });
  if (record.ipv6 && gatewayMode(record, 6) !== 'isolated') addresses.push({ cidr: `${record.ipv6.gateway}/${record.ipv6.subnet.split('/')[1]}`, nodad: true });
  return addresses;
}

/** Creates the bridge of `record`; on failure removes what it made. */
export async function createBridge(record: NetworkRecord): Promise<void> {
  const host = NetNamespace.host();
  await host.links.add({
    kind: 'bridge',
    name: record.bridge,
    mac: record.bridgeMac,
    mtu: record.mtu,
    linkGroup: BRIDGE_LINK_GROUP,
    alias: networkTag(record.name),
  });
  const undo = new Undo();
  undo.push(`bridge ${record.bridge}`, () => host.links.delete(record.bridge));
  try {
    await configureBridge(record);
  } catch (error) {
    throw await undo.fail(error);
  }
}

async function configureBridge(record: NetworkRecord): Promise<void> {
  const host = NetNamespace.host();
  // accept_ra before the link is up, so that no router advertisement is taken.
  for (const sysctl of bridgeSysctls(record)) await writeBridgeSysctl(sysctl);
  for (const { cidr, nodad } of gatewayAddresses(record)) await host.addresses.add(record.bridge, cidr, { nodad });
  await host.links.set(record.bridge, { up: true });
}

export async function deleteBridge(record: NetworkRecord): Promise<void> {
  if (!(await findBridge(record))) return;
  await NetNamespace.host().links.delete(record.bridge);
}
