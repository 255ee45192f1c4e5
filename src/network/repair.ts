/**
 * The repairs of reconcile(): what an outside change took from a network's
 * bridge (the bridge itself, its MTU, sysctls, gateway addresses, up) or
 * from a ready endpoint's host end (on the bridge, hairpin, up; the veth
 * pair itself, made again in its namespace), and the default route of a
 * namespace on several networks, put back as the records say.
 * Run under the state lock; an endpoint still being connected or torn down
 * is left alone. Each repair is reported, one line each, naming what it
 * repaired; what fails is reported and the rest goes on.
 */
import { messageOf } from '../errors';
import { NetNamespace } from '../netns';
import type { Address } from '../rtnl/addresses';
import type { Link } from '../rtnl/links';
import type { RouteEntry } from '../rtnl/routes';
import { currentStore } from '../state/store';
import type { ContainerRecord } from '../types/container';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import { type NetworkRecord, networkDriver } from '../types/network';
import { endpointTag, networkTag } from '../types/ownership';
import { type BridgeSysctl, bridgeSysctls, createBridge, findBridge, type GatewayAddress, gatewayAddresses, writeBridgeSysctl } from './bridge';
import { eui64LinkLocal } from './mac';
import { defaultRouteOf, FAMILIES, gatewayEndpoints, gatewayOf, namespaceEndpoints, routeChoice, routeVia } from './default-route';
import { createVeth, plumb } from './plumbing';
import { repairRoutedEndpoint, repairRoutedNetwork } from './routed-repair';
import { repairLimits } from './shaping-repair';
import { Undo } from './undo';

export interface RepairReport {
  /** Networks whose bridge was missing and was made again. */
  bridges: string[];
  /** What was repaired, one line each: `<whose>: <what was done>`. */
  repaired: string[];
  failures: string[];
}

/** Does one repair; reports it as done, or as failed with the reason. */
async function repair(report: RepairReport, subject: string, what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
  } catch (error) {
    report.failures.push(`${subject}: ${what} failed: ${messageOf(error)}`);
    return false;
  }
  report.repaired.push(`${subject}: ${what}`);
  return true;
}

const LINK_LOCAL = /^fe[89ab][0-9a-f]:/i;

/** One thing an existing bridge lacks, and how it reads in the report. */
export type BridgeRepair = { what: string } & (
  | { kind: 'mtu' | 'up' }
  | { kind: 'sysctl'; sysctl: BridgeSysctl }
  | { kind: 'address'; address: GatewayAddress }
);

/** What an existing bridge lacks, from its link, addresses and sysctls as read (undefined: no such key). */
export function bridgeRepairs(
  network: NetworkRecord,
  bridge: Pick<Link, 'mtu' | 'up'>,
  addresses: readonly Pick<Address, 'cidr'>[],
  sysctls: ReadonlyMap<string, string | undefined>,
): BridgeRepair[] {
  const repairs: BridgeRepair[] = [];
  if (bridge.mtu !== network.mtu) repairs.push({ kind: 'mtu', what: `bridge ${network.bridge} MTU set back to ${network.mtu} (was ${bridge.mtu})` });
  for (const sysctl of bridgeSysctls(network)) {
    const value = sysctls.get(sysctl.key);
    // An optional key that does not exist (no IPv6 in the kernel) needs nothing.
    if (value === sysctl.value || (value === undefined && sysctl.optional)) continue;
    repairs.push({ kind: 'sysctl', sysctl, what: `sysctl ${sysctl.key} set back to ${sysctl.value} (was ${value ?? 'missing'})` });
  }
  const present = new Set(addresses.map((a) => a.cidr));
  for (const address of gatewayAddresses(network)) {
    if (!present.has(address.cidr)) repairs.push({ kind: 'address', address, what: `gateway address ${address.cidr} put back on bridge ${network.bridge}` });
  }
  // Without one the bridge sends no neighbour solicitation for forwarded
  // traffic (a published port reached over IPv6). Going up makes it again.
  if (network.ipv6 && bridge.up && !addresses.some((a) => LINK_LOCAL.test(a.cidr))) {
    const address = { cidr: `${eui64LinkLocal(network.bridgeMac)}/64`, nodad: true };
    repairs.push({ kind: 'address', address, what: `link-local address ${address.cidr} put back on bridge ${network.bridge}` });
  }
  // Last, as when the bridge is made: up once it has its addresses.
  if (!bridge.up) repairs.push({ kind: 'up', what: `bridge ${network.bridge} up again` });
  return repairs;
}

async function readSysctls(network: NetworkRecord): Promise<Map<string, string | undefined>> {
  const host = NetNamespace.host();
  const read = async (key: string) => host.sysctl(key).catch(() => undefined);
  return new Map(await Promise.all(bridgeSysctls(network).map(async ({ key }) => [key, await read(key)] as const)));
}

