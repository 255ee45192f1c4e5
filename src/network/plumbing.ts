/**
 * An endpoint's kernel side, and nothing else: the veth made in one request
 * (host end on the bridge, peer straight into the namespace), the host end
 * tagged, the namespace's side configured; and the host end removed again.
 */
import { closeSync } from 'node:fs';

import { isGone, NetlinkError, NsnetError, unlessGone } from '../errors';
import type { ChainedRequest, ChainResult, ChainStage } from '../kernel/rtnl-connection';
import { NetNamespace } from '../netns';
import { type Link, Links } from '../rtnl/links';
import { forgetNeighbourRequest } from '../rtnl/neighbours';
import type { EndpointRecord } from '../types/endpoint';
import { BRIDGE_MAX_PORTS } from '../types/limits';
import { networkDriver, type NetworkRecord } from '../types/network';
import { endpointTag } from '../types/ownership';
import { FAMILIES, gatewayOf, type RouteChoice } from './default-route';
import { hostEndTaken } from './host-end-name';

/** The veth to make: its host end's name and the interface inside. */
export interface VethPlan {
  hostIfname: string;
  ifname: string;
  mac: string;
}

const CARRIER_WAIT_MS = 2000;

// Bridge indexes by bridge name and MAC (a bridge made again gets a new index).
const bridgeIndexes = new Map<string, number>();

async function bridgeIndex(network: NetworkRecord, refresh: boolean): Promise<number> {
  const key = `${network.bridge} ${network.bridgeMac}`;
  const cached = bridgeIndexes.get(key);
  if (cached !== undefined && !refresh) return cached;
  const bridge = await NetNamespace.host()
    .links.get(network.bridge)
    .catch((error: unknown) => {
      if (!isGone(error)) throw error;
      // Keeps its class and code (ENODEV): a caller may tell a bridge deleted under it by them.
      throw (error as NsnetError).withNote(`the bridge of network "${network.name}" is gone; reconcile(), or createBridgeNetwork with its options, makes it again`);
    });
  bridgeIndexes.set(key, bridge.index);
  return bridge.index;
}

/** A cached bridge index that no longer names the bridge: ENODEV, or EINVAL for a master that is gone. */
function staleMaster(error: unknown): boolean {
  return error instanceof NetlinkError && (error.code === 'ENODEV' || error.code === 'EINVAL');
}

/**
 * The kernel's refusal of the veth in nsnet's terms, where it has them:
 * EEXIST for either end says which name is taken (the container's, as a
 * rule, or the host end's), EXFULL that the bridge has no port left. The kernel made nothing.
 */
export async function vethRefusal(error: unknown, network: NetworkRecord, ns: NetNamespace, veth: VethPlan): Promise<unknown> {
  if (!(error instanceof NetlinkError)) return error;
  if (error.code === 'EXFULL') {
    return new NsnetError(
      'NETWORK_FULL',
      `network "${network.name}" is full: its bridge ${network.bridge} holds at most ${BRIDGE_MAX_PORTS.toLocaleString('en')} ports (a kernel limit), all in use`,
      { network: network.name, bridge: network.bridge },
      { cause: error },
    );
  }
  if (error.code === 'EEXIST' && (await unlessGone(() => ns.links.get(veth.ifname)))) {
    return new NsnetError('INTERFACE_EXISTS', `${ns.label} has an interface ${veth.ifname} already: give the endpoint another ifname`, { ifname: veth.ifname }, { cause: error });
  }
  // The host end's name is random: a connect takes another (see host-end-name.ts).
  if (error.code === 'EEXIST' && (await unlessGone(() => NetNamespace.host().links.get(veth.hostIfname)))) return hostEndTaken(veth.hostIfname, error);
  return error;
}

/** Makes the veth in one request: host end on the bridge and up, peer in `ns` with its name and MAC. */
export async function createVeth(network: NetworkRecord, ns: NetNamespace, veth: VethPlan, refresh = false): Promise<Link> {
  const master = await bridgeIndex(network, refresh);
  try {
    return await NetNamespace.host().links.add({
      kind: 'veth',
      name: veth.hostIfname,
      master,
      mtu: network.mtu,
      up: true,
      peer: { name: veth.ifname, netns: ns, mac: veth.mac, mtu: network.mtu },
    });
  } catch (error) {
    // A cached index of a bridge made again since: look it up once more.
    if (refresh || !staleMaster(error)) throw await vethRefusal(error, network, ns, veth);
    return createVeth(network, ns, veth, true);
  }
}

