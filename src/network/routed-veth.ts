/**
 * The kernel side of an endpoint on a routed network: a veth whose host end
 * (no address; the network's MAC, see types/routed-network.ts) is on no
 * bridge, the container's address as a /32 (/128) inside, a link-local
 * gateway reached by a permanent neighbour entry, and the host's route to
 * the container through the host end. In one job more than a bridge's
 * endpoint takes: the host routes need the host end's index, which the
 * kernel gives it only when it makes it (see createRoutedVeth).
 *
 * The gateway answers by a neighbour entry, not proxy ARP (Calico's way):
 * the entry fits the namespace's part of the job (the interface's index is
 * known there), works the same for IPv6 (proxy NDP needs a proxy entry on
 * the host end, by its index, which is not known until it is made), and
 * does not depend on the host having a route to 169.254.1.1.
 */
import { closeSync } from 'node:fs';

import { NsnetError, unlessGone } from '../errors';
import type { ChainedRequest, ChainResult, ChainStage } from '../kernel/rtnl-connection';
import { NetNamespace } from '../netns';
import { type Link, Links, type LinkSpec } from '../rtnl/links';
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import { ROUTED_GATEWAY4, ROUTED_GATEWAY6, routedLinkGroup } from '../types/routed-network';
import { endpointTag } from '../types/ownership';
import type { RouteChoice } from './default-route';
import { defaultRouteRequests, disableIPv6, FRESH_PEER_INDEX, step, vethRefusal, waitForCarrier } from './plumbing';

const CONFIGURE = 'configure addresses and routes';

/**
 * The routes inside: the gateway on the link, then through it the default
 * route, or on an internal network only the network's own subnet (its
 * containers reach each other, and nothing else). A default route of a
 * family the namespace has already (another network's) stays, as on a
 * bridge network (see plumbing.ts). The kernel takes a route via the
 * gateway on a device only where the gateway's route is on that device, and
 * two such routes of one metric are one route: the gateway's route has the
 * interface's index as its metric, so that a second routed network's
 * interface in the namespace (or another plugin's route) has one of its own.
 * A routed network always has IPv4 (createRoutedNetwork has no ipv4: false).
 */
async function insideRequests(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, index: number, held: number[], routes: RouteChoice): Promise<ChainedRequest[]> {
  const requests = [
    await ns.links.changeRequest(1, { up: true }, held),
    await ns.links.changeRequest(index, { up: true }, held),
    ns.addresses.addRequest(index, `${record.ipv4}/32`),
    await ns.neighbours.addRequest({ dev: index, address: ROUTED_GATEWAY4, mac: network.bridgeMac }),
    { ...(await ns.routes.addRequest({ dst: `${ROUTED_GATEWAY4}/32`, dev: index, metric: index })), existsIsDone: true },
    ...(network.internal ? [{ ...(await ns.routes.addRequest({ dst: network.subnet as string, gateway: ROUTED_GATEWAY4, dev: index })), existsIsDone: true }] : []),
  ];
  if (record.ipv6 && network.ipv6) {
    requests.push(
      ns.addresses.addRequest(index, `${record.ipv6}/128`, { nodad: true }),
      await ns.neighbours.addRequest({ dev: index, address: ROUTED_GATEWAY6, mac: network.bridgeMac }),
      ...(network.internal ? [{ ...(await ns.routes.addRequest({ dst: network.ipv6.subnet, gateway: ROUTED_GATEWAY6, dev: index })), existsIsDone: true }] : []),
    );
  }
  // Default routes via the link-local gateways (the record's), as the namespace's networks' priorities choose.
  requests.push(...(await defaultRouteRequests(ns, record, index, routes)), ns.links.getRequest(index));
  return requests;
}

/** The host's routes to the container, through its host end. */
async function hostRoutes(record: EndpointRecord, hostIndex: number): Promise<ChainedRequest[]> {
  const host = NetNamespace.host();
  const routes = [await host.routes.addRequest({ dst: `${record.ipv4}/32`, dev: hostIndex, scope: 'link' })];
  if (record.ipv6) routes.push(await host.routes.addRequest({ dst: `${record.ipv6}/128`, dev: hostIndex }));
  return routes;
}

function vethSpec(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord): LinkSpec {
  return {
    kind: 'veth',
    name: record.hostIfname,
    mac: network.bridgeMac,
    mtu: network.mtu,
    linkGroup: routedLinkGroup(network),
    // Up once its DAD is off: see createRoutedVeth.
    up: false,
    peer: { name: record.ifname, netns: ns, mac: record.mac, mtu: network.mtu },
  };
}

function firstFailure(name: string, results: ChainResult[] | undefined): Promise<void> {
  const failed = results?.find((result) => !result.ok);
  return failed && !failed.ok ? step(name, () => Promise.reject(failed.error)) : Promise.resolve();
}