function applyBridgeRepair(network: NetworkRecord, fix: BridgeRepair): Promise<unknown> {
  const host = NetNamespace.host();
  switch (fix.kind) {
    case 'mtu':
      return host.links.set(network.bridge, { mtu: network.mtu });
    case 'up':
      return host.links.set(network.bridge, { up: true });
    case 'sysctl':
      return writeBridgeSysctl(fix.sysctl);
    case 'address':
      return host.addresses.add(network.bridge, fix.address.cidr, { nodad: fix.address.nodad });
  }
}

/**
 * Makes the bridge of `network` again if it is missing (with its gateway
 * addresses and sysctls, as createBridge does), else puts back what it lacks.
 */
export async function repairBridge(network: NetworkRecord, report: RepairReport): Promise<void> {
  if (networkDriver(network) === 'routed') return repairRoutedNetwork(network, (subject, what, fn) => repair(report, subject, what, fn));
  const subject = `network "${network.name}"`;
  let bridge: Link | undefined;
  try {
    bridge = await findBridge(network);
  } catch (error) {
    report.failures.push(`${subject}: ${messageOf(error)}`);
    return;
  }
  if (!bridge) {
    const what = `bridge ${network.bridge} made again (gateway addresses, sysctls, up)`;
    if (await repair(report, subject, what, () => createBridge(network))) report.bridges.push(network.name);
    return;
  }
  const [addresses, sysctls] = await Promise.all([NetNamespace.host().addresses.list({ dev: bridge.index }), readSysctls(network)]);
  for (const fix of bridgeRepairs(network, bridge, addresses, sysctls)) {
    await repair(report, subject, fix.what, () => applyBridgeRepair(network, fix));
  }
}

/** Who an endpoint is, for a report line: its host end, its container (or namespace) and network. */
function endpointSubject(endpoint: EndpointRecord, container: string | undefined): string {
  const whose = container === undefined ? `netns ${endpoint.netnsPath}` : `container "${container}"`;
  return `endpoint ${endpoint.hostIfname} of ${whose} on network "${endpoint.network}"`;
}

/**
 * The veth pair made again with the endpoint's names and MAC, its inside
 * configured with the recorded addresses and routes, as a connect does (its
 * default routes where its gateway priority gives them to it among the
 * namespace's networks); the record keeps the new host end's MAC. Undone if
 * a step fails, so that the next reconcile tries again.
 */
async function replumb(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
  const ns = NetNamespace.atPath(endpoint.netnsPath, endpoint.netnsInode);
  const undo = new Undo();
  try {
    const hostEnd = await createVeth(network, ns, endpoint);
    undo.push(`host end ${endpoint.hostIfname}`, () => NetNamespace.host().links.delete(hostEnd.index));
    const record = { ...endpoint };
    const others = (await namespaceEndpoints(endpoint.netnsInode)).filter((other) => other.id !== endpoint.id && other.status === 'ready');
    await plumb(network, ns, record, hostEnd, routeChoice(endpoint, others));
    await currentStore().write('endpoints', endpointKey(record.network, record.netnsInode), record);
  } catch (error) {
    throw await undo.fail(error);
  } finally {
    ns.close();
  }
}

async function repairHostEnd(network: NetworkRecord, endpoint: EndpointRecord, subject: string, bridge: Link, hostEnd: Link | undefined, report: RepairReport): Promise<void> {
  const host = NetNamespace.host();
  if (!hostEnd) {
    const what = `veth ${endpoint.hostIfname} ⇄ ${endpoint.ifname} made again on bridge ${network.bridge} (MAC ${endpoint.mac}, addresses, routes)`;
    await repair(report, subject, what, () => replumb(network, endpoint));
    return;
  }
  if (hostEnd.alias !== endpointTag(endpoint.network, endpoint.id)) {
    report.failures.push(`${subject}: interface ${endpoint.hostIfname} is not this endpoint's (alias ${JSON.stringify(hostEnd.alias ?? '')})`);
    return;
  }
  let hairpin = hostEnd.hairpin === true;
  if (hostEnd.master !== bridge.index) {
    const what = `${endpoint.hostIfname} put back on bridge ${network.bridge}`;
    if (!(await repair(report, subject, what, () => host.links.set(hostEnd.index, { master: bridge.index })))) return;
    hairpin = false; // a new bridge port starts with hairpin off
  }
  if (!hairpin) await repair(report, subject, `hairpin mode on for ${endpoint.hostIfname}`, () => host.links.set(hostEnd.index, { hairpin: true }));
  if (!hostEnd.up) await repair(report, subject, `${endpoint.hostIfname} up again`, () => host.links.set(hostEnd.index, { up: true }));
}