/** Waits for every request, then fails with the first failure (nothing left in flight). */
export async function allOrFirstFailure(requests: (Promise<unknown> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(requests);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs one step; a failure names the step and keeps its class and code. */
export async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof NsnetError) throw error.withContext(`connect failed at "${name}"`, { step: name });
    throw new NsnetError('INTERNAL', `connect failed at "${name}": ${String(error)}`, { step: name }, { cause: error });
  }
}

/** A namespace's first network adds its default routes. */
const ADD_ROUTES: RouteChoice = { 4: 'add', 6: 'add' };

/**
 * The addresses and default routes of an endpoint, as requests for a chain.
 * `routes` (default-route.ts) says per family whether the endpoint adds its
 * default route, in place of another network's or not at all; when added, a
 * default route the namespace has already stays (EEXIST is done), as with
 * the CNI reference plugins (whose bridge plugin skips a route that exists).
 */
export async function addressChain(ns: NetNamespace, record: EndpointRecord, index: number, routes: RouteChoice = ADD_ROUTES): Promise<ChainedRequest[]> {
  const requests: ChainedRequest[] = [];
  if (record.ipv4) requests.push(ns.addresses.addRequest(index, `${record.ipv4}/${record.prefixLength}`));
  if (record.ipv6) requests.push(ns.addresses.addRequest(index, `${record.ipv6}/${record.prefixLength6}`, { nodad: true }));
  return [...requests, ...(await defaultRouteRequests(ns, record, index, routes))];
}

/** An endpoint's default routes via its gateways on interface `index`, as `routes` (default-route.ts) chooses them, for every driver. */
export async function defaultRouteRequests(ns: NetNamespace, record: Pick<EndpointRecord, 'gateway' | 'gateway6'>, index: number, routes: RouteChoice = ADD_ROUTES): Promise<ChainedRequest[]> {
  const requests: ChainedRequest[] = [];
  for (const family of FAMILIES) {
    const gateway = gatewayOf(record, family);
    if (gateway === undefined || routes[family] === 'none') continue;
    if (routes[family] === 'replace') requests.push(await ns.routes.replaceRequest({ dst: 'default', gateway, dev: index }));
    else requests.push({ ...(await ns.routes.addRequest({ dst: 'default', gateway, dev: index })), existsIsDone: true });
  }
  return requests;
}

/**
 * An endpoint's addresses and default routes on interface `index` of `ns`
 * (up already), and then, in the same job, the host's neighbour entries of
 * those addresses on bridge `bridgeIndex` forgotten (see plumbing()).
 */
export async function configureAddresses(ns: NetNamespace, record: EndpointRecord, index: number, bridgeIndex: number | undefined): Promise<void> {
  const host = NetNamespace.host();
  const addresses = [record.ipv4, record.ipv6].filter((address) => address !== undefined);
  const forget = bridgeIndex === undefined ? [] : addresses.map((address) => forgetNeighbourRequest(host, bridgeIndex, address));
  const connection = await ns.connection();
  const [inside, hostSide] = await step('configure addresses and routes', async () =>
    connection.chain(await addressChain(ns, record, index), forget.length ? [{ connection: await host.connection(), requests: forget }] : []));
  const failed = inside.find((result) => !result.ok);
  if (failed && !failed.ok) await step('configure addresses and routes', () => Promise.reject(failed.error));
  const notForgotten = hostSide?.find((result) => !result.ok);
  if (notForgotten && !notForgotten.ok) await step('forget old neighbour entries', () => Promise.reject(notForgotten.error));
}

