/**
 * Endpoints: a namespace's veth on a network's bridge, with its addresses and
 * default route. Connecting records the endpoint and leases its addresses
 * first (so concurrent connects never share an address), then makes the
 * links; any failure undoes every step done so far.
 */
import { randomBytes } from 'node:crypto';

import { invalid, NetlinkError, NsnetError } from '../errors';
import { firewallFor } from '../firewall/firewall';
import { readPortTables, releasePorts, takePorts, writePortTables } from '../firewall/ports';
import { allocateAddress, emptyLeaseTable, releaseLeases } from '../ipam/leases';
import { Subnet } from '../ipam/subnet';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import { currentStore } from '../state/store';
import { type ConnectOptions, ENDPOINT_ALIAS_PREFIX, endpointKey, type EndpointRecord } from '../types/endpoint';
import { isIPv6 } from '../types/ip';
import type { NetworkLeases } from '../types/leases';
import type { NetworkRecord } from '../types/network';
import { checkConnectInput, type ConnectInput } from './connect-options';

interface CheckedConnect extends ConnectInput {
  /** The endpoint's id, and the name of its host end that derives from it. */
  id: string;
  hostIfname: string;
}

function checkConnectOptions(network: NetworkRecord, options: ConnectOptions): CheckedConnect {
  const input = checkConnectInput(options);
  if (input.publish.length && network.activeFirewall === 'none') {
    throw new NsnetError('INVALID_PUBLISH', `network "${network.name}" has no firewall (firewall: 'none') to publish ports with`);
  }
  const v6 = input.publish.find((request) => isIPv6(request.hostIp ?? network.hostIp));
  if (v6 && !network.ipv6) {
    throw new NsnetError('INVALID_PUBLISH', `network "${network.name}" has no IPv6 subnet for a port published on ${v6.hostIp ?? network.hostIp}`);
  }
  if (input.ipv6 !== undefined && !network.ipv6) throw invalid(`network "${network.name}" has no IPv6 subnet for ipv6 ${input.ipv6}`);
  const id = randomBytes(8).toString('hex');
  return { ...input, id, hostIfname: `veth${id.slice(0, 7)}` };
}

/** The stored network is still the one a caller looked up (not removed, nor made again since). */
function sameNetwork(current: NetworkRecord | undefined, network: NetworkRecord): boolean {
  return current?.created === network.created && current.bridgeMac === network.bridgeMac;
}

/** Leases the addresses and writes the record, under the state lock. */
async function reserve(network: NetworkRecord, ns: NetNamespace, options: CheckedConnect): Promise<EndpointRecord> {
  const store = currentStore();
  return store.locked(async () => {
    const key = endpointKey(network.name, ns.inode);
    const [current, existing, stored, portTables] = await Promise.all([
      store.read<NetworkRecord>('networks', network.name),
      store.read<EndpointRecord>('endpoints', key),
      store.read<NetworkLeases>('leases', network.name),
      readPortTables(store, options.publish),
    ]);
    // The caller's copy may be of a network removed (and made again) since.
    if (!sameNetwork(current, network)) {
      throw new NsnetError('NETWORK_NOT_FOUND', `network "${network.name}" was removed since it was looked up`);
    }
    if (existing) {
      throw new NsnetError('ENDPOINT_EXISTS', `${ns.label} is already connected to network "${network.name}"`);
    }
    const id = options.id;
    const leases: NetworkLeases = stored ?? { ipv4: emptyLeaseTable() };
    const subnet = Subnet.parse(network.subnet);
    const ipv4 = allocateAddress(leases.ipv4, subnet, id, new Set([network.gateway]), options.ip);
    const record: EndpointRecord = {
      id,
      network: network.name,
      netnsPath: ns.path,
      netnsInode: ns.inode,
      ifname: options.ifname,
      hostIfname: options.hostIfname,
      mac: options.mac,
      ipv4,
      prefixLength: subnet.prefixLength,
      ports: [],
      status: 'creating',
      pid: process.pid,
      created: new Date().toISOString(),
    };
    if (network.ipv6) {
      const subnet6 = Subnet.parse(network.ipv6.subnet);
      leases.ipv6 ??= emptyLeaseTable();
      record.ipv6 = allocateAddress(leases.ipv6, subnet6, id, new Set([network.ipv6.gateway]), options.ipv6);
      record.prefixLength6 = subnet6.prefixLength;
    }
    if (!network.internal) {
      record.gateway = network.gateway;
      if (network.ipv6) record.gateway6 = network.ipv6.gateway;
    }
    record.ports = await takePorts(portTables, options.publish, id, network.hostIp);
    await Promise.all([
      store.write('leases', network.name, leases),
      store.write('endpoints', key, record),
      writePortTables(store, portTables),
    ]);
    return record;
  });
}

