/**
 * Planning an endpoint, before anything is made: its options checked against
 * the network, its id and names chosen, then (under the state lock) its
 * addresses and host ports leased and its record written, so that
 * concurrent connects never share an address or a port; then, on an overlay
 * network, its addresses claimed in the store, while the connect goes on.
 */
import { randomBytes } from 'node:crypto';

import { invalid, NsnetError } from '../errors';
import { bindsHostPort } from '../firewall/gateway-modes';
import { readPortTables, takePorts, writePortTables } from '../firewall/ports';
import { saveLeases, takeLeases } from '../ipam/lease-file';
import { type AddressTables, allocateAddress, emptyLeaseTable, type LeasesBefore, leasePointers, spreadStart } from '../ipam/leases';
import { Subnet } from '../ipam/subnet';
import { NetNamespace } from '../netns';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import type { BandwidthRecord } from '../types/bandwidth';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import { isIPv6 } from '../types/ip';
import { ipv4Of, type NetworkRecord, networkDriver, resolvesNames } from '../types/network';
import { limitsFor } from './bandwidth';
import type { ConnectInput } from './connect-options';
import { endpointNames } from './dns-options';
import { hostEndName } from './host-end-name';
import { allOrFirstFailure } from './plumbing';
import { routesThroughDevice } from './lan-child';
import { isLanNetwork } from './lan-network';
import { claimOverlayAddresses } from './overlay-claim';
import { ifbName } from './shaping';
import { forgetEndpointLocked, teardownEndpointLocked } from './teardown';
import { Undo } from './undo';

export interface EndpointPlan extends Omit<ConnectInput, 'bandwidth'> {
  /** Rate limits with their bursts, a default one fitting the network's MTU. */
  bandwidth?: Omit<BandwidthRecord, 'ifb'>;
  /** The endpoint's id, and the name of its host end that derives from it (see host-end-name.ts). */
  id: string;
  hostIfname: string;
}

/** Checks connect input (see checkConnectInput) against the network; picks the endpoint's id and host interface name. */
export function planEndpoint(network: NetworkRecord, input: ConnectInput): EndpointPlan {
  if (isLanNetwork(network)) refuseOnLan(network, input);
  // A MAC asked for would be checked on this host only, while the overlay is one L2 segment across hosts.
  if (network.overlay && input.macGiven) {
    throw new NsnetError('NOT_SUPPORTED_BY_DRIVER', `overlay network "${network.name}" gives its containers random MACs: no mac may be asked for`, { driver: 'overlay' });
  }
  if (input.publish.length && network.activeFirewall === 'none') {
    throw new NsnetError('INVALID_PUBLISH', `network "${network.name}" has no firewall (firewall: 'none') to publish ports with`);
  }
  const v6 = input.publish.find((request) => isIPv6(request.hostIp ?? network.hostIp));
  if (v6 && !network.ipv6) {
    throw new NsnetError('INVALID_PUBLISH', `network "${network.name}" has no IPv6 subnet for a port published on ${v6.hostIp ?? network.hostIp}`);
  }
  if (input.ipv6 !== undefined && !network.ipv6) throw invalid(`network "${network.name}" has no IPv6 subnet for ipv6 ${input.ipv6}`);
  if (!ipv4Of(network)) {
    if (input.ip !== undefined) throw invalid(`network "${network.name}" is IPv6-only: no IPv4 address ${input.ip}`);
    const v4 = input.publish.find((request) => !isIPv6(request.hostIp ?? network.hostIp));
    if (v4) throw new NsnetError('INVALID_PUBLISH', `network "${network.name}" is IPv6-only: no port can be published on ${v4.hostIp ?? network.hostIp}`);
  }
  const { bandwidth: asked, ...rest } = input;
  const bandwidth = limitsFor(asked, network.mtu);
  const id = randomBytes(8).toString('hex');
  const hostIfname = isLanNetwork(network) ? (network.parent as string) : hostEndName(network, id);
  return { ...rest, ...(bandwidth ? { bandwidth } : {}), id, hostIfname };
}

/**
 * What a macvlan or ipvlan endpoint cannot have: published ports (no NAT:
 * the container has an address of the LAN), a bandwidth limit (no host end
 * to shape on), a MAC of its own on ipvlan (its children share the parent's).
 */