export async function waitForCarrier(ns: NetNamespace, index: number): Promise<void> {
  const deadline = Date.now() + CARRIER_WAIT_MS;
  for (;;) {
    if ((await ns.links.get(index)).carrier) return;
    if (Date.now() > deadline) throw new NsnetError('LINK_NOT_READY', `interface ${index} has no carrier`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * An IPv4-only endpoint gets no IPv6 at all, as with Docker (an address the
 * interface may get meanwhile goes when IPv6 is disabled); a kernel without
 * IPv6 has no such key.
 */
export function disableIPv6(ns: NetNamespace, ifname: string): Promise<unknown> {
  return step('disable IPv6', () => unlessGone(() => ns.sysctl(`net/ipv6/conf/${ifname}/disable_ipv6`, 1)));
}

/**
 * What configures an endpoint once its veth exists, as parts of a chain:
 * inside the namespace `disable_ipv6` where the network has no IPv6 (an
 * IPv4-only endpoint gets none at all, as with Docker; before the interface
 * is up, so it never has a link-local address), then lo and the interface up,
 * addresses, default routes and the interface's state (carrier, once both
 * ends are up); on the host, the host end's tag and hairpin, and the host's
 * neighbour entries of the addresses forgotten (a reused address: the host may
 * still know it by the MAC of the container that had it before, and send there
 * until the entry times out, seconds).
 */
interface Plumbing {
  disableIpv6?: ChainStage;
  inside: ChainedRequest[];
  hostSide: ChainedRequest[];
}

async function plumbing(
  network: NetworkRecord,
  ns: NetNamespace,
  record: EndpointRecord,
  index: number,
  hostEnd: string | number,
  master: number | undefined,
  held: number[],
  routes?: RouteChoice,
): Promise<Plumbing> {
  const host = NetNamespace.host();
  const addresses = [record.ipv4, record.ipv6].filter((address) => address !== undefined);
  return {
    disableIpv6: network.ipv6 ? undefined : ns.sysctlStage(`net/ipv6/conf/${record.ifname}/disable_ipv6`, 1, held),
    inside: [
      await ns.links.changeRequest(1, { up: true }, held),
      await ns.links.changeRequest(index, { up: true }, held),
      ...(await addressChain(ns, record, index, routes)),
      ns.links.getRequest(index),
    ],
    hostSide: [
      await host.links.changeRequest(hostEnd, { alias: endpointTag(record.network, record.id), hairpin: true }, held),
      ...(master === undefined ? [] : addresses.map((address) => forgetNeighbourRequest(host, master, address))),
    ],
  };
}

/**
 * Whether a connect to `network` writes sysctls inside the namespace:
 * disable_ipv6 where the network has no IPv6 (as Docker), arp_notify on a
 * macvlan or ipvlan child.
 */
export function writesSysctlsInside(network: NetworkRecord): boolean {
  const driver = networkDriver(network);
  return driver === 'macvlan' || driver === 'ipvlan' || !network.ipv6;
}

/**
 * Fails with the first failure of a chain's parts (the requests after it
 * fail with it, or were not sent), named by its step; then, without a
 * directory to write it through, disables IPv6 as sysctl() does, and waits
 * for carrier if the interface's state did not show it.
 */
async function plumbed(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, index: number, parts: [string, ChainResult[]][], viaDirectory: boolean): Promise<void> {
  for (const [name, results] of parts) {
    const failed = results.find((result) => !result.ok);
    if (failed && !failed.ok) await step(name, () => Promise.reject(failed.error));
  }
  if (!network.ipv6 && !viaDirectory) await disableIPv6(ns, record.ifname);
  const inside = parts.find(([name]) => name === CONFIGURE)?.[1] ?? [];
  const state = inside[inside.length - 1];
  if (!(state?.ok && Links.fromReply(state.echo)?.carrier)) await step('wait for carrier', () => waitForCarrier(ns, index));
}

const CONFIGURE = 'configure addresses and routes';
const TAG = 'tag host end, hairpin on';

/** In a namespace just made, nothing but lo (index 1): the kernel numbers the first link made in it 2. */
export const FRESH_PEER_INDEX = 2;

/**
 * Makes and configures the veth of an endpoint in a namespace just made
 * (holding nothing but lo), in one job of the addon: the veth, then, once it
 * exists, the interface inside (IPv6 disabled where the network has none,
 * up, addresses, routes) and the host end's tag, hairpin and neighbour
 * entries: no turn of the event loop between them. The interface inside is
 * known by the index the kernel gives it there, 2; should something else
 * have made a link in the namespace meanwhile, that is found out from the
 * veth's echo, and the connect fails (its undo deletes the namespace, with
 * whatever went wrong in it). `made` gets the host end as soon as it exists,
 * for the caller's undo, also when a later part fails.
 */
export async function createConfiguredVeth(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, made: (hostEnd: Link) => void, refresh = false): Promise<void> {
  const host = NetNamespace.host();
  const master = await bridgeIndex(network, refresh);
  const held: number[] = [];
  try {
    const index = FRESH_PEER_INDEX;
    const spec = {
      kind: 'veth',
      name: record.hostIfname,
      master,
      mtu: network.mtu,
      up: true,
      peer: { name: record.ifname, netns: ns, mac: record.mac, mtu: network.mtu },
    } as const;
    // The host end by name: sent only once the veth was made, so it is this one.
    const { disableIpv6, inside, hostSide } = await plumbing(network, ns, record, index, record.hostIfname, master, held);
    const hostConnection = await host.connection();
    const stages: ChainStage[] = [{ connection: await ns.connection(), requests: inside }, { connection: hostConnection, requests: hostSide }];
    if (disableIpv6) stages.unshift(disableIpv6);
    const addVeth = await host.links.addRequest(spec, held);
    const [[created], ...outcomes] = await step('create veth', () => hostConnection.chain([addVeth], stages));
    if (!created.ok) {
      if (!refresh && staleMaster(created.error)) return await createConfiguredVeth(network, ns, record, made, true);
      const refusal = await vethRefusal(created.error, network, ns, record);
      return await step('create veth', () => Promise.reject(refusal));
    }
    const hostEnd = await host.links.made(spec, { master }, created.echo);
    made(hostEnd);
    record.hostMac = hostEnd.mac;
    if (hostEnd.peerIndex !== index) {
      const why = new NsnetError('INTERNAL', `${ns.label} had a link made in it meanwhile: its ${record.ifname} is interface ${hostEnd.peerIndex}, not ${index}`);
      await step('create veth', () => Promise.reject(why));
    }
    const names = [...(disableIpv6 ? ['disable IPv6'] : []), CONFIGURE, TAG];
    await plumbed(network, ns, record, index, names.map((name, i) => [name, outcomes[i]]), disableIpv6 !== undefined);
  } finally {
    for (const fd of held) closeSync(fd);
  }
}

/**
 * Tags the host end, and gives the interface inside its addresses and
 * routes (default routes as `routes` says): in one chain, the host's part
 * first, then the namespace's.
 */
export async function plumb(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, hostEnd: Link, routes?: RouteChoice): Promise<void> {
  const host = NetNamespace.host();
  record.hostMac = hostEnd.mac;
  const index = hostEnd.peerIndex ?? (await step('find peer', () => ns.links.get(record.ifname))).index;
  const held: number[] = [];
  try {
    const { disableIpv6, inside, hostSide } = await plumbing(network, ns, record, index, hostEnd.index, hostEnd.master, held, routes);
    const hostConnection = await host.connection();
    const stages: ChainStage[] = [{ connection: await ns.connection(), requests: inside }];
    if (disableIpv6) stages.unshift(disableIpv6);
    const outcomes = await step(TAG, () => hostConnection.chain(hostSide, stages));
    const names = [TAG, ...(disableIpv6 ? ['disable IPv6'] : []), CONFIGURE];
    await plumbed(network, ns, record, index, outcomes.map((results, i) => [names[i], results]), disableIpv6 !== undefined);
  } finally {
    for (const fd of held) closeSync(fd);
  }
}

/**
 * Deletes the host end of an endpoint (and so its peer) if it is this
 * endpoint's: tagged with its alias, or, for a connect that died before
 * tagging it, an untagged veth. Gone already is fine.
 */
export async function removeHostEnd(record: EndpointRecord): Promise<void> {
  const host = NetNamespace.host();
  try {
    const link = await host.links.get(record.hostIfname);
    const ours = link.alias === endpointTag(record.network, record.id) || (link.alias === undefined && link.kind === 'veth' && record.status === 'creating');
    if (ours) await host.links.delete(link.index);
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}
