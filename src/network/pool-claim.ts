/**
 * A setup from a warm pool: what a connect does, less what the entry did
 * ahead (pool-entry.ts). The entry's namespace is mounted under the
 * container's name, the endpoint recorded as a connect records it (leases,
 * ports, record 'creating'; then the entry's record goes, the endpoint's
 * naming its veth), then at once: its addresses and default routes in one
 * batch inside the namespace, the host's neighbour entries of those
 * addresses forgotten, the firewall entries, the record 'ready'. Any failure
 * undoes everything, and the namespace goes.
 */
import { firewallFor } from '../firewall/firewall';
import { NetNamespace } from '../netns';
import { currentStore } from '../state/store';
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import type { ConnectInput } from './connect-options';
import { addNamesAfterBatches } from './endpoint-names';
import { markReady, planEndpoint, recordEndpoint, rewriteEndpoint, sameNetwork } from './endpoint-plan';
import { type Endpoint, toEndpoint } from './endpoint-record';
import { addEndpointEntries } from './firewall-reinstall';
import { allOrFirstFailure, configureAddresses, step } from './plumbing';
import { existingPool, type NetworkPool, poolOf } from './pool';
import { deletePoolEntry, type PoolEntry } from './pool-entry';
import { applyLimits, makeIfb } from './shaping';
import { forgetEndpointLocked } from './teardown';
import { Undo } from './undo';

export interface PooledAttachment {
  netns: NetNamespace;
  endpoint: Endpoint;
  /** The network's record the endpoint was made on. */
  network: NetworkRecord;
}

/**
 * Sets up container `id` on `network` from this process's pool of it:
 * undefined (nothing done) when there is none, it is empty, the setup asks
 * for what an entry cannot give (another ifname, a given MAC), or the network
 * was made again since the pool's entries were.
 */
export async function setupFromPool(id: string, network: string, input: ConnectInput): Promise<PooledAttachment | undefined> {
  const pool = existingPool(network);
  const entry = pool?.take(input);
  if (!pool || !entry) return undefined;
  try {
    return await takeEntry(pool, entry, id, input);
  } finally {
    pool.claimed();
  }
}

async function takeEntry(pool: NetworkPool, entry: PoolEntry, id: string, input: ConnectInput): Promise<PooledAttachment | undefined> {
  let ns: NetNamespace;
  try {
    // Removed since, or made again: the entry's veth is on a bridge that is no more.
    const current = await currentStore().read('networks', entry.network.name);
    if (!sameNetwork(current, entry.network)) {
      const { size } = pool;
      Promise.all([deletePoolEntry(entry), pool.drain()]).catch(() => undefined);
      // A network made again gets a pool of the same size.
      if (current) poolOf(current).resize(size);
      return undefined;
    }
    ns = await entry.ns.mountAs(id);
  } catch (error) {
    if (!entry.ns.closed) pool.putBack(entry);
    throw error;
  }
  return claim(entry, ns, input);
}

async function claim(entry: PoolEntry, ns: NetNamespace, input: ConnectInput): Promise<PooledAttachment> {
  const { network } = entry;
  const store = currentStore();
  const undo = new Undo();
  undo.push(`record of pool entry ${entry.record.id}`, () => store.remove('pool', entry.record.id));
  undo.push(`netns ${ns.name}`, () => ns.delete());
  let named: Promise<void> | undefined;
  try {
    const plan = { ...planEndpoint(network, input), id: entry.record.id, hostIfname: entry.record.hostIfname, mac: entry.mac };
    const { record, leases } = await recordEndpoint(network, ns, plan);
    undo.push(`records of ${record.hostIfname}`, () => store.locked(() => forgetEndpointLocked(record, leases)));
    // The endpoint's record names the veth now.
    await store.remove('pool', entry.record.id);
    // Once the addresses' job has gone to the kernel.
    named = addNamesAfterBatches(network, record, undo);
    // The veth goes before its address is released, as a connect's undo does.
    undo.push(`host end ${record.hostIfname}`, () => NetNamespace.host().links.delete(entry.hostIndex), { guardsEarlier: true });
    record.hostMac = entry.hostMac;
    const ifb = record.bandwidth?.ifb === undefined ? undefined : await makeIfb(record, network.mtu, undo, () => rewriteEndpoint(network, record));
    const ready: EndpointRecord = { ...record, status: 'ready' };
    const firewall = firewallFor(network.activeFirewall);
    // Undone even when adding them failed, as in a connect.
    if (firewall) undo.push(`firewall entries of ${record.hostIfname}`, () => firewall.removeEndpoint(network, record));
    // All at once, each on its own socket: the one round trip of each is the
    // whole wait. The endpoint is marked ready with the rest (a failure still
    // undoes everything); the container's record says ready only after.
    await allOrFirstFailure([
      configureAddresses(ns, record, entry.peerIndex, entry.bridgeIndex),
      record.bandwidth ? step('limit bandwidth', () => applyLimits(record, entry.hostIndex, ifb?.index)) : undefined,
      firewall ? step('publish ports', () => addEndpointEntries(firewall, network, record)) : undefined,
      markReady(network, ready),
      named,
    ]);
    return { netns: ns, endpoint: toEndpoint(ready, ns), network };
  } catch (error) {
    // Names still being added are undone with the rest.
    await named?.catch(() => undefined);
    throw await undo.fail(error);
  }
}
