/**
 * What an overlay network asks of its store (etcd), its dataplane (the VXLAN
 * port) and its agent: the calls the network's creation, connect, teardown,
 * removal and reconcile make, in one place.
 */
import { NsnetError } from '../errors';
import type { NetworkRecord } from '../types/network';
import { networkTag } from '../types/ownership';
import type { AddressEntry, OverlayDefinition, OverlayRecord, StoreConfig } from '../types/overlay';
import type { StoreOption } from '../types/overlay-network';
import { createVxlanPort, deleteVxlanPort } from './overlay-dataplane';
import { resolveUnderlay, underlayMtu } from './overlay-underlay';

/** The store's operations an overlay network's lifecycle uses. */
export interface OverlayStore {
  defineNetwork(name: string, wanted: Omit<OverlayDefinition, 'vni'> & { vni?: number }): Promise<OverlayDefinition>;
  removeDefinitionIfUnused(name: string): Promise<boolean>;
  claimAddresses(name: string, entry: AddressEntry, leaseId: string): Promise<'claimed' | { takenBy: string }>;
  releaseAddresses(name: string, entry: Pick<AddressEntry, 'ipv4' | 'ipv6' | 'host'>): Promise<void>;
}

function notBuilt(what: string): NsnetError {
  return new NsnetError('STORE_UNAVAILABLE', `${what}: this build has no store client`);
}

/** The store option checked (INVALID_STORE when bad). */
export function storeConfigOf(_given: StoreOption): StoreConfig {
  throw notBuilt('store option');
}

/** The client of a store, one per configuration in this process. */
export function storeFor(_config: StoreConfig): OverlayStore {
  throw notBuilt('store');
}

/** This host's underlay address: given, or the one the kernel picks to reach the first endpoint. */
export async function hostUnderlay(config: StoreConfig, given: string | undefined): Promise<string> {
  return given ?? resolveUnderlay(config.endpoints[0] as string);
}

/** The MTU of the interface that carries `underlay` (ADDRESS_NOT_LOCAL when it is no address of this host). */
export function underlayMtuOf(underlay: string): Promise<number> {
  return underlayMtu(underlay);
}

/** Adds the network's VXLAN device to its bridge, tagged as the network's. */
export async function addVxlanPort(record: NetworkRecord): Promise<void> {
  const overlay = record.overlay as OverlayRecord;
  await createVxlanPort({ bridge: record.bridge, vxlan: overlay.vxlan, vni: overlay.vni, port: overlay.port, underlay: overlay.underlay, mtu: record.mtu, alias: networkTag(record.name) });
}

/** Deletes the network's VXLAN device; gone is fine. */
export function removeVxlanPort(record: NetworkRecord): Promise<void> {
  return deleteVxlanPort((record.overlay as OverlayRecord).vxlan);
}

/** Starts the network's agent unless it runs; its lease id, which this host's keys are held by. */
export async function agentLease(_record: NetworkRecord): Promise<string> {
  throw notBuilt('agent');
}

/** Whether the network's agent runs. */
export async function agentRunning(_record: NetworkRecord): Promise<boolean> {
  return false;
}

/** Stops the network's agent by its recorded PID (it revokes its lease: this host's keys go). */
export async function stopAgent(_record: NetworkRecord): Promise<void> {
  throw notBuilt('agent');
}
