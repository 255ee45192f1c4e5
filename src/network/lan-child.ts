/**
 * An endpoint of a macvlan or ipvlan network: a child of the network's
 * parent, made straight in the namespace in one request (IFLA_NET_NS_FD, as
 * a veth's peer is), named as asked, with the network's MTU, tagged with
 * the endpoint's alias there; then its addresses and default route (via
 * the LAN's router; in ipvlan l3 and l3s, through the interface itself, as
 * Docker does: those modes route and answer no ARP). It has no host end:
 * its namespace's deletion takes it.
 */
import { closeSync } from 'node:fs';

import { isGone, NetlinkError, NsnetError, unlessGone } from '../errors';
import type { ChainedRequest, ChainStage } from '../kernel/rtnl-connection';
import { NetNamespace } from '../netns';
import { type LinkSpec, Links } from '../rtnl/links';
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import { endpointTag } from '../types/ownership';
import type { RouteChoice } from './default-route';
import { addressChain, defaultRouteRequests, disableIPv6, step } from './plumbing';
import type { Undo } from './undo';

/** In a namespace just made, nothing but lo (index 1): the kernel numbers the first link made in it 2. */
const FRESH_CHILD_INDEX = 2;

/** ipvlan l3 and l3s route through the interface: no neighbour is asked for the router. */
export function routesThroughDevice(network: Pick<NetworkRecord, 'driver' | 'ipvlanMode'>): boolean {
  return network.driver === 'ipvlan' && network.ipvlanMode !== 'l2';
}

function childSpec(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord): LinkSpec {
  const common = { name: record.ifname, parent: network.parent as string, netns: ns, mtu: network.mtu };
  if (network.driver === 'ipvlan') return { ...common, kind: 'ipvlan', mode: network.ipvlanMode, flag: network.ipvlanFlag };
  return { ...common, kind: 'macvlan', mode: network.macvlanMode, mac: record.mac };
}

/**
 * The configuration of the child at `index` inside: lo up, the child's tag
 * and addresses, the child up (which, with arp_notify, announces its
 * addresses: a machine of the LAN may still know a reused one by the MAC of
 * the container that had it), its default routes, then the child as it is.
 */
async function insideRequests(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, index: number, held: number[], choice: RouteChoice): Promise<ChainedRequest[]> {
  const routes = await defaultRouteRequests(ns, record, index, choice);
  if (routesThroughDevice(network) && !network.internal) {
    routes.push({ ...(await ns.routes.addRequest({ dst: 'default', dev: index })), existsIsDone: true });
    if (record.ipv6) routes.push({ ...(await ns.routes.addRequest({ dst: 'default', dev: index, family: 6 })), existsIsDone: true });
  }
  return [
    await ns.links.changeRequest(1, { up: true }, held),
    await ns.links.changeRequest(index, { alias: endpointTag(record.network, record.id) }, held),
    ...(await addressChain(ns, { ...record, gateway: undefined, gateway6: undefined }, index)),
    await ns.links.changeRequest(index, { up: true }, held),
    ...routes,
    ns.links.getRequest(index),
  ];
}

/** Sysctls of the child, before it is up: no IPv6 where the network has none (as a veth's peer), arp_notify. */
function childSysctls(network: NetworkRecord, ifname: string): [string, number][] {
  return [...(network.ipv6 ? [] : [[`net/ipv6/conf/${ifname}/disable_ipv6`, 1] as [string, number]]), [`net/ipv4/conf/${ifname}/arp_notify`, 1]];
}

/** The kernel's refusal of the child in nsnet's terms, where it has them. */
async function childRefusal(error: Error, network: NetworkRecord, ns: NetNamespace, record: EndpointRecord): Promise<Error> {
  if (error instanceof NetlinkError && error.code === 'EEXIST' && (await unlessGone(() => ns.links.get(record.ifname)))) {
    return new NsnetError('INTERFACE_EXISTS', `${ns.label} has an interface ${record.ifname} already: give the endpoint another ifname`, { ifname: record.ifname }, { cause: error });
  }
  if (error instanceof NetlinkError && error.code === 'ENODEV') {
    return new NsnetError('PARENT_INVALID', `parent ${network.parent} of network "${network.name}" is gone; reconcile() makes one nsnet made again`, { parent: network.parent }, { cause: error });
  }
  return error;
}