function refuseOnLan(network: NetworkRecord, input: ConnectInput): void {
  const refuse = (what: string) => new NsnetError('NOT_SUPPORTED_BY_DRIVER', `${network.driver} network "${network.name}" ${what}`, { driver: network.driver });
  if (input.publish.length) throw refuse('publishes no ports: its containers have addresses of the LAN, reached directly');
  if (input.bandwidth) throw refuse('has no host end to limit bandwidth on');
  if (input.macGiven && network.driver === 'ipvlan') throw refuse("gives its children the parent's MAC: no mac may be asked for");
}

/** The stored network is still the one a caller looked up (not removed, nor made again since). */
export function sameNetwork(current: NetworkRecord | undefined, network: NetworkRecord): boolean {
  return current?.created === network.created && current.bridgeMac === network.bridgeMac;
}

/** Addresses IPAM never hands out, with why: the gateway, the aux addresses, a macvlan network's host interface. */
function reservedAddresses(network: NetworkRecord, gateway: string, skipped: ReadonlyMap<string, string>): Map<string, string> {
  const reserved = new Map([...skipped, [gateway, 'the gateway']]);
  for (const [name, address] of Object.entries(network.auxAddresses ?? {})) reserved.set(address, `aux address ${name}`);
  if (network.hostInterface) reserved.set(network.hostInterface.address, `the host interface ${network.hostInterface.name}`);
  return reserved;
}

/** The usable addresses of the network's ip range, as offsets of its subnet. */
function ipRangeOffsets(network: NetworkRecord, subnet: Subnet): { first: bigint; last: bigint } | undefined {
  if (network.ipRange === undefined) return undefined;
  const range = Subnet.parse(network.ipRange);
  const usable = subnet.usableRange;
  const first = subnet.offsetOf(range.address(0n));
  const last = first + range.size - 1n;
  return { first: first > usable.first ? first : usable.first, last: last < usable.last ? last : usable.last };
}

/**
 * The endpoint's record, its addresses taken from `leases` (changed in
 * place), none of `skipped`; its namespace (path and inode) is filled in by
 * the caller, once the namespace exists. No I/O.
 */
function endpointRecord(network: NetworkRecord, plan: EndpointPlan, leases: AddressTables, skipped: ReadonlyMap<string, string>): EndpointRecord {
  const routed = networkDriver(network) === 'routed';
  const record: EndpointRecord = {
    id: plan.id,
    network: network.name,
    netnsPath: '', // here, so that the record's keys keep their order in its file
    netnsInode: 0,
    ifname: plan.ifname,
    hostIfname: plan.hostIfname,
    mac: plan.mac,
    ports: [],
    status: 'creating',
    pid: process.pid,
    created: new Date().toISOString(),
  };
  const ipv4 = ipv4Of(network);
  if (ipv4) {
    const subnet = Subnet.parse(ipv4.subnet);
    const range = ipRangeOffsets(network, subnet);
    if (network.overlay) spreadStart(leases.ipv4, subnet, network.overlay.underlay, range);
    record.ipv4 = allocateAddress(leases.ipv4, subnet, plan.id, reservedAddresses(network, ipv4.gateway, skipped), plan.ip, range);
    // A routed network's container holds its address alone: everything else is through its gateway.
    record.prefixLength = routed ? 32 : subnet.prefixLength;
  }
  if (network.ipv6) {
    const subnet6 = Subnet.parse(network.ipv6.subnet);
    leases.ipv6 ??= emptyLeaseTable();
    if (network.overlay) spreadStart(leases.ipv6, subnet6, network.overlay.underlay);
    record.ipv6 = allocateAddress(leases.ipv6, subnet6, plan.id, reservedAddresses(network, network.ipv6.gateway, skipped), plan.ipv6);
    record.prefixLength6 = routed ? 128 : subnet6.prefixLength;
  }
  if (plan.bandwidth) record.bandwidth = { ...plan.bandwidth, ...(plan.bandwidth.egress ? { ifb: ifbName(plan.id) } : {}) };
  if (isLanNetwork(network)) record.link = network.driver as 'macvlan' | 'ipvlan';
  if (!network.internal && !routesThroughDevice(network)) {
    if (ipv4) record.gateway = ipv4.gateway;
    if (network.ipv6) record.gateway6 = network.ipv6.gateway;
  }
  if (plan.gwPriority) record.gwPriority = plan.gwPriority;
  // Names only where they resolve: the default network and a `dns: false` one record none (Docker ignores aliases there).
  if (resolvesNames(network)) record.names = endpointNames(plan.name, plan.aliases ?? [], plan.owner ?? plan.id);
  if (plan.upstreams?.length) record.upstreams = plan.upstreams;
  return record;
}