/**
 * Repairs the host ends of the ready endpoints in `live` (the bridges
 * repaired already), then the default routes of their namespaces. An
 * endpoint whose network or bridge is missing cannot be repaired: that is a
 * failure.
 */
export async function repairEndpoints(networks: ReadonlyMap<string, NetworkRecord>, live: readonly EndpointRecord[], report: RepairReport): Promise<void> {
  const whole = live.filter((endpoint) => endpoint.status === 'ready');
  if (!whole.length) return;
  // A macvlan or ipvlan child has no host end: it lives and dies with its namespace, and only its namespace's default routes are its part.
  const children = whole.filter((endpoint) => endpoint.link !== undefined);
  const ready = whole.filter((endpoint) => endpoint.link === undefined);
  const [links, containers] = await Promise.all([NetNamespace.host().links.list(), currentStore().list<ContainerRecord>('containers')]);
  const byName = new Map(links.map((link) => [link.name, link]));
  const containerOf = new Map(containers.filter((c) => c.endpoint !== undefined).map((c) => [c.endpoint, c.id]));
  const repaired: { endpoint: EndpointRecord; subject: string }[] = [];
  // Read once, and only for endpoints of routed networks.
  let routes: Promise<RouteEntry[]> | undefined;
  const hostRoutes = () => (routes ??= Promise.all([4, 6].map((family) => NetNamespace.host().routes.list({ family: family as 4 | 6 }))).then((lists) => lists.flat()));
  for (const endpoint of ready) {
    const subject = endpointSubject(endpoint, containerOf.get(endpointKey(endpoint.network, endpoint.netnsInode)));
    const network = networks.get(endpoint.network);
    if (network && networkDriver(network) === 'routed') {
      const failed = report.failures.length;
      const fail = (why: string) => report.failures.push(why);
      await repairRoutedEndpoint(network, endpoint, subject, byName.get(endpoint.hostIfname), hostRoutes, (s, what, fn) => repair(report, s, what, fn), fail);
      if (report.failures.length === failed) repaired.push({ endpoint, subject });
      continue;
    }
    const found = network && byName.get(network.bridge);
    const bridge = found?.kind === 'bridge' && found.alias === networkTag(endpoint.network) ? found : undefined;
    if (!network || !bridge) {
      report.failures.push(`${subject}: ${network ? `bridge ${network.bridge}` : 'its network'} is missing, nothing to put it back on`);
      continue;
    }
    const failed = report.failures.length;
    await repairHostEnd(network, endpoint, subject, bridge, byName.get(endpoint.hostIfname), report);
    if (report.failures.length === failed) repaired.push({ endpoint, subject });
  }
  // Once the host ends are back (a veth made again has none of its limits).
  await repairLimits(repaired, (endpoint) => networks.get(endpoint.network)?.mtu ?? 1500, report);
  await repairDefaultRoutes([...repaired.map(({ endpoint }) => endpoint), ...children], containerOf, report);
}

/**
 * A namespace on several networks without the default route one of them
 * gives (a connect or disconnect that died between its steps): the route
 * put back via the network its gateway priority chooses. A route that is
 * there stays, whichever network gives it (a CNI runtime's first
 * attachment keeps it); a namespace on one network is left as it is.
 */
async function repairDefaultRoutes(whole: readonly EndpointRecord[], containerOf: ReadonlyMap<string | undefined, string>, report: RepairReport): Promise<void> {
  const byNamespace = new Map<number, EndpointRecord[]>();
  for (const endpoint of whole) byNamespace.set(endpoint.netnsInode, [...(byNamespace.get(endpoint.netnsInode) ?? []), endpoint]);
  for (const endpoints of byNamespace.values()) {
    const chosen = gatewayEndpoints(endpoints);
    if (endpoints.length < 2 || (!chosen[4] && !chosen[6])) continue;
    const [first] = endpoints;
    const container = endpoints.map((endpoint) => containerOf.get(endpointKey(endpoint.network, endpoint.netnsInode))).find((id) => id !== undefined);
    const subject = container === undefined ? `netns ${first.netnsPath}` : `container "${container}"`;
    const ns = NetNamespace.atPath(first.netnsPath, first.netnsInode);
    try {
      const routes = await ns.routes.list();
      for (const family of FAMILIES) {
        const via = chosen[family];
        if (!via || defaultRouteOf(routes, family)) continue;
        const what = `IPv${family} default route via ${gatewayOf(via, family)} (network "${via.network}") put back`;
        await repair(report, subject, what, () => routeVia(ns, via, family));
      }
    } catch (error) {
      report.failures.push(`${subject}: reading its routes failed: ${messageOf(error)}`);
    } finally {
      ns.close();
    }
  }
}
