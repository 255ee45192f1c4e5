/**
 * One entry of a warm pool: a namespace made ahead for a container that is
 * not asked for yet, with everything of an endpoint that does not depend on
 * its address: the veth on the bridge (host end tagged as the endpoint it
 * will be, hairpin on, up), `eth0` with its MAC, IPv6 off on an IPv4-only
 * network, `lo` and `eth0` up, carrier.
 *
 * The namespace is unnamed while it waits: held by its owner's descriptor
 * alone, it goes with its veth when the owner dies, however it dies, and is
 * in no listing (`ip netns`). A claim mounts it under the container's name;
 * nothing is unmounted then, nor when the pool deletes an entry (the
 * descriptor closed). Its record (kind 'pool', with the owner's pid and the
 * descriptor's path) is written once the namespace exists and before the
 * veth is made: until then nothing of it can outlive the process; from then
 * on the record keeps the veth from reconcile while the owner lives, and is
 * reconcile's to remove once it is dead.
 */
import { NetNamespace } from '../netns';
import { currentStore } from '../state/store';
import type { NetworkRecord } from '../types/network';
import { endpointTag } from '../types/ownership';
import type { PoolEntryRecord } from '../types/pool';
import { planEndpoint } from './endpoint-plan';
import { randomLocalMac } from './mac';
import { withFreeHostEnd } from './host-end-name';
import { allOrFirstFailure, createVeth, disableIPv6, step, waitForCarrier } from './plumbing';
import { Undo } from './undo';

/** The interface inside a pooled namespace: the default of a connect. */
export const POOL_IFNAME = 'eth0';

/** The entry's namespace waits held by its owner's descriptor (records of older releases: mounted under the netns directory). */
export function heldByDescriptor(record: PoolEntryRecord): boolean {
  return record.netnsPath.startsWith('/proc/');
}

export interface PoolEntry {
  record: PoolEntryRecord;
  /** The network as it was when the entry was made. */
  network: NetworkRecord;
  /** Unnamed and open, with its rtnetlink socket. */
  ns: NetNamespace;
  mac: string;
  hostIndex: number;
  hostMac: string;
  /** The bridge's index, as the veth was made (undefined if the kernel did not say). */
  bridgeIndex?: number;
  peerIndex: number;
}

/**
 * Makes an entry for `network`; undoes everything on failure. Awaits
 * `between()` between its steps (the pool's: while setups claim entries).
 */
export async function preparePoolEntry(network: NetworkRecord, between: () => Promise<void> = async () => undefined): Promise<PoolEntry> {
  const plan = planEndpoint(network, { ifname: POOL_IFNAME, ifnameGiven: false, mac: randomLocalMac(), macGiven: false, publish: [], gwPriority: 0 });
  const store = currentStore();
  const undo = new Undo();
  try {
    const ns = await NetNamespace.create();
    // Its veth goes with it.
    undo.push(`netns of pool entry ${plan.id}`, () => ns.delete());
    const record: PoolEntryRecord = {
      id: plan.id,
      network: network.name,
      netnsPath: ns.path,
      hostIfname: plan.hostIfname,
      pid: process.pid,
      created: new Date().toISOString(),
    };
    await store.write('pool', record.id, record);
    undo.push(`record of pool entry ${record.id}`, () => store.remove('pool', record.id));
    await between();
    const hostEnd = await withFreeHostEnd(
      network,
      plan,
      () => step('create veth', () => createVeth(network, ns, plan)),
      () => store.write('pool', record.id, Object.assign(record, { hostIfname: plan.hostIfname })),
    );
    const peerIndex = hostEnd.peerIndex ?? (await ns.links.get(plan.ifname)).index;
    await between();
    await allOrFirstFailure([
      // Tagged as the endpoint it becomes: reconcile keeps it while its pool's owner lives.
      step('tag host end, hairpin on', () => NetNamespace.host().links.set(hostEnd.index, { alias: endpointTag(network.name, plan.id), hairpin: true })),
      network.ipv6 ? undefined : disableIPv6(ns, plan.ifname),
      ns.links.set('lo', { up: true }),
    ]);
    await between();
    // Up only once IPv6 is off: an IPv4-only entry never has a link-local address.
    await ns.links.set(peerIndex, { up: true });
    await step('wait for carrier', () => waitForCarrier(ns, peerIndex));
    return { record, network, ns, mac: plan.mac, hostIndex: hostEnd.index, hostMac: hostEnd.mac, bridgeIndex: hostEnd.master, peerIndex };
  } catch (error) {
    throw await undo.fail(error);
  }
}

/** Deletes an entry no setup took: its namespace (its descriptor closed; the kernel removes its veth), then its record. */
export async function deletePoolEntry(entry: PoolEntry): Promise<void> {
  await entry.ns.delete();
  await currentStore().remove('pool', entry.record.id);
}