/** Forgets an endpoint: its record, its leases and its host ports. Under the state lock. */
async function forgetLocked(record: EndpointRecord): Promise<void> {
  const store = currentStore();
  const key = endpointKey(record.network, record.netnsInode);
  const [leases, current] = await Promise.all([
    store.read<NetworkLeases>('leases', record.network),
    store.read<EndpointRecord>('endpoints', key),
  ]);
  await Promise.all([
    leases && releaseLeases(leases, record.id).length ? store.write('leases', record.network, leases) : undefined,
    current?.id === record.id ? store.remove('endpoints', key) : undefined,
    releasePorts(store, record.ports, record.id),
  ]);
}

/** Forgets an endpoint: its record, its leases and its host ports. */
async function forgetEndpoint(record: EndpointRecord): Promise<void> {
  await currentStore().locked(() => forgetLocked(record));
}

/** Waits for every step, then fails with the first failure (nothing left in flight). */
async function allSteps(steps: (Promise<unknown> | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Takes an endpoint out of the firewall; gone already is fine. */
async function unpublish(network: NetworkRecord | undefined, record: EndpointRecord): Promise<void> {
  if (network) await firewallFor(network.activeFirewall)?.removeEndpoint(network, record);
}

/** Runs one step of a connect; a failure names the step. */
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const cause = error as NsnetError;
    const failure = new NsnetError(cause.code ?? 'CONNECT_FAILED', `connect failed at "${name}": ${cause.message}`, {
      step: name,
    });
    (failure as { cause?: unknown }).cause = error;
    throw failure;
  }
}

const IFF_LOWER_UP_WAIT_MS = 2000;

// Bridge indexes by bridge name and MAC (a bridge made again gets a new index).
const bridgeIndexes = new Map<string, number>();

async function bridgeIndex(network: NetworkRecord, refresh: boolean): Promise<number> {
  const key = `${network.bridge} ${network.bridgeMac}`;
  const cached = bridgeIndexes.get(key);
  if (cached !== undefined && !refresh) return cached;
  const bridge = await NetNamespace.host().links.get(network.bridge);
  bridgeIndexes.set(key, bridge.index);
  return bridge.index;
}

async function createVeth(network: NetworkRecord, ns: NetNamespace, veth: CheckedConnect, refresh = false): Promise<Link> {
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
    if (refresh || !(error instanceof NetlinkError && error.code === 'ENODEV')) throw error;
    return createVeth(network, ns, veth, true);
  }
}

/** Inside the namespace: lo and the interface up, addresses, default routes; then carrier. */
async function configure(ns: NetNamespace, record: EndpointRecord, peerIndex: number): Promise<void> {
  // Issued at once: the connection sends them in as few batches as it can, in this order.
  const requests: Promise<void>[] = [
    ns.links.set('lo', { up: true }),
    ns.links.set(peerIndex, { up: true }),
    ns.addresses.add(peerIndex, `${record.ipv4}/${record.prefixLength}`),
  ];
  if (record.ipv6) requests.push(ns.addresses.add(peerIndex, `${record.ipv6}/${record.prefixLength6}`, { nodad: true }));
  if (record.gateway) requests.push(ns.routes.add({ dst: 'default', gateway: record.gateway }));
  if (record.gateway6) requests.push(ns.routes.add({ dst: 'default', gateway: record.gateway6 }));
  // Queued after the link changes, so it goes in their batch: a veth has carrier once both
  // ends are up. Should it go first after all, the carrier is polled for below.
  const state = ns.links.get(peerIndex).catch(() => undefined);
  await step('configure addresses and routes', () => allSteps(requests));
  if (!(await state)?.carrier) await step('wait for carrier', () => waitForCarrier(ns, peerIndex));
}

/** What a connect made so far, so that a rollback undoes exactly that. */
interface Made {
  hostIndex?: number;
  published?: boolean;
}

/** Tags the host end, and gives the interface inside its addresses and routes. */
async function plumb(network: NetworkRecord, ns: NetNamespace, record: EndpointRecord, hostEnd: Link): Promise<void> {
  const host = NetNamespace.host();
  record.hostMac = hostEnd.mac;
  const peerIndex = hostEnd.peerIndex ?? (await step('find peer', () => ns.links.get(record.ifname))).index;
  await allSteps([
    step('tag host end, hairpin on', () =>
      host.links.set(hostEnd.index, { alias: endpointAlias(record), hairpin: true }),
    ),
    // An IPv4-only endpoint gets no IPv6 at all, as with Docker (an address
    // the interface may get meanwhile goes when IPv6 is disabled).
    network.ipv6
      ? undefined
      : step('disable IPv6', () => ns.sysctl(`net/ipv6/conf/${record.ifname}/disable_ipv6`, 1).catch(ignoreMissing)),
    configure(ns, record, peerIndex),
  ]);
}

