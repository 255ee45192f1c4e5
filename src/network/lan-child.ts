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
import { addressChain, disableIPv6, step } from './plumbing';
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

/** The configuration of the child at `index` inside: lo and the child up, its tag, addresses and default routes, then the child as it is. */
async function insideRequests(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, index: number, held: number[]): Promise<ChainedRequest[]> {
  const requests = [
    await ns.links.changeRequest(1, { up: true }, held),
    await ns.links.changeRequest(index, { alias: endpointTag(record.network, record.id), up: true }, held),
    ...(await addressChain(ns, record, index)),
  ];
  if (routesThroughDevice(network) && !network.internal) {
    requests.push({ ...(await ns.routes.addRequest({ dst: 'default', dev: index })), existsIsDone: true });
    if (record.ipv6) requests.push({ ...(await ns.routes.addRequest({ dst: 'default', dev: index, family: 6 })), existsIsDone: true });
  }
  requests.push(ns.links.getRequest(index));
  return requests;
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
export async function createChild(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, fresh: boolean, undo: Undo): Promise<void> {
  const host = NetNamespace.host();
  const held: number[] = [];
  try {
    const hostConnection = await host.connection();
    const create: ChainedRequest = { ...(await host.links.addRequest(childSpec(network, ns, record), held)), echo: false };
    const disable = network.ipv6 ? undefined : ns.sysctlStage(`net/ipv6/conf/${record.ifname}/disable_ipv6`, 1, held);
    const stages: ChainStage[] = [];
    if (fresh) {
      if (disable) stages.push(disable);
      stages.push({ connection: await ns.connection(), requests: await insideRequests(network, ns, record, FRESH_CHILD_INDEX, held) });
    }
    const [[created], ...outcomes] = await step(`create ${network.driver}`, () => hostConnection.chain([create], stages));
    if (!created.ok) {
      const refusal = await childRefusal(created.error, network, ns, record);
      return await step(`create ${network.driver}`, () => Promise.reject(refusal));
    }
    undo.push(`${network.driver} ${record.ifname} in ${ns.label}`, () => unlessGone(() => ns.links.delete(record.ifname)), { guardsEarlier: true });
    let inside = outcomes[outcomes.length - 1];
    let index = FRESH_CHILD_INDEX;
    if (fresh) {
      if (disable && !outcomes[0].every((result) => result.ok)) await step('disable IPv6', () => Promise.reject((outcomes[0].find((r) => !r.ok) as { error: Error }).error));
    } else {
      index = (await step('find child', () => ns.links.get(record.ifname))).index;
      if (!network.ipv6) await disableIPv6(ns, record.ifname);
      const requests = await insideRequests(network, ns, record, index, held);
      [inside] = await step('configure addresses and routes', async () => (await ns.connection()).chain(requests, []));
    }
    const failed = inside.find((result) => !result.ok);
    if (failed && !failed.ok) await step('configure addresses and routes', () => Promise.reject(failed.error));
    const state = inside[inside.length - 1];
    const child = state.ok ? Links.fromReply(state.echo) : undefined;
    if (child?.name !== record.ifname) {
      const why = new NsnetError('INTERNAL', `${ns.label} had a link made in it meanwhile: interface ${index} is not its ${record.ifname}`);
      await step(`create ${network.driver}`, () => Promise.reject(why));
    }
    if (fresh && !network.ipv6 && !disable) await disableIPv6(ns, record.ifname);
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
    const link = await ns.links.get(record.ifname);
    const ours = link.alias === endpointTag(record.network, record.id) || (link.alias === undefined && link.kind === record.link && record.status === 'creating');
    if (ours) await ns.links.delete(link.index);
  } catch (error) {
    if (!isGone(error)) throw error;
  } finally {
    ns.close();
  }
}
