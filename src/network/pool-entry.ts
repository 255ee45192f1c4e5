/**
 * One entry of a warm pool: a namespace made ahead for a container that is
 * not asked for yet, with everything of an endpoint that does not depend on
 * its address: the veth on the bridge (host end tagged as the endpoint it
 * will be, hairpin on, up), `eth0` with its MAC, IPv6 off on an IPv4-only
 * network, `lo` and `eth0` up, carrier. Its record (kind 'pool', with the
 * owner's pid) is written before anything is made, so that reconcile removes
 * what a dead owner left.
 */
import { join } from 'node:path';

import { NetNamespace, netnsDir } from '../netns';
import { currentStore } from '../state/store';
import type { NetworkRecord } from '../types/network';
import { endpointTag } from '../types/ownership';
import type { PoolEntryRecord } from '../types/pool';
import { planEndpoint } from './endpoint-plan';
import { randomLocalMac } from './mac';
import { allOrFirstFailure, createVeth, disableIPv6, step, waitForCarrier } from './plumbing';
import { Undo } from './undo';

/** The interface inside a pooled namespace: the default of a connect. */
export const POOL_IFNAME = 'eth0';

/**
 * The name a pool entry's namespace waits under. Container ids cannot start
 * with '_', so it is never a container's; the entry gets the container's
 * name when a setup takes it.
 */
function waitingName(id: string): string {
  return `_nsnet-pool-${id}`;
}

export interface PoolEntry {
  record: PoolEntryRecord;
  /** The network as it was when the entry was made. */
  network: NetworkRecord;
  /** Open, with its rtnetlink socket. */
  ns: NetNamespace;
  mac: string;
  hostIndex: number;
  hostMac: string;
  /** The bridge's index, as the veth was made (undefined if the kernel did not say). */
  bridgeIndex?: number;
  peerIndex: number;
}

/** Makes an entry for `network`; undoes everything on failure. */
export async function preparePoolEntry(network: NetworkRecord): Promise<PoolEntry> {
  const plan = planEndpoint(network, { ifname: POOL_IFNAME, mac: randomLocalMac(), macGiven: false, publish: [] });
  const name = waitingName(plan.id);
  const record: PoolEntryRecord = {
    id: plan.id,
    network: network.name,
    netnsPath: join(netnsDir(), name),
    hostIfname: plan.hostIfname,
    pid: process.pid,
    created: new Date().toISOString(),
  };
  const store = currentStore();
  const undo = new Undo();
  await store.write('pool', record.id, record);
  undo.push(`record of pool entry ${record.id}`, () => store.remove('pool', record.id));
  try {
    const ns = await NetNamespace.create(name);
    // Its veth goes with it.
    undo.push(`netns ${name}`, () => ns.delete());
    const hostEnd = await step('create veth', () => createVeth(network, ns, plan));
    const peerIndex = hostEnd.peerIndex ?? (await ns.links.get(plan.ifname)).index;
    await allOrFirstFailure([
      // Tagged as the endpoint it becomes: reconcile keeps it while its pool's owner lives.
      step('tag host end, hairpin on', () => NetNamespace.host().links.set(hostEnd.index, { alias: endpointTag(network.name, plan.id), hairpin: true })),
      network.ipv6 ? undefined : disableIPv6(ns, plan.ifname),
      ns.links.set('lo', { up: true }),
    ]);
    // Up only once IPv6 is off: an IPv4-only entry never has a link-local address.
    await ns.links.set(peerIndex, { up: true });
    await step('wait for carrier', () => waitForCarrier(ns, peerIndex));
    return { record, network, ns, mac: plan.mac, hostIndex: hostEnd.index, hostMac: hostEnd.mac, bridgeIndex: hostEnd.master, peerIndex };
  } catch (error) {
    throw await undo.fail(error);
  }
}

/** Deletes an entry no setup took: its namespace (the kernel removes its veth), then its record. */
export async function deletePoolEntry(entry: PoolEntry): Promise<void> {
  await entry.ns.delete();
  await currentStore().remove('pool', entry.record.id);
}
