/**
 * What an overlay network asks of its store (etcd), its dataplane (the VXLAN
 * port) and its agent: the calls the network's creation, connect, teardown,
 * removal and reconcile make, in one place.
 */
import { ClusterStore } from '../cluster/store';
import type { NetworkRecord } from '../types/network';
import { networkTag } from '../types/ownership';
import type { OverlayRecord, StoreConfig } from '../types/overlay';
import { ensureOverlayAgent, stopOverlayAgent } from './overlay-agent-process';
import { readOverlayAgentInfo } from './overlay-agent-file';
import { createVxlanPort, deleteVxlanPort } from './overlay-dataplane';

const stores = new Map<string, ClusterStore>();

/** The client of a store, one per configuration in this process (it asks nothing before its first call). */
export function storeFor(config: StoreConfig): ClusterStore {
  const key = JSON.stringify(config);
  let store = stores.get(key);
  if (!store) {
    store = ClusterStore.open(config);
    stores.set(key, store);
  }
  return store;
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
export async function agentLease(record: NetworkRecord): Promise<string> {
  return (await ensureOverlayAgent(record.name)).leaseId;
}

/** Whether the network's agent runs. */
export async function agentRunning(record: NetworkRecord): Promise<boolean> {
  return readOverlayAgentInfo(record.name) !== undefined;
}

/**
 * Stops the network's agent by its recorded PID. `remove`: the network is
 * removed, and the agent revokes its lease (this host's keys go); else it
 * leaves the lease to run out, so a new agent takes this host's keys over.
 */
export function stopAgent(record: NetworkRecord, options: { remove: boolean }): Promise<void> {
  return stopOverlayAgent(record.name, options);
}