/** Last, as Docker does: the ports lead somewhere only now. */
async function publish(network: NetworkRecord, record: EndpointRecord): Promise<void> {
  const firewall = firewallFor(network.activeFirewall);
  if (firewall) await step('publish ports', () => firewall.addEndpoint(network, record));
}

function ignoreMissing(error: unknown): void {
  if (!(error instanceof NetlinkError && error.code === 'ENOENT')) throw error;
}

async function waitForCarrier(ns: NetNamespace, index: number): Promise<void> {
  const deadline = Date.now() + IFF_LOWER_UP_WAIT_MS;
  for (;;) {
    if ((await ns.links.get(index)).carrier) return;
    if (Date.now() > deadline) throw new NsnetError('LINK_NOT_READY', `interface ${index} has no carrier`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Records the endpoint as ready, unless its network was removed meanwhile. */
async function markReady(network: NetworkRecord, ready: EndpointRecord): Promise<void> {
  const store = currentStore();
  await store.locked(async () => {
    const current = await store.read<NetworkRecord>('networks', network.name);
    if (!sameNetwork(current, network)) {
      throw new NsnetError('NETWORK_NOT_FOUND', `network "${network.name}" was removed while connecting`);
    }
    await store.write('endpoints', endpointKey(ready.network, ready.netnsInode), ready);
  });
}

/** Connects `ns` to `network`; undoes everything on failure. */
export async function connect(network: NetworkRecord, ns: NetNamespace, options: ConnectOptions): Promise<EndpointRecord> {
  const checked = checkConnectOptions(network, options);
  // The namespace's own socket opens (on a thread of its own) while the addresses are leased.
  ns.connection().catch(() => undefined);
  const made: Made = {};
  // The veth is made while the addresses are leased: each takes about a
  // millisecond. A crash between the two can leave only an untagged veth,
  // which goes with its namespace.
  const [reserved, created] = await Promise.allSettled([
    reserve(network, ns, checked),
    step('create veth', () => createVeth(network, ns, checked)).then((link) => ((made.hostIndex = link.index), link)),
  ]);
  if (reserved.status === 'rejected') {
    await removeMadeVeth(made);
    throw reserved.reason;
  }
  const record = reserved.value;
  try {
    if (created.status === 'rejected') throw created.reason;
    await plumb(network, ns, record, created.value);
    // Marked ready while the ports are published: a failure still undoes both.
    const ready: EndpointRecord = { ...record, status: 'ready' };
    await allSteps([publish(network, record).then(() => (made.published = true)), markReady(network, ready)]);
    return ready;
  } catch (error) {
    // Only what this connect made: a failed publish added nothing, and a
    // veth that could not be made may be someone else's namesake.
    if (made.published) await unpublish(network, record).catch(() => undefined);
    await removeMadeVeth(made);
    await forgetEndpoint(record);
    throw error;
  }
}

async function removeMadeVeth(made: Made): Promise<void> {
  if (made.hostIndex !== undefined) await NetNamespace.host().links.delete(made.hostIndex).catch(() => undefined);
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
    const ours = link.alias === endpointAlias(record) || (link.alias === undefined && link.kind === 'veth' && record.status === 'creating');
    if (ours) await host.links.delete(link.index);
  } catch (error) {
    if (!(error instanceof NetlinkError && error.code === 'ENODEV')) throw error;
  }
}

function endpointAlias(record: EndpointRecord): string {
  return `${ENDPOINT_ALIAS_PREFIX}${record.network}:${record.id}`;
}

/**
 * Removes an endpoint: links (unless its namespace is going anyway), then
 * its firewall entries, leases, ports and record together under the state
 * lock, so that reconcile never writes back the rules of a released address.
 */
export async function disconnect(record: EndpointRecord, options: { keepLinks?: boolean } = {}): Promise<void> {
  if (!options.keepLinks) await removeHostEnd(record);
  await currentStore().locked(() => disconnectLocked(record));
}

/** disconnect() without the links, for a caller that holds the state lock. */
export async function disconnectLocked(record: EndpointRecord): Promise<void> {
  await unpublish(await currentStore().read<NetworkRecord>('networks', record.network), record);
  await forgetLocked(record);
}
