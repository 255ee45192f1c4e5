/** What `nsnet topology` draws: networks, endpoints and containers, checked against the kernel. */
import { gatewayAddresses } from '../../network/bridge';
import { type ContainerInfo, listContainers } from '../../network/containers';
import type { Endpoint } from '../../network/endpoint-record';
import { listEndpoints, listNetworks } from '../../network/network';
import { NetNamespace } from '../../netns';
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
  ipv4: string;
  ipv6?: string;
  mac: string;
  ports: PublishedPort[];
}

export interface TopologyNetwork {
  name: string;
  bridge: string;
  bridgeLink: LinkState;
  /** Gateway addresses (CIDRs) the bridge should carry and does not. */
  missingGateways: string[];
  subnet: string;
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
  const [networks, allEndpoints, containers, links, addresses] = await Promise.all([
    listNetworks(),
    listEndpoints(),
    listContainers(),
    host.links.list(),
    host.addresses.list(),
  ]);
  const linkNamed = (name: string) => links.find((l) => l.name === name);
  const linkState = (name: string): LinkState => {
    const link = linkNamed(name);
    return !link ? 'missing' : link.up ? 'up' : 'down';
  };
  const result: Topology = { host: { netnsInode: host.inode }, networks: [], unattached: [] };
  for (const net of networks) {
    const endpoints = allEndpoints.filter((e) => e.network === net.name);
    const bridge = linkNamed(net.bridge);
    const onBridge = (e: Endpoint) => bridge !== undefined && linkNamed(e.hostIfname)?.master === bridge.index;
    const bridgeAddresses = new Set(addresses.filter((a) => a.index === bridge?.index).map((a) => a.cidr));
    result.networks.push({
      name: net.name,
      bridge: net.bridge,
      bridgeLink: linkState(net.bridge),
      missingGateways: gatewayAddresses(net.options).map((a) => a.cidr).filter((cidr) => !bridgeAddresses.has(cidr)),
      subnet: net.subnet,
      ...(net.internal ? {} : { gateway: net.gateway }),
      ...(net.ipv6 ? { ipv6: net.ipv6.subnet } : {}),
      internal: net.internal,
      icc: net.options.icc,
      masquerade: net.options.masquerade,
      firewall: net.options.activeFirewall,
      endpoints: endpoints.map((e) => topologyEndpoint(e, containersIn(e, containers), linkState(e.hostIfname), onBridge(e))),
    });
  }
  for (const c of containers) {
    if (c.endpoint || (c.joined && containers.find((o) => o.id === c.joined)?.endpoint)) continue;
    const mode = c.mode === 'container' ? `container:${c.joined}` : c.mode;
    result.unattached.push({ id: c.id, mode, ...(c.netnsPath ? { netns: c.netnsPath } : {}) });
  }
  return result;
}

function containersIn(endpoint: Endpoint, containers: ContainerInfo[]): string[] {
  const owner = containers.find((c) => c.endpoint?.hostIfname === endpoint.hostIfname);
  return owner ? [owner.id, ...owner.joinedBy] : [];
}

function topologyEndpoint(e: Endpoint, containers: string[], hostLink: LinkState, onBridge: boolean): TopologyEndpoint {
  return {
    hostIfname: e.hostIfname,
    hostLink,
    onBridge,
    containers,
    netns: e.netns.path,
    ifname: e.ifname,
    ipv4: e.ipv4,
    ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
    mac: e.mac,
    ports: e.ports,
  };
}
