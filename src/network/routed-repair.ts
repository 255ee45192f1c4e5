/**
 * reconcile()'s repairs of routed networks: the host's forwarding, and a
 * ready endpoint's host end (made again with its namespace's side when it
 * is gone, up again) and host routes (put back when deleted by hand), as
 * the records say. The bridge's repairs (repair.ts) have no meaning here.
 */
import { unlessGone } from '../errors';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import type { RouteEntry } from '../rtnl/routes';
import { currentStore } from '../state/store';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import { endpointTag } from '../types/ownership';
import { namespaceEndpoints, routeChoice } from './default-route';
import { createRoutedVeth } from './routed-veth';
import { Undo } from './undo';

type Repair = (subject: string, what: string, fn: () => Promise<unknown>) => Promise<boolean>;

/** Forwarding on again, where something turned it off. */
export async function repairRoutedNetwork(network: NetworkRecord, repair: Repair): Promise<void> {
  const host = NetNamespace.host();
  const subject = `network "${network.name}"`;
  const sysctls = [{ key: 'net.ipv4.ip_forward', optional: false }];
  if (network.ipv6) sysctls.push({ key: 'net.ipv6.conf.all.forwarding', optional: true });
  for (const { key, optional } of sysctls) {
    const value = await host.sysctl(key).catch(() => undefined);
    if (value === '1' || (value === undefined && optional)) continue;
    await repair(subject, `sysctl ${key} set back to 1 (was ${value ?? 'missing'})`, () => host.sysctl(key, 1));
  }
}

/** The veth made again, as a connect to a namespace that is not fresh makes it; the record keeps the new host end's MAC. */
async function remakeVeth(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
  const ns = NetNamespace.atPath(endpoint.netnsPath, endpoint.netnsInode);
  const undo = new Undo();
  try {
    const record = { ...endpoint };
    // Whatever is left of the old inside (its interface, if only the host end was deleted, goes with it).
    await unlessGone(() => ns.links.delete(endpoint.ifname));
    // Its default routes where its gateway priority gives them to it among the namespace's networks, as replumb's.
    const others = (await namespaceEndpoints(endpoint.netnsInode)).filter((other) => other.id !== endpoint.id && other.status === 'ready');
    await createRoutedVeth(network, ns, record, false, (hostEnd) => undo.push(`host end ${endpoint.hostIfname}`, () => NetNamespace.host().links.delete(hostEnd.index)), routeChoice(endpoint, others));
    await currentStore().write('endpoints', endpointKey(record.network, record.netnsInode), record);
  } catch (error) {
    throw await undo.fail(error);
  } finally {
    ns.close();
  }
}

/** The host routes an endpoint needs, as `dst` text, that `routes` lack. */
function missingRoutes(endpoint: EndpointRecord, hostEnd: Pick<Link, 'name'>, routes: readonly RouteEntry[]): string[] {
  const present = new Set(routes.filter((route) => route.dev === hostEnd.name).map((route) => route.dst));
  const wanted = [`${endpoint.ipv4}/32`, ...(endpoint.ipv6 ? [`${endpoint.ipv6}/128`] : [])];
  return wanted.filter((dst) => !present.has(dst));
}

/** What CNI's CHECK reports of a routed endpoint's host routes: those missing through its host end. */
export async function missingHostRoutes(endpoint: EndpointRecord, hostIndex: number): Promise<string[]> {
  const host = NetNamespace.host();
  const routes = (await Promise.all([4, 6].map((family) => host.routes.list({ family: family as 4 | 6, dev: hostIndex })))).flat();
  return missingRoutes(endpoint, { name: endpoint.hostIfname }, routes).map((dst) => `host route ${dst} dev ${endpoint.hostIfname} is missing`);
}

/** Repairs the host side of one ready endpoint of a routed network; `routes` are the host's. */
export async function repairRoutedEndpoint(network: NetworkRecord, endpoint: EndpointRecord, subject: string, hostEnd: Link | undefined, routes: () => Promise<RouteEntry[]>, repair: Repair, fail: (why: string) => void): Promise<void> {
  const host = NetNamespace.host();
  if (!hostEnd) {
    await repair(subject, `veth ${endpoint.hostIfname} ⇄ ${endpoint.ifname} made again (MAC ${endpoint.mac}, addresses, routes, host routes)`, () => remakeVeth(network, endpoint));
    return;
  }
  if (hostEnd.alias !== endpointTag(endpoint.network, endpoint.id)) {
    fail(`${subject}: interface ${endpoint.hostIfname} is not this endpoint's (alias ${JSON.stringify(hostEnd.alias ?? '')})`);
    return;
  }
  if (!hostEnd.up && !(await repair(subject, `${endpoint.hostIfname} up again`, () => host.links.set(hostEnd.index, { up: true })))) return;
  for (const dst of missingRoutes(endpoint, hostEnd, await routes())) {
    const scope = dst.includes(':') ? {} : { scope: 'link' as const };
    await repair(subject, `host route ${dst} dev ${endpoint.hostIfname} put back`, () => host.routes.add({ dst, dev: hostEnd.index, ...scope }));
  }
}
