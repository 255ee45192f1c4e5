/** What `nsnet topology` draws: networks, endpoints and containers, checked against the kernel. */
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
  const [networks, allEndpoints, containers, links] = await Promise.all([listNetworks(), listEndpoints(), listContainers(), host.links.list()]);
  const linkState = (name: string): LinkState => {
    const link = links.find((l) => l.name === name);
    return !link ? 'missing' : link.up ? 'up' : 'down';
  };
  const result: Topology = { host: { netnsInode: host.inode }, networks: [], unattached: [] };
  for (const net of networks) {
    const endpoints = allEndpoints.filter((e) => e.network === net.name);
    result.networks.push({
      name: net.name,
      bridge: net.bridge,
      bridgeLink: linkState(net.bridge),
      subnet: net.subnet,
      ...(net.internal ? {} : { gateway: net.gateway }),
      ...(net.ipv6 ? { ipv6: net.ipv6.subnet } : {}),
      internal: net.internal,
      icc: net.options.icc,
      masquerade: net.options.masquerade,
      firewall: net.options.activeFirewall,
      endpoints: endpoints.map((e) => topologyEndpoint(e, containersIn(e, containers), linkState(e.hostIfname))),
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

function topologyEndpoint(e: Endpoint, containers: string[], hostLink: LinkState): TopologyEndpoint {
  return {
    hostIfname: e.hostIfname,
    hostLink,
    containers,
    netns: e.netns.path,
    ifname: e.ifname,
    ipv4: e.ipv4,
    ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
    mac: e.mac,
    ports: e.ports,
  };
}