/** A MAC asked for must be no other interface's on the network: not the bridge's, nor either end of an endpoint's veth. */
function refuseTakenMac(network: NetworkRecord, mac: string, endpoints: EndpointRecord[]): void {
  if (mac === network.bridgeMac) throw new NsnetError('MAC_IN_USE', `mac ${mac} is the MAC of network "${network.name}"'s bridge ${network.bridge}`, { mac });
  const holder = endpoints.find((e) => e.network === network.name && (e.mac === mac || e.hostMac === mac));
  if (holder) {
    throw new NsnetError('MAC_IN_USE', `mac ${mac} is already used on network "${network.name}" (endpoint ${holder.id}, ${holder.ifname} in ${holder.netnsPath})`, {
      mac,
      endpoint: holder.id,
    });
  }
}

/** An endpoint recorded 'creating', and what an undo needs to leave the leases as they were. */
export interface RecordedEndpoint {
  record: EndpointRecord;
  leases: LeasesBefore;
  /**
   * An overlay network's claim of the endpoint's addresses in its store,
   * under way: awaited before its ports are published and it is marked
   * ready, and settled before an undo releases it (AddressesHeldElsewhere:
   * pick again).
   */
  claim?: Promise<void>;
}

/**
 * Leases the addresses and host ports and writes the record 'creating',
 * under the state lock; `skipped`: addresses not to pick (held by other
 * hosts of an overlay network). The namespace may be one still being made
 * (a setup's, holding nothing yet): the addresses are picked meanwhile, and
 * the record, keyed by the namespace's inode, is written once it exists.
 */
export async function recordEndpoint(
  network: NetworkRecord,
  ns: NetNamespace | Promise<NetNamespace>,
  plan: EndpointPlan,
  skipped: ReadonlyMap<string, string> = new Map(),
): Promise<RecordedEndpoint> {
  return currentStore().locked(() => recordEndpointLocked(network, ns, plan, skipped, true));
}

/**
 * An endpoint recorded already under the key of `ns` on the network: one
 * no one's any more (see stale()) is removed and the endpoint recorded
 * after all, with the tables read again; else ENDPOINT_EXISTS.
 */
async function clearedOrRefused(
  network: NetworkRecord,
  current: NetworkRecord | undefined,
  ns: NetNamespace,
  plan: EndpointPlan,
  skipped: ReadonlyMap<string, string>,
  mayClear: boolean,
  existing: EndpointRecord,
): Promise<RecordedEndpoint> {
  if (mayClear && (await stale(existing))) {
    const failures = await teardownEndpointLocked(existing, current);
    if (!failures.length) return recordEndpointLocked(network, ns, plan, skipped, false); // read again, as the teardown left them
    throw new NsnetError('ENDPOINT_EXISTS', `${ns.label} has the record of an endpoint gone on network "${network.name}", which could not be removed (run reconcile): ${failures.join('; ')}`, { failures });
  }
  throw new NsnetError('ENDPOINT_EXISTS', `${ns.label} is already connected to network "${network.name}"`);
}

/**
 * An endpoint record under this key that is no one's any more: its namespace
 * is gone (the kernel reuses a freed namespace's inode number, which the key
 * holds), or the connect that wrote it died. What reconcile would remove.
 */
async function stale(existing: EndpointRecord): Promise<boolean> {
  if (existing.status !== 'ready' && !processAlive(existing.pid)) return true;
  return !(await NetNamespace.exists(existing.netnsPath, existing.netnsInode));
}

