/**
 * reconcile(): brings the kernel and the state directory back in line after
 * crashes and outside changes. Safe to run at any time: work another live
 * process has in progress is left alone.
 */
import { stat } from 'node:fs/promises';

// CNI attachments live in the same state directory, and stand or fall with their endpoints.
import { attachmentKey, madeFor, removeAttachment } from '../cni/attachments';
import { type Firewall, firewallFor } from '../firewall/firewall';
import { releaseOrphanPorts } from '../firewall/ports';
import { releaseLeases } from '../ipam/leases';
import { NetNamespace } from '../netns';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import type { AttachmentRecord } from '../types/attachment';
import type { ContainerRecord } from '../types/container';
import { ENDPOINT_ALIAS_PREFIX, endpointKey, type EndpointRecord } from '../types/endpoint';
import type { NetworkLeases } from '../types/leases';
import type { NetworkRecord } from '../types/network';
import { createBridge, findBridge, taggedBridges } from './bridge';
import { forgetLocked } from './containers';
import { removeHostEnd } from './endpoint';

export interface ReconcileReport {
  /** Endpoints whose namespace is gone, or whose connect died half-way (keys). */
  endpoints: string[];
  /** Host interfaces tagged as nsnet's that belong to no endpoint. */
  links: string[];
  /** Leases that belong to no endpoint, as "network address". */
  leases: string[];
  /** Containers whose namespace is gone, or whose setup died half-way. */
  containers: string[];
  /** Networks whose bridge was missing and was made again. */
  bridges: string[];
  /** Bridges tagged as nsnet's whose network has no record (a creation that died). */
  strayBridges: string[];
  /** Host ports that belong to no endpoint, as "tcp 0.0.0.0:8080". */
  ports: string[];
  /** CNI attachments whose endpoint is gone, or whose ADD died half-way, as "network:container:interface". */
  attachments: string[];
  /** Firewall elements (nftables) or rules (iptables) written back, after, say, `nft flush ruleset`. */
  firewallElements: number;
}

/** Work (a setup, a connect, a teardown) of a process that died before finishing it. */
function abandoned(record: { status: string; pid: number }): boolean {
  return record.status !== 'ready' && !processAlive(record.pid);
}

export async function reconcile(): Promise<ReconcileReport> {
  const store = currentStore();
  const report: ReconcileReport = {
    endpoints: [],
    links: [],
    leases: [],
    containers: [],
    bridges: [],
    strayBridges: [],
    ports: [],
    attachments: [],
    firewallElements: 0,
  };
  await store.locked(async () => {
    const networks = await store.list<NetworkRecord>('networks');
    for (const network of networks) {
      if (await findBridge(network)) continue;
      await createBridge(network);
      report.bridges.push(network.name);
    }
    const recorded = new Set(networks.map((n) => n.name));
    for (const [name, bridge] of await taggedBridges()) {
      if (recorded.has(name)) continue;
      await NetNamespace.host().links.delete(bridge.index);
      report.strayBridges.push(bridge.name);
    }

    // Containers first: removing one's namespace can orphan its endpoint.
    for (const container of await store.list<ContainerRecord>('containers')) {
      const { netnsPath, netnsInode } = container;
      const namespaceGone = netnsPath !== undefined && netnsInode !== undefined && !(await NetNamespace.exists(netnsPath, netnsInode));
      if (!namespaceGone && !abandoned(container)) continue;
      if (container.ownsNamespace && !namespaceGone && netnsPath !== undefined) {
        // An abandoned setup recorded the path before it made the namespace.
        const inode = netnsInode ?? (await stat(netnsPath).catch(() => undefined))?.ino;
        if (inode !== undefined) await NetNamespace.atPath(netnsPath, inode, container.id).delete().catch(() => undefined);
      }
      await forgetLocked(container);
      report.containers.push(container.id);
    }

    const live: EndpointRecord[] = [];
    for (const endpoint of await store.list<EndpointRecord>('endpoints')) {
      const gone = !(await NetNamespace.exists(endpoint.netnsPath, endpoint.netnsInode));
      if (!gone && !abandoned(endpoint)) {
        live.push(endpoint);
        continue;
      }
      await removeHostEnd(endpoint);
      await store.remove('endpoints', endpointKey(endpoint.network, endpoint.netnsInode));
      report.endpoints.push(endpointKey(endpoint.network, endpoint.netnsInode));
    }

    // A CNI attachment without its endpoint would make the next ADD of the
    // same container fail; an ADD that died may have made its endpoint all the same.
    for (const attachment of await store.list<AttachmentRecord>('attachments')) {
      if (attachment.status === 'ready') {
        if (live.some((e) => endpointKey(e.network, e.netnsInode) === attachment.endpoint)) continue;
      } else {
        if (!abandoned(attachment)) continue;
        const orphan = live.findIndex((e) => madeFor(attachment, e));
        if (orphan >= 0) {
          const [endpoint] = live.splice(orphan, 1);
          await store.remove('endpoints', endpointKey(endpoint.network, endpoint.netnsInode));
          report.endpoints.push(endpointKey(endpoint.network, endpoint.netnsInode));
        }
      }
      await removeAttachment(attachment);
      report.attachments.push(attachmentKey(attachment.network, attachment.containerId, attachment.ifname));
    }

    const liveIds = new Set(live.map((e) => e.id));
    for (const link of await NetNamespace.host().links.list({ kind: 'veth' })) {
      if (!link.alias?.startsWith(ENDPOINT_ALIAS_PREFIX)) continue;
      const id = link.alias.slice(link.alias.lastIndexOf(':') + 1);
      if (liveIds.has(id)) continue;
      await NetNamespace.host().links.delete(link.index).catch(() => undefined);
      report.links.push(link.name);
    }

    // The firewall from the records: whatever was flushed comes back, whatever
    // belongs to nothing goes, in one transaction.
    for (const active of ['nftables', 'iptables'] as const) {
      const guarded = networks.filter((n) => n.activeFirewall === active);
      if (!guarded.length) continue;
      const names = new Set(guarded.map((n) => n.name));
      report.firewallElements += await (firewallFor(active) as Firewall).restore(guarded, live.filter((e) => names.has(e.network)));
    }

    report.ports = await releaseOrphanPorts(store, liveIds);

    const networkNames = new Set(networks.map((n) => n.name));
    for (const network of networkNames) {
      const leases = await store.read<NetworkLeases>('leases', network);
      if (!leases) continue;
      const owners = [leases.ipv4, leases.ipv6].flatMap((table) => (table ? Object.values(table.addresses) : []));
      const orphans = [...new Set(owners)].filter((owner) => !liveIds.has(owner));
      const released = orphans.flatMap((owner) => releaseLeases(leases, owner));
      if (!released.length) continue;
      await store.write('leases', network, leases);
      report.leases.push(...released.map((address) => `${network} ${address}`));
    }

  });
  return report;
}
