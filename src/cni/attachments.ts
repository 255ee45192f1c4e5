/**
 * CNI attachments: what a runtime attached (network, container id, interface
 * name), recorded before the endpoint is made so that a DEL or GC finds it
 * even when the namespace is gone.
 */
import type { ReconcileSweep } from '../network/reconcile';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import type { AttachmentRecord } from '../types/attachment';
import { endpointKey, type EndpointRecord } from '../types/endpoint';

/** ':' appears in none of a network name, a container id or an interface name. */
export function attachmentKey(network: string, containerId: string, ifname: string): string {
  return `${network}:${containerId}:${ifname}`;
}

export function readAttachment(network: string, containerId: string, ifname: string): Promise<AttachmentRecord | undefined> {
  return currentStore().read('attachments', attachmentKey(network, containerId, ifname));
}

export async function attachmentsOf(network: string): Promise<AttachmentRecord[]> {
  return (await currentStore().list('attachments')).filter((a) => a.network === network);
}

/** Records a new attachment; false when one exists for the same network, container and interface. */
export function createAttachment(record: AttachmentRecord): Promise<boolean> {
  return currentStore().create('attachments', attachmentKey(record.network, record.containerId, record.ifname), record);
}

export function writeAttachment(record: AttachmentRecord): Promise<void> {
  return currentStore().write('attachments', attachmentKey(record.network, record.containerId, record.ifname), record);
}

/**
 * Removes an attachment if it is still the one `record` describes (the same
 * process and time): another ADD may have taken over the key meanwhile.
 */
export async function removeAttachment(record: AttachmentRecord): Promise<void> {
  const current = await readAttachment(record.network, record.containerId, record.ifname);
  if (current?.pid !== record.pid || current.created !== record.created) return;
  await currentStore().remove('attachments', attachmentKey(record.network, record.containerId, record.ifname));
}

/** Whether `endpoint` is the one the ADD of `record` made (the same network, namespace and process). */
export function madeFor(record: AttachmentRecord, endpoint: EndpointRecord): boolean {
  return endpoint.network === record.network && endpoint.netnsPath === record.netnsPath && endpoint.pid === record.pid;
}

/**
 * The endpoint of an attachment: the one it names once ready; for an ADD
 * that died before that, the endpoint it may have made all the same.
 */
export async function endpointOf(record: AttachmentRecord): Promise<EndpointRecord | undefined> {
  const store = currentStore();
  if (record.endpoint) return store.read('endpoints', record.endpoint);
  return (await store.list('endpoints')).find((endpoint) => madeFor(record, endpoint));
}

/** An ADD still at work in a live process (its pid) rather than one that died. */
export function inProgress(record: AttachmentRecord): boolean {
  return record.status === 'creating' && processAlive(record.pid);
}

/**
 * reconcile()'s sweep of attachments: one whose endpoint is gone would make
 * the next ADD of the same container fail; an ADD that died may have made
 * its endpoint all the same, which goes with it.
 */
export const attachmentSweep: ReconcileSweep = {
  name: 'attachments',
  async sweep(live, removeEndpoint) {
    const removed: string[] = [];
    for (const attachment of await currentStore().list<AttachmentRecord>('attachments')) {
      if (attachment.status === 'ready') {
        if (live.some((e) => endpointKey(e.network, e.netnsInode) === attachment.endpoint)) continue;
      } else {
        if (inProgress(attachment)) continue;
        const orphan = live.find((e) => madeFor(attachment, e));
        // An endpoint that stays keeps its attachment, for the next reconcile or DEL.
        if (orphan && !(await removeEndpoint(orphan))) continue;
      }
      await removeAttachment(attachment);
      removed.push(attachmentKey(attachment.network, attachment.containerId, attachment.ifname));
    }
    return removed;
  },
};
