/** An overlay network's own links on this host (its bridge and VXLAN port), made again or removed. */
import { isGone, messageOf, NsnetError } from '../errors';
import { NetNamespace } from '../netns';
import type { NetworkRecord } from '../types/network';
import type { OverlayRecord } from '../types/overlay';
import { createBridge, deleteBridge, findBridge } from './bridge';
import { addVxlanPort, agentLease, agentRunning, removeVxlanPort, stopAgent, storeFor } from './overlay-host';
import type { RepairReport } from './repair';

/** The bridge and its VXLAN port, made again where gone (an outside deletion, a reboot). */
export async function ensureOverlayLinks(record: NetworkRecord): Promise<void> {
  if (!(await findBridge(record))) await createBridge(record);
  if (!(await vxlanPortPresent(record))) await remakeVxlanPort(record);
}

/**
 * Makes the VXLAN device again and stops the network's agent: the entries it
 * programmed went with the old device, and a fresh agent (started by the
 * caller, or by reconcile) programs them all again.
 */
async function remakeVxlanPort(record: NetworkRecord): Promise<void> {
  // Not a removal: the new agent takes this host's keys over from the old lease, so no host drops them meanwhile.
  await stopAgent(record, { remove: false });
  await removeVxlanPort(record);
  await addVxlanPort(record);
}

/** An overlay network's own part of its removal, once its endpoints are gone: its agent, its VXLAN port, its bridge, its definition if no host uses it. */
export async function removeOverlayParts(record: NetworkRecord): Promise<void> {
  await stopAgent(record, { remove: true });
  await removeVxlanPort(record);
  await deleteBridge(record);
  const overlay = record.overlay as OverlayRecord;
  try {
    await storeFor(overlay.store).removeDefinitionIfUnused(record.name);
  } catch (error) {
    // The store down: the definition stays for the hosts that come back (a creation with the same options agrees with it).
    if (!(error instanceof NsnetError && error.code === 'STORE_UNAVAILABLE')) throw error;
  }
}

/** Whether the network's VXLAN device is there, on its bridge. */
async function vxlanPortPresent(record: NetworkRecord): Promise<boolean> {
  const overlay = record.overlay as OverlayRecord;
  const host = NetNamespace.host();
  try {
    const [vxlan, bridge] = await Promise.all([host.links.get(overlay.vxlan), host.links.get(record.bridge)]);
    return vxlan.master === bridge.index;
  } catch (error) {
    if (isGone(error)) return false;
    throw error;
  }
}

/** reconcile: the VXLAN device of an overlay network's bridge (after repairBridge), made again where gone. */
export async function repairVxlanPort(record: NetworkRecord, report: Pick<RepairReport, 'repaired' | 'failures'>): Promise<void> {
  const subject = `network "${record.name}"`;
  const what = `VXLAN device ${record.overlay?.vxlan} made again on bridge ${record.bridge} (its agent restarted)`;
  try {
    if (await vxlanPortPresent(record)) return;
    await remakeVxlanPort(record);
  } catch (error) {
    report.failures.push(`${subject}: ${what} failed: ${messageOf(error)}`);
    return;
  }
  report.repaired.push(`${subject}: ${what}`);
}

/** reconcile, outside the state lock: the agent of each overlay network started where it does not run. */
export async function startStoppedAgents(networks: readonly NetworkRecord[], report: Pick<RepairReport, 'repaired' | 'failures'>): Promise<void> {
  for (const record of networks) {
    if (!record.overlay || (await agentRunning(record))) continue;
    const subject = `network "${record.name}"`;
    try {
      await agentLease(record);
    } catch (error) {
      report.failures.push(`${subject}: agent start failed: ${messageOf(error)}`);
      continue;
    }
    report.repaired.push(`${subject}: agent started`);
  }
}