async function recordEndpointLocked(
  network: NetworkRecord,
  namespace: NetNamespace | Promise<NetNamespace>,
  plan: EndpointPlan,
  skipped: ReadonlyMap<string, string>,
  mayClear: boolean,
): Promise<RecordedEndpoint> {
  const store = currentStore();
  const known = namespace instanceof NetNamespace ? namespace : undefined;
  const [current, existing, stored, portTables, endpoints] = await Promise.all([
    store.read<NetworkRecord>('networks', network.name),
    known && store.read<EndpointRecord>('endpoints', endpointKey(network.name, known.inode)),
    takeLeases(store, network.name),
    readPortTables(store, plan.publish),
    // Only a MAC asked for is checked: a random one (46 random bits) needs no read of every endpoint.
    plan.macGiven ? store.list<EndpointRecord>('endpoints') : [],
  ]);
  // The caller's copy may be of a network removed (and made again) since.
  if (!sameNetwork(current, network)) {
    throw new NsnetError('NETWORK_NOT_FOUND', `network "${network.name}" was removed since it was looked up`);
  }
  // A namespace connected already is refused before its options are looked at.
  if (known && existing) return clearedOrRefused(network, current, known, plan, skipped, mayClear, existing);
  if (plan.macGiven) refuseTakenMac(network, plan.mac, endpoints);
  const leases: AddressTables = stored ?? { ipv4: emptyLeaseTable() };
  const before = leasePointers(leases);
  // Ports before the claim: a port refused leaves no key in the store.
  const ports = await takePorts(portTables, plan.publish, plan.id, network.hostIp, (hostIp) => bindsHostPort(network, hostIp));
  const record = endpointRecord(network, plan, leases, skipped);
  record.ports = ports;
  // Nothing is written before the namespace exists: given up (it could not be made), the tables
  // changed in memory are not held (HeldRecords.take), and the next connect reads their files.
  const ns = known ?? (await namespace);
  record.netnsPath = ns.path;
  record.netnsInode = ns.inode;
  const key = endpointKey(network.name, ns.inode);
  // A namespace just made can have no endpoint but a stale one, of a namespace gone whose inode number it got.
  const leftOver = known ? undefined : await store.read<EndpointRecord>('endpoints', key);
  if (leftOver) return clearedOrRefused(network, current, ns, plan, skipped, mayClear, leftOver);
  const recorded: RecordedEndpoint = { record, leases: { pointers: { before, after: leasePointers(leases) }, created: stored === undefined } };
  try {
    // The record first: a crash after it leaves what a teardown of the container finds
    // by it (leases or ports written first would wait for reconcile). A teardown removes
    // the firewall entries only of the ports the tables give it (portsOwnedBy).
    await store.write('endpoints', key, record);
    await allOrFirstFailure([saveLeases(store, network.name, leases), writePortTables(store, portTables)]);
  } catch (error) {
    // The writes that went through hold addresses and ports for an endpoint that will not be.
    const undo = new Undo();
    undo.push(`records of ${record.hostIfname}`, () => forgetEndpointLocked(record, recorded.leases));
    throw await undo.fail(error);
  }
  // Claimed once recorded: a crash meanwhile leaves a record whose teardown releases the claim.
  if (network.overlay) {
    recorded.claim = claimOverlayAddresses(network, record, { ipv4: plan.ip !== undefined, ipv6: plan.ipv6 !== undefined });
    recorded.claim.catch(() => undefined); // awaited by the connect
  }
  return recorded;
}

/** Records the endpoint as ready, unless its network was removed meanwhile. */
export async function markReady(network: NetworkRecord, ready: EndpointRecord): Promise<void> {
  await rewriteEndpoint(network, ready);
}

/** Writes the endpoint's record again (changed since recordEndpoint), unless its network was removed meanwhile. */
export async function rewriteEndpoint(network: NetworkRecord, ready: EndpointRecord): Promise<void> {
  const store = currentStore();
  await store.locked(async () => {
    const current = await store.read<NetworkRecord>('networks', network.name);
    if (!sameNetwork(current, network)) {
      throw new NsnetError('NETWORK_NOT_FOUND', `network "${network.name}" was removed while connecting`);
    }
    await store.write('endpoints', endpointKey(ready.network, ready.netnsInode), ready);
  });
}
