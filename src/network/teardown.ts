/**
 * The one way an endpoint goes, used by disconnect, removeNetwork,
 * teardownContainer, CNI DEL and reconcile. Best effort: each part is tried
 * past the failures of the others, and what could not be done is returned,
 * one line each. Gone already counts as done.
 *
 * Order: its names in the resolver and the host end (or the namespace's
 * deletion takes it) at once, then its firewall entries, then leases,
 * host ports and the record. If the names or the host end could not be
 * removed, the record and the addresses are kept: a name or a veth that still
 * answers for an address must not see it handed to another endpoint.
 */
import { isGone, messageOf, NsnetError } from '../errors';
import { firewallFor } from '../firewall/firewall';
import { bindsHostPort } from '../firewall/gateway-modes';
import { portsOwnedBy, releasePorts } from '../firewall/ports';
import { removeLeases, saveLeases, takeLeases } from '../ipam/lease-file';
import { type LeasesBefore, leasesEmpty, releaseEndpointLeases, rewindPointers } from '../ipam/leases';
import { currentStore } from '../state/store';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import { handOverDefaultRoutes } from './default-route';
import { removeNames } from './endpoint-names';
import { removeChild } from './lan-child';
import { releaseOverlayAddresses } from './overlay-claim';
import { removeHostEnd } from './plumbing';
import { removeIfb } from './shaping';

export interface TeardownOptions {
  /** Leave the veth: the namespace is being deleted, which removes it in bulk (an ifb, in the host's namespace, goes all the same). */
  keepLinks?: boolean;
  /** The names' removal, started already by the caller (alongside the namespace's deletion). */
  namesGone?: Promise<boolean>;
}

/** Takes the endpoint's names out of the resolver; true once done, else the failure is noted. */
export function removeNamesPart(record: EndpointRecord, failures: string[]): Promise<boolean> {
  return attemptPart(failures, `names of ${record.hostIfname}`, () => removeNames(record));
}

/**
 * The endpoint's links: its host end in the host's namespace (unless the
 * namespace's deletion takes it), then its ifb; a macvlan or ipvlan child,
 * in its namespace. A default route it holds goes to the namespace's next
 * network first (default-route.ts); if it could not, the link stays,
 * keeping the namespace its way out until a retry (or reconcile) hands the
 * route over.
 */
async function removeLinks(record: EndpointRecord, options: TeardownOptions, failures: string[]): Promise<boolean> {
  const handedOver = options.keepLinks || (await attemptPart(failures, `default routes of ${record.hostIfname}`, () => handOverDefaultRoutes(record)));
  if (record.link) return options.keepLinks || (handedOver && (await attemptPart(failures, `${record.link} ${record.ifname} in ${record.netnsPath}`, () => removeChild(record))));
  const hostEnd = options.keepLinks || (handedOver && (await attemptPart(failures, `host end ${record.hostIfname}`, () => removeHostEnd(record))));
  return hostEnd && (await attemptPart(failures, `ifb ${record.bandwidth?.ifb}`, () => removeIfb(record)));
}

/** Runs one part of a teardown or repair; a failure (other than gone) is noted in `failures`, not thrown. */
export async function attemptPart(failures: string[], what: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    if (isGone(error)) return true;
    failures.push(`${what}: ${messageOf(error)}`);
    return false;
  }
}

/**
 * Forgets an endpoint: its leases (and an overlay network's claim in its
 * store), its host ports and its record (if still this one). Under the
 * state lock. `undone`: given by a connect that is undone, which leaves the
 * leases as it found them (pointers, and no record if there was none).
 */
