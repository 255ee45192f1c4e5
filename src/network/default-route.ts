/**
 * Which of a namespace's networks gives it its default routes, as Docker 28
 * decides (libnetwork's Endpoint.Less, then getGatewayEndpoint): the
 * endpoints in order of gateway priority, highest first; at equal priority
 * one with gateways before one without (an internal network has none), one
 * with both families' before one with one; then by network name, the one
 * that sorts first. Per family, the first endpoint in that order with a
 * gateway of the family gives the default route. A connect that wins
 * replaces the route in one request; an endpoint that goes and held the
 * route hands it to the next best endpoint still there, before its veth goes
 * (so the namespace is never without one).
 */
import { NetNamespace } from '../netns';
import type { RouteEntry } from '../rtnl/routes';
import { currentStore } from '../state/store';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import type { IpFamily } from '../types/ip';

/** What an endpoint's place in the order depends on. */
export type GatewayCandidate = Pick<EndpointRecord, 'network' | 'gwPriority' | 'gateway' | 'gateway6'>;

/** The default route an endpoint adds, per family: as before (a route there already stays), in place of another's, or none. */
export type RouteChoice = Record<IpFamily, 'add' | 'replace' | 'none'>;

export const FAMILIES: readonly IpFamily[] = [4, 6];

export function gatewayOf(endpoint: Pick<EndpointRecord, 'gateway' | 'gateway6'>, family: IpFamily): string | undefined {
  return family === 4 ? endpoint.gateway : endpoint.gateway6;
}

function gatewayCount(endpoint: GatewayCandidate): number {
  return (endpoint.gateway ? 1 : 0) + (endpoint.gateway6 ? 1 : 0);
}

/** Negative when `a` is the better source of a default route. */
export function gatewayOrder(a: GatewayCandidate, b: GatewayCandidate): number {
  const priority = (b.gwPriority ?? 0) - (a.gwPriority ?? 0);
  if (priority !== 0) return priority;
  const gateways = gatewayCount(b) - gatewayCount(a);
  if (gateways !== 0) return gateways;
  return a.network < b.network ? -1 : a.network > b.network ? 1 : 0;
}

/** Per family, the endpoint that gives the default route, if any has a gateway of it. */
export function gatewayEndpoints<T extends GatewayCandidate>(endpoints: readonly T[]): Partial<Record<IpFamily, T>> {
  const ordered = [...endpoints].sort(gatewayOrder);
  const chosen: Partial<Record<IpFamily, T>> = {};
  for (const family of FAMILIES) {
    const found = ordered.find((endpoint) => gatewayOf(endpoint, family) !== undefined);
    if (found) chosen[family] = found;
  }
  return chosen;
}

/**
 * The endpoints recorded in namespace `inode` (one per network at most, by
 * their keys), other than those being removed and those of a namespace gone
 * whose inode number the kernel gave to another since.
 */
export async function namespaceEndpoints(inode: number): Promise<EndpointRecord[]> {
  const store = currentStore();
  // By the networks' names alone: reading their records costs several times more than the few endpoint files.
  const found: EndpointRecord[] = [];
  for (const network of await store.names('networks')) {
    const record = await store.read('endpoints', endpointKey(network, inode));
    if (record && record.status !== 'removing' && (await NetNamespace.exists(record.netnsPath, record.netnsInode))) found.push(record);
  }
  return found;
}

/**
 * The default routes a new endpoint adds, among `others` in its namespace.
 * Where none of them has a gateway of a family, or `keepExisting` (CNI: the
 * first attachment gives the route), it adds the route as a first network
 * does, leaving one that is there. Where it comes first in the order, it
 * replaces theirs; else it adds none.
 */
export function routeChoice(endpoint: GatewayCandidate, others: readonly GatewayCandidate[], keepExisting = false): RouteChoice {
  const choice: RouteChoice = { 4: 'none', 6: 'none' };
  for (const family of FAMILIES) {
    if (gatewayOf(endpoint, family) === undefined) continue;
    const rivals = others.filter((other) => gatewayOf(other, family) !== undefined);
    if (keepExisting || !rivals.length) choice[family] = 'add';
    else if (gatewayEndpoints([endpoint, ...rivals])[family] === endpoint) choice[family] = 'replace';
  }
  return choice;
}

/** Points the default route of `family` in `ns` at `endpoint`'s gateway, in place of whatever route is there. */
export function routeVia(ns: NetNamespace, endpoint: Pick<EndpointRecord, 'ifname' | 'gateway' | 'gateway6'>, family: IpFamily): Promise<void> {
  return ns.routes.replace({ dst: 'default', gateway: gatewayOf(endpoint, family), dev: endpoint.ifname });
}

/** The main table's default route of `family` in a listing. */
export function defaultRouteOf(routes: readonly RouteEntry[], family: IpFamily): RouteEntry | undefined {
  return routes.find((route) => route.dst === 'default' && route.family === family);
}

/**
 * Before the veth of `record` goes (its namespace staying): each default
 * route it holds moves to the next best ready endpoint of the namespace that
 * has a gateway of that family. A route it does not hold (another network's,
 * or one nsnet did not make) stays as it is.
 */
export async function handOverDefaultRoutes(record: EndpointRecord): Promise<void> {
  if (!record.gateway && !record.gateway6) return;
  const others = (await namespaceEndpoints(record.netnsInode)).filter((other) => other.id !== record.id && other.status === 'ready');
  const next = gatewayEndpoints(others);
  if (!next[4] && !next[6]) return;
  const ns = NetNamespace.atPath(record.netnsPath, record.netnsInode);
  try {
    const routes = await ns.routes.list();
    for (const family of FAMILIES) {
      const successor = next[family];
      if (successor && defaultRouteOf(routes, family)?.dev === record.ifname) await routeVia(ns, successor, family);
    }
  } finally {
    ns.close();
  }
}
