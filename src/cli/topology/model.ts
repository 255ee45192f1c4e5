/** What `nsnet topology` draws: networks, endpoints and containers, checked against the kernel. */
import { isGone } from '../../errors';
import { gatewayAddresses } from '../../network/bridge';
import { containersAndEndpoints, type ListedEndpoint, listedEndpoint, networkRecords } from '../../network/listing';
import { NetNamespace } from '../../netns';
import type { LinkBrief } from '../../rtnl/links';
import { networkDriver, type NetworkRecord } from '../../types/network';
import type { OverlayRecord } from '../../types/overlay';
import type { PublishedPort } from '../../types/ports';

/** A link as the kernel has it now. */
export type LinkState = 'up' | 'down' | 'missing';

export interface TopologyEndpoint {
  hostIfname: string;
  hostLink: LinkState;
  /** The host end is a port of its network's bridge (false when it, or the bridge, is missing). */
  onBridge: boolean;
  /** Containers in the endpoint's namespace: its own, then those that joined it. */
  containers: string[];
  netns: string;
  ifname: string;
  /** None on an IPv6-only network. */
  ipv4?: string;
  ipv6?: string;
  mac: string;
  ports: PublishedPort[];
}

export interface TopologyNetwork {
  name: string;
  /** A driver other than bridge, with its mode: `routed`, `macvlan bridge`, `ipvlan l2 bridge`, `overlay vni 4096 underlay 10.0.0.2 store http://10.0.0.1:2379`. */
  driver?: string;
  /** The bridge device; a macvlan or ipvlan network's parent; for a routed network, which has none, its host ends' names (`<prefix>*`). */
  bridge: string;
  bridgeLink: LinkState;
  /** Gateway addresses (CIDRs) the bridge should carry and does not. */
  missingGateways: string[];
  /** The IPv4 subnet; none on an IPv6-only network. */
  subnet?: string;
  gateway?: string;
  ipv6?: string;
  internal: boolean;
  icc: boolean;
  masquerade: boolean;
  firewall: string;
  endpoints: TopologyEndpoint[];
}

export interface Topology {
  host: { netnsInode: number };
  networks: TopologyNetwork[];
  /** Containers with no endpoint of their own: host, none, and joins of those. */
  unattached: { id: string; mode: string; netns?: string }[];
}

export async function readTopology(): Promise<Topology> {
  const host = NetNamespace.host();
  const linkDump = host.links.briefs();
  // Once the socket is open, the dump goes out first (it waited for the socket first): the kernel makes it while this thread reads the records.
  const reading = host.connection().then(() => Promise.all([networkRecords(), containersAndEndpoints(listedEndpoint)]));
  const [links, [networks, { containers, endpoints: allEndpoints }]] = await Promise.all([linkDump, reading]);
  const linksByName = firstByKey(links, (l) => l.name);
  const bridgeAddresses = await Promise.all(networks.map((net) => addressesOf(host, linksByName.get(net.bridge))));
  const linkState = (name: string): LinkState => {
    const link = linksByName.get(name);
    return !link ? 'missing' : link.up ? 'up' : 'down';
  };
  const containersById = firstByKey(containers, (c) => c.id);
  // By id: macvlan and ipvlan endpoints share their host side, the parent.
  const endpointOwners = firstByKey(
    containers.filter((c) => c.endpoint),
    (c) => c.endpoint?.id,
  );
  const containersIn = (e: ListedEndpoint): string[] => {
    const owner = endpointOwners.get(e.id);
    return owner ? [owner.id, ...owner.joinedBy] : [];
  };
  const result: Topology = { host: { netnsInode: host.inode }, networks: [], unattached: [] };
  for (const [i, net] of networks.entries()) {
    const endpoints = allEndpoints.filter((e) => e.network === net.name);
    const bridge = linksByName.get(net.bridge);
    const lan = networkDriver(net) === 'macvlan' || networkDriver(net) === 'ipvlan';
    const addresses = new Set(bridgeAddresses[i]);
    // A routed network has no bridge: its host ends stand on their own, on it when they exist.
    const routed = networkDriver(net) === 'routed';
    // A macvlan or ipvlan child hangs off the parent (its host side) for as long as that exists.
    const onBridge = (e: ListedEndpoint) => (routed ? linksByName.has(e.hostIfname) : bridge !== undefined && (lan || linksByName.get(e.hostIfname)?.master === bridge.index));
    result.networks.push({
      name: net.name,
      ...(lan ? { driver: [net.driver, net.macvlanMode ?? net.ipvlanMode, net.ipvlanFlag].filter(Boolean).join(' ') } : routed ? { driver: 'routed' } : net.overlay ? { driver: overlayDriver(net.overlay) } : {}),
      ...(routed
        ? routedBridge(net)
        // The host has no address on a macvlan or ipvlan network: its gateway is the LAN's router.
        : { bridge: net.bridge, bridgeLink: linkState(net.bridge), missingGateways: lan ? [] : gatewayAddresses(net).map((a) => a.cidr).filter((cidr) => !addresses.has(cidr)) }),
      ...(net.subnet === undefined ? {} : { subnet: net.subnet }),
      ...(net.internal || net.gateway === undefined ? {} : { gateway: net.gateway }),
      ...(net.ipv6 ? { ipv6: net.ipv6.subnet } : {}),
      internal: net.internal,
      icc: net.icc,
      masquerade: net.masquerade,
      firewall: net.activeFirewall,
      endpoints: endpoints.map((e) => topologyEndpoint(e, containersIn(e), linkState(e.hostIfname), onBridge(e))),
    });
  }
  for (const c of containers) {
    if (c.endpoint || (c.joined && containersById.get(c.joined)?.endpoint)) continue;
    const mode = c.mode === 'container' ? `container:${c.joined}` : c.mode;
    result.unattached.push({ id: c.id, mode, ...(c.netnsPath ? { netns: c.netnsPath } : {}) });
  }
  return result;
}

/** An overlay network's driver line: its VNI, this host's underlay address and its store. */
function overlayDriver(overlay: OverlayRecord): string {
  return `overlay vni ${overlay.vni} underlay ${overlay.underlay} store ${overlay.store.endpoints.join(',')}`;
}

/** What stands for the bridge of a routed network: its host ends' names, nothing to be missing or down (the network is its routes). */
function routedBridge(net: NetworkRecord): Pick<TopologyNetwork, 'bridge' | 'bridgeLink' | 'missingGateways'> {
  return { bridge: `${net.bridge}*`, bridgeLink: 'up', missingGateways: [] };
}

/** The addresses (CIDRs) of a bridge: none when it is missing, or gone since the link dump. */
async function addressesOf(host: NetNamespace, bridge: LinkBrief | undefined): Promise<string[]> {
  if (!bridge) return [];
  try {
    return (await host.addresses.list({ dev: bridge.index })).map((a) => a.cidr);
  } catch (error) {
    if (isGone(error)) return [];
    throw error;
  }
}

/** Items by a key, the first of each key kept (as a search from the start finds it). */
function firstByKey<T>(items: T[], key: (item: T) => string | undefined): Map<string | undefined, T> {
  const byKey = new Map<string | undefined, T>();
  for (const item of items) if (!byKey.has(key(item))) byKey.set(key(item), item);
  return byKey;
}

function topologyEndpoint(e: ListedEndpoint, containers: string[], hostLink: LinkState, onBridge: boolean): TopologyEndpoint {
  return {
    hostIfname: e.hostIfname,
    hostLink,
    onBridge,
    containers,
    netns: e.netns,
    ifname: e.ifname,
    ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
    ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
    mac: e.mac,
    ports: e.ports,
  };
}