/**
 * Makes and configures the veth of an endpoint on routed network `network`,
 * in two jobs of the addon. The first makes the veth, its host end down,
 * and once it exists turns DAD off on the host end (its link-local address,
 * the host's source for neighbour discovery towards the container, is then
 * usable at once, not a second later; on an IPv4-only network IPv6 goes off
 * on it instead, as inside), tags it and brings it up; in a
 * namespace just made (`fresh`: nothing but lo), the namespace's side goes
 * in that job too, as createConfiguredVeth does on a bridge. The second adds
 * the host routes, which need the host end's index, and otherwise the
 * namespace's side. `made` gets the host end as soon as it exists, for the
 * caller's undo (which deletes it, and the host routes with it).
 */
export async function createRoutedVeth(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, fresh: boolean, made: (hostEnd: Link) => void, routes: RouteChoice): Promise<void> {
  const host = NetNamespace.host();
  const held: number[] = [];
  try {
    const spec = vethSpec(network, ns, record);
    const hostConnection = await host.connection();
    const nsConnection = await ns.connection();
    const disable = network.ipv6 ? undefined : ns.sysctlStage(`net/ipv6/conf/${record.ifname}/disable_ipv6`, 1, held);
    // IPv6 on the host end: usable at once (no DAD) where the network has it, none at all where it has not.
    const [ipv6Key, ipv6Value] = network.ipv6 ? [`net/ipv6/conf/${record.hostIfname}/accept_dad`, 0] : [`net/ipv6/conf/${record.hostIfname}/disable_ipv6`, 1];
    const hostIpv6 = host.sysctlStage(ipv6Key, ipv6Value, held);
    // route_localnet lets DNAT to 127.0.0.1-published ports reach the container, as on a bridge.
    const localnetKey = `net/ipv4/conf/${record.hostIfname}/route_localnet`;
    const localnet = network.internal ? undefined : host.sysctlStage(localnetKey, 1, held);
    // The host end by name: sent only once the veth was made, so it is this one.
    const tag = await host.links.changeRequest(record.hostIfname, { alias: endpointTag(record.network, record.id), up: true }, held);
    const named = (name: string, stage: ChainStage | undefined): [string, ChainStage][] => (stage ? [[name, stage]] : []);
    const hostSide = [...named('IPv6 of the host end', hostIpv6), ...named('tag host end, up', { connection: hostConnection, requests: [tag] })];
    /** The namespace's side, by name; its interface is `peer` there. */
    const inside = async (peer: number): Promise<[string, ChainStage][]> => [
      ...named('disable IPv6', disable),
      ...named(CONFIGURE, { connection: nsConnection, requests: await insideRequests(network, ns, record, peer, held, routes) }),
      ...named('route_localnet on the host end', localnet),
    ];
    const first = [...hostSide, ...(fresh ? await inside(FRESH_PEER_INDEX) : [])];
    const [[created], ...firstOutcomes] = await step('create veth', async () => hostConnection.chain([await host.links.addRequest(spec, held)], first.map(([, stage]) => stage)));
    if (!created.ok) {
      const refusal = await vethRefusal(created.error, network, ns, record);
      return await step('create veth', () => Promise.reject(refusal));
    }
    const hostEnd = await host.links.made(spec, undefined, created.echo);
    made(hostEnd);
    record.hostMac = hostEnd.mac;
    if (fresh && hostEnd.peerIndex !== FRESH_PEER_INDEX) {
      const why = new NsnetError('INTERNAL', `${ns.label} had a link made in it meanwhile: its ${record.ifname} is interface ${hostEnd.peerIndex}, not ${FRESH_PEER_INDEX}`);
      await step('create veth', () => Promise.reject(why));
    }
    const index = fresh ? FRESH_PEER_INDEX : (hostEnd.peerIndex ?? (await step('find peer', () => ns.links.get(record.ifname))).index);
    const second = fresh ? [] : await inside(index);
    const [routed, ...secondOutcomes] = await step('add host routes', async () => hostConnection.chain(await hostRoutes(record, hostEnd.index), second.map(([, stage]) => stage)));
    const outcomes: [string, ChainResult[]][] = [
      ...first.map(([name], i): [string, ChainResult[]] => [name, firstOutcomes[i]]),
      ['add host routes', routed],
      ...second.map(([name], i): [string, ChainResult[]] => [name, secondOutcomes[i]]),
    ];
    for (const [name, results] of outcomes) await firstFailure(name, results);
    // Without a directory to write them through, as sysctl() writes them.
    if (!network.ipv6 && !disable) await disableIPv6(ns, record.ifname);
    if (!hostIpv6) await step('IPv6 of the host end', () => unlessGone(() => host.sysctl(ipv6Key, ipv6Value)));
    if (!network.internal && !localnet) await step('route_localnet on the host end', () => host.sysctl(localnetKey, 1));
    const configured = outcomes.find(([name]) => name === CONFIGURE)?.[1];
    const state = configured?.[configured.length - 1];
    if (!(state?.ok && Links.fromReply(state.echo)?.carrier)) await step('wait for carrier', () => waitForCarrier(ns, index));
  } finally {
    for (const fd of held) closeSync(fd);
  }
}