/**
 * Makes the endpoint's child in `ns` and configures it. In a namespace just
 * made (`fresh`), in one job of the addon: the child, then its whole
 * configuration, known by the index the kernel gives it there (see
 * FRESH_CHILD_INDEX; checked from the child's state at the end). Elsewhere,
 * the child is made, then found by its name and configured. The record
 * takes the child's MAC (an ipvlan child has its parent's).
 */
export async function createChild(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, fresh: boolean, undo: Undo, routes: RouteChoice): Promise<void> {
  const host = NetNamespace.host();
  const held: number[] = [];
  try {
    const [hostConnection, connection] = await Promise.all([host.connection(), ns.connection()]);
    const create: ChainedRequest = { ...(await host.links.addRequest(childSpec(network, ns, record), held)), echo: false };
    const sysctls = childSysctls(network, record.ifname);
    // Through directories opened with the namespace's socket, in the chain; else written once the child exists.
    const sysctlStages = fresh ? sysctls.map(([key, value]) => ns.sysctlStage(key, value, held)) : [];
    const viaChain = sysctlStages.length > 0 && sysctlStages.every((stage) => stage !== undefined);
    const stages: ChainStage[] = [];
    if (fresh) {
      if (viaChain) stages.push(...(sysctlStages as ChainStage[]));
      stages.push({ connection, requests: await insideRequests(network, ns, record, FRESH_CHILD_INDEX, held, routes) });
    }
    const [[created], ...outcomes] = await step(`create ${network.driver}`, () => hostConnection.chain([create], stages));
    if (!created.ok) {
      const refusal = await childRefusal(created.error, network, ns, record);
      return await step(`create ${network.driver}`, () => Promise.reject(refusal));
    }
    undo.push(`${network.driver} ${record.ifname} in ${ns.label}`, () => unlessGone(() => ns.links.delete(record.ifname)), { guardsEarlier: true });
    let inside = outcomes[outcomes.length - 1];
    let index = FRESH_CHILD_INDEX;
    for (const results of viaChain ? outcomes.slice(0, -1) : []) {
      const failed = results.find((result) => !result.ok);
      if (failed && !failed.ok) await step('write sysctls', () => Promise.reject(failed.error));
    }
    if (!fresh) {
      index = (await step('find child', () => ns.links.get(record.ifname))).index;
      for (const [key, value] of sysctls) await step('write sysctls', () => unlessGone(() => ns.sysctl(key, value)));
      const requests = await insideRequests(network, ns, record, index, held, routes);
      [inside] = await step('configure addresses and routes', async () => connection.chain(requests, []));
    }
    const failed = inside.find((result) => !result.ok);
    if (failed && !failed.ok) await step('configure addresses and routes', () => Promise.reject(failed.error));
    const state = inside[inside.length - 1];
    const child = state.ok ? Links.fromReply(state.echo) : undefined;
    if (child?.name !== record.ifname) {
      const why = new NsnetError('INTERNAL', `${ns.label} had a link made in it meanwhile: interface ${index} is not its ${record.ifname}`);
      await step(`create ${network.driver}`, () => Promise.reject(why));
    }
    // A namespace without sysctl directories: as a veth's peer, IPv6 goes once the child exists.
    if (fresh && !viaChain && !network.ipv6) await disableIPv6(ns, record.ifname);
    record.mac = (child as { mac: string }).mac;
  } finally {
    for (const fd of held) closeSync(fd);
  }
}

/**
 * Deletes the endpoint's child in its namespace if it is this endpoint's:
 * tagged with its alias, or, for a connect that died before tagging it, an
 * untagged link of the network's kind. A namespace gone took it already.
 */
export async function removeChild(record: EndpointRecord): Promise<void> {
  if (!(await NetNamespace.exists(record.netnsPath, record.netnsInode))) return;
  const ns = NetNamespace.atPath(record.netnsPath, record.netnsInode);
  try {
    await removeChildIn(ns, record);
  } finally {
    ns.close();
  }
}

/** removeChild(), through a handle on the namespace (one whose mount is gone, that processes keep alive). */
export async function removeChildIn(ns: NetNamespace, record: EndpointRecord): Promise<void> {
  try {
    const link = await ns.links.get(record.ifname);
    const ours = link.alias === endpointTag(record.network, record.id) || (link.alias === undefined && link.kind === record.link && record.status === 'creating');
    if (ours) await ns.links.delete(link.index);
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}
