/**
 * Containers' traffic counters (`nsnet stats`), read inside each container's
 * namespace from its endpoints' interfaces (eth0, eth1, ...): rx is what the
 * container received, tx what it sent, for every driver (a macvlan or
 * ipvlan endpoint has no host end to read).
 */
import { NsnetError } from '../errors';
import { NetNamespace } from '../netns';
import type { Link, LinkStats } from '../rtnl/links';
import { currentStore } from '../state/store';
import type { ContainerMode } from '../types/container';

/** A container whose traffic is counted, and the interfaces that carry it. */
export interface TrafficTarget {
  id: string;
  mode: ContainerMode;
  /** The container whose namespace this one joined ('container:<id>'): they share its interfaces. */
  joined?: string;
  /** None in host mode: the traffic is the host's, on no interface of the container's own. */
  netns?: { path: string; inode: number };
  /** Its endpoints in the namespace, one per network, by interface name; `endpoint`: the endpoint's id. */
  interfaces: { ifname: string; network: string; endpoint: string }[];
}

/** What an interface's counters read at one time. */
export interface InterfaceCounters {
  ifname: string;
  network: string;
  /** The endpoint's id: an interface of that name made anew (the container made again) is another's. */
  endpoint: string;
  stats: LinkStats;
}

export interface TrafficSample {
  /** When the counters were read, in milliseconds of a monotonic clock. */
  at: number;
  /** By container id; a container whose namespace went away meanwhile is left out. */
  counters: Map<string, InterfaceCounters[]>;
}

/**
 * The ready containers `ids` names (every one when empty), in the order
 * given or by id; CONTAINER_NOT_FOUND for an id that is none.
 */
export async function trafficTargets(ids: readonly string[]): Promise<TrafficTarget[]> {
  const store = currentStore();
  const [containers, endpoints] = await Promise.all([store.list('containers'), store.list('endpoints')]);
  const ready = new Map(containers.filter((c) => c.status === 'ready').map((c) => [c.id, c]));
  const missing = ids.filter((id) => !ready.has(id));
  if (missing.length) throw new NsnetError('CONTAINER_NOT_FOUND', `no container named ${missing.map((id) => `"${id}"`).join(', ')}`, { details: { ids: missing } });
  const chosen = ids.length ? [...new Set(ids)] : [...ready.keys()].sort();
  return chosen.map((id) => {
    const record = ready.get(id)!;
    const target: TrafficTarget = { id, mode: record.mode, interfaces: [] };
    if (record.joined) target.joined = record.joined;
    if (record.mode === 'host' || record.netnsPath === undefined || record.netnsInode === undefined) return target;
    const inode = record.netnsInode;
    target.netns = { path: record.netnsPath, inode };
    target.interfaces = endpoints
      .filter((e) => e.netnsInode === inode && e.status === 'ready')
      .map((e) => ({ ifname: e.ifname, network: e.network, endpoint: e.id }))
      .sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
    return target;
  });
}

/**
 * Reads the counters of targets' interfaces: one link dump per namespace (a
 * container and those that joined it share one). Each namespace's handle is
 * closed once read: a handle (its descriptor, its netlink socket) kept from
 * one reading to the next would keep the namespace of a container torn down
 * meanwhile alive, and its veth on the bridge with its address.
 */
export async function readTraffic(targets: readonly TrafficTarget[]): Promise<TrafficSample> {
  const namespaces = new Map<string, { path: string; inode: number }>();
  for (const { netns } of targets) if (netns) namespaces.set(namespaceKey(netns), netns);
  const dumps = await Promise.all([...namespaces].map(async ([key, netns]) => [key, await linksOf(netns)] as const));
  const linksByNamespace = new Map(dumps);
  const counters = new Map<string, InterfaceCounters[]>();
  for (const target of targets) {
    const links = target.netns ? linksByNamespace.get(namespaceKey(target.netns)) : [];
    if (!links) continue;
    const byName = new Map(links.map((link) => [link.name, link.stats]));
    counters.set(
      target.id,
      target.interfaces.flatMap(({ ifname, network, endpoint }) => {
        const stats = byName.get(ifname);
        return stats ? [{ ifname, network, endpoint, stats }] : [];
      }),
    );
  }
  return { at: performance.now(), counters };
}

/** The namespace's links with their counters; undefined once it is gone. */
async function linksOf(netns: { path: string; inode: number }): Promise<Link[] | undefined> {
  const ns = NetNamespace.atPath(netns.path, netns.inode);
  try {
    return await ns.links.list({ stats: true });
  } catch (error) {
    if (!(error instanceof NsnetError) || error.code !== 'NETNS_NOT_FOUND') throw error;
    return undefined;
  } finally {
    ns.close();
  }
}

function namespaceKey(netns: { path: string; inode: number }): string {
  return `${netns.path}@${netns.inode}`;
}
