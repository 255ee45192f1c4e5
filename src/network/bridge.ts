/**
 * The bridge device of a network, made as Docker makes it: pinned random
 * MAC, accept_ra=0, gateway addresses, MTU, up, route_localnet; forwarding on
 * when the network routes out. Tagged with an alias that names the network.
 */
import { isGone, NsnetError, unlessGone } from '../errors';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import type { NetworkRecord } from '../types/network';
import { networkTag, parseTag } from '../types/ownership';
import { Undo } from './undo';

/** Bridges tagged as an nsnet network's, by the network name in their tag. */
export async function taggedBridges(): Promise<Map<string, Link>> {
  const tagged = new Map<string, Link>();
  for (const bridge of await NetNamespace.host().links.list({ kind: 'bridge' })) {
    const owner = parseTag(bridge.alias);
    if (owner?.kind === 'network') tagged.set(owner.network, bridge);
  }
  return tagged;
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

/** Ignores a sysctl that does not exist (IPv6 disabled in the kernel). */
async function sysctlIfPresent(key: string, value: number): Promise<void> {
  await unlessGone(() => NetNamespace.host().sysctl(key, value));
}

/** Creates the bridge of `record`; on failure removes what it made. */
export async function createBridge(record: NetworkRecord): Promise<void> {
  const host = NetNamespace.host();
  await host.links.add({
    kind: 'bridge',
    name: record.bridge,
    mac: record.bridgeMac,
    mtu: record.mtu,
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
  const dev = record.bridge;
  // Slashes: a bridge name may contain dots.
  await sysctlIfPresent(`net/ipv6/conf/${dev}/accept_ra`, 0);
  if (!record.internal) {
    await host.addresses.add(dev, `${record.gateway}/${record.subnet.split('/')[1]}`);
    if (record.ipv6) await host.addresses.add(dev, `${record.ipv6.gateway}/${record.ipv6.subnet.split('/')[1]}`, { nodad: true });
    // Lets DNAT to 127.0.0.1-published ports reach the bridge.
    await host.sysctl(`net/ipv4/conf/${dev}/route_localnet`, 1);
    await host.sysctl('net.ipv4.ip_forward', 1);
    if (record.ipv6) await sysctlIfPresent('net.ipv6.conf.all.forwarding', 1);
  }
  await host.links.set(dev, { up: true });
}

export async function deleteBridge(record: NetworkRecord): Promise<void> {
  if (!(await findBridge(record))) return;
  await NetNamespace.host().links.delete(record.bridge);
}