export async function forgetEndpointLocked(record: EndpointRecord, undone?: LeasesBefore): Promise<void> {
  const store = currentStore();
  const key = endpointKey(record.network, record.netnsInode);
  const [leases, current, network] = await Promise.all([
    takeLeases(store, record.network),
    store.read<EndpointRecord>('endpoints', key),
    store.read<NetworkRecord>('networks', record.network),
  ]);
  let leasesSaved: Promise<void> | undefined;
  if (leases) {
    const released = releaseEndpointLeases(leases, record);
    const rewound = undone !== undefined && rewindPointers(leases, undone.pointers);
    // The record a network's first connect made goes with it, if nothing else was leased since.
    if (undone?.created && leasesEmpty(leases)) leasesSaved = removeLeases(store, record.network);
    else if (released || rewound) leasesSaved = saveLeases(store, record.network, leases);
  }
  await Promise.all([
    leasesSaved,
    current?.id === record.id ? store.remove('endpoints', key) : undefined,
    releasePorts(store, record.ports, record.id),
    network?.overlay ? releaseOverlayAddresses(network, record) : undefined,
  ]);
}

/** The endpoint's firewall entries and records. Under the state lock; `network` as stored, if it still is. */
async function removeRecordedLocked(record: EndpointRecord, network: NetworkRecord | undefined, failures: string[]): Promise<void> {
  const firewall = network && firewallFor(network.activeFirewall);
  if (firewall) {
    await attemptPart(failures, `firewall entries of ${record.hostIfname}`, async () => {
      const ports = await portsOwnedBy(currentStore(), record.ports, record.id, (hostIp) => bindsHostPort(network, hostIp));
      await firewall.removeEndpoint(network, { ...record, ports });
    });
  }
  await attemptPart(failures, `records of ${record.hostIfname}`, () => forgetEndpointLocked(record));
}

/**
 * Marks a ready endpoint 'removing' by this process before its veth goes, so
 * that a teardown that dies half-way is finished by reconcile rather than
 * repaired (a ready endpoint without its veth is made again). Under the lock.
 */
async function markRemovingLocked(record: EndpointRecord, failures: string[]): Promise<boolean> {
  if (record.status !== 'ready') return true;
  const store = currentStore();
  const key = endpointKey(record.network, record.netnsInode);
  return attemptPart(failures, `record of ${record.hostIfname}`, async () => {
    const current = await store.read<EndpointRecord>('endpoints', key);
    if (current?.id === record.id && current.status === 'ready') await store.write('endpoints', key, { ...current, status: 'removing', pid: process.pid });
  });
}

/**
 * Takes the endpoint's names out of the resolver while its links go (one
 * round trip to the service, beside the kernel's work): both must be done
 * before its address may be released.
 */
async function namesAndLinksGone(record: EndpointRecord, options: TeardownOptions, failures: string[]): Promise<boolean> {
  const [namesGone, linksGone] = await Promise.all([options.namesGone ?? removeNamesPart(record, failures), removeLinks(record, options, failures)]);
  return namesGone && linksGone;
}

/** Tears an endpoint down, for a caller that holds the state lock. Returns what it could not do. */
export async function teardownEndpointLocked(record: EndpointRecord, network: NetworkRecord | undefined, options: TeardownOptions = {}): Promise<string[]> {
  const failures: string[] = [];
  const gone = (options.keepLinks || (await markRemovingLocked(record, failures))) && (await namesAndLinksGone(record, options, failures));
  if (gone) await removeRecordedLocked(record, network, failures);
  return failures;
}

/**
 * Tears an endpoint down. The record is marked 'removing' under the state
 * lock, the host end goes outside it (deleting a veth is the slow part), and
 * the rest under it again, so that reconcile never writes back the rules of a
 * released address.
 */
export async function teardownEndpoint(record: EndpointRecord, options: TeardownOptions = {}): Promise<string[]> {
  const failures: string[] = [];
  const store = currentStore();
  if (!options.keepLinks && !(await store.locked(() => markRemovingLocked(record, failures)))) return failures;
  if (!(await namesAndLinksGone(record, options, failures))) return failures;
  await store.locked(async () => {
    const network = await store.read<NetworkRecord>('networks', record.network);
    await removeRecordedLocked(record, network, failures);
  });
  return failures;
}

/** TEARDOWN_INCOMPLETE for what a teardown left, naming `what`. */
export function teardownIncomplete(what: string, failures: string[]): NsnetError {
  return new NsnetError('TEARDOWN_INCOMPLETE', `teardown of ${what} left: ${failures.join('; ')}`, { failures });
}
