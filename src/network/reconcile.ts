/**
 * reconcile(): brings the kernel and the state directory back in line after
 * crashes and outside changes. Safe to run at any time: work another live
 * process has in progress is left alone.
 */
import { stat } from 'node:fs/promises';

import { dnsSync } from '../dns/client';
import { faultOperation } from '../fault';
import { type Firewall, firewallFor } from '../firewall/firewall';
import { bindsHostPort } from '../firewall/gateway-modes';
import { portsOwnedBy, releaseOrphanPorts, releasePorts } from '../firewall/ports';
import { saveLeases, takeLeases } from '../ipam/lease-file';
import { releaseLeases } from '../ipam/leases';
import { NetNamespace } from '../netns';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import type { ContainerRecord } from '../types/container';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import { IFB_LINK_GROUP, parseTag } from '../types/ownership';
import type { PublishedPort } from '../types/ports';
import { nsnetBridges } from './bridge';
import { forgetContainerLocked } from './containers';
import { sweepPoolEntries } from './pool-reconcile';
import { isLanNetwork, repairLanNetwork, strayLanLinks } from './lan-network';
import { repairVxlanPort, startStoppedAgents } from './overlay-links';
import { mendUnreadableRecords } from './rebuild';
import { repairBridge, repairEndpoints } from './repair';
import { removeContainerResolvConf } from './resolv-file';
import { attemptPart, teardownEndpointLocked } from './teardown';

export interface ReconcileReport {
  /** Endpoints whose namespace or host veth is gone, or whose connect died half-way (keys). */
  endpoints: string[];
  /** Host interfaces tagged as nsnet's that belong to no endpoint (veths, and the ifbs of egress limits), or to no network (a macvlan or ipvlan network's VLAN sub-interface, dummy or host interface). */
  links: string[];
  /** Leases that belong to no endpoint, as "network address". */
  leases: string[];
  /** Containers whose namespace is gone, or whose setup died half-way. */
  containers: string[];
  /** Networks whose bridge was missing and was made again. */
  bridges: string[];
  /**
   * What was put back as the records say, one line each naming the network or
   * the endpoint (its container) and what was done: a bridge made again, its
   * MTU, sysctls, gateway addresses, up; a host veth back on its bridge,
   * hairpin, up, or the veth pair made again in the endpoint's namespace;
   * a bandwidth limit's qdiscs, filter or ifb; the missing default route of
   * a namespace on several networks.
   */
  repaired: string[];
  /** Warm pool namespaces of processes that died (their paths), removed with their veths. */
  pool: string[];
  /** Bridges tagged as nsnet's whose network has no record, or of nsnet's group and untagged (creations that died). */
  strayBridges: string[];
  /** Host ports that belong to no endpoint, as "tcp 0.0.0.0:8080". */
  ports: string[];
  /** What each sweep passed in removed, by the sweep's name (the CNI plugin's: `attachments`). */
  swept: Record<string, string[]>;
  /** Firewall elements (nftables) or rules (iptables) written back, after, say, `nft flush ruleset`. */
  firewallElements: number;
  /** Records that could not be read: rebuilt from the other records, or moved aside as `<file>.corrupt-<time>`; one line each. */
  rebuilt: string[];
  /** What could not be removed or repaired, one line each; safe to run reconcile again. */
  failures: string[];
}

/**
 * More to sweep, for records the library does not know of (the CNI plugin's
 * attachments). Runs under the state lock once dead endpoints are gone, with
 * the live ones; `removeEndpoint` tears one of them down and says whether it
 * could (it is then no longer live; what it could not do is in the report's
 * failures). Returns what it removed, one line each.
 */
export interface ReconcileSweep {
  name: string;
  sweep(live: readonly EndpointRecord[], removeEndpoint: (endpoint: EndpointRecord) => Promise<boolean>): Promise<string[]>;
}

export interface ReconcileOptions {
  sweeps?: ReconcileSweep[];
}

/** A released host port as the report names it: `tcp 0.0.0.0:8080`. */
const portLine = (port: PublishedPort): string => `${port.protocol} ${port.hostIp}:${port.hostPort}`;

/** Work (a setup, a connect, a teardown) of a process that died before finishing it. */
function abandoned(record: { status: string; pid: number }): boolean {
  return record.status !== 'ready' && !processAlive(record.pid);
}

export async function reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
  faultOperation('reconcile');
  const store = currentStore();
  const report: ReconcileReport = {
    endpoints: [],
    links: [],
    leases: [],
    containers: [],
    bridges: [],
    repaired: [],
    pool: [],
    strayBridges: [],
    ports: [],
    swept: {},
    firewallElements: 0,
    rebuilt: [],
    failures: [],
  };
  /** Runs a repair; what fails is reported, and the rest goes on. */
  const attempt = (what: string, fn: () => Promise<unknown>) => attemptPart(report.failures, what, fn);
  let networks: NetworkRecord[] = [];
  await store.locked(async () => {
    report.rebuilt = await mendUnreadableRecords(store);
    networks = await store.list<NetworkRecord>('networks');
    const { tagged, untagged } = await nsnetBridges();
    // Before the repairs, which make a missing bridge again: an untagged one of ours is nobody's.
    for (const bridge of untagged) {
      if (await attempt(`untagged bridge ${bridge.name}`, () => NetNamespace.host().links.delete(bridge.index))) report.strayBridges.push(bridge.name);
    }
    for (const network of networks) {
      await (isLanNetwork(network) ? repairLanNetwork(network, report) : repairBridge(network, report));
      if (network.overlay) await repairVxlanPort(network, report);
    }
    for (const link of await strayLanLinks(networks)) {
      if (await attempt(`stray ${link.kind} ${link.name}`, () => NetNamespace.host().links.delete(link.index))) report.links.push(link.name);
    }
    const recorded = new Set(networks.map((n) => n.name));
    for (const [name, bridge] of tagged) {
      if (recorded.has(name)) continue;
      if (await attempt(`stray bridge ${bridge.name}`, () => NetNamespace.host().links.delete(bridge.index))) report.strayBridges.push(bridge.name);
    }

    // Containers first: removing one's namespace can orphan its endpoint.
    for (const container of await store.list<ContainerRecord>('containers')) {
      const { netnsPath, netnsInode } = container;
      const namespaceGone = netnsPath !== undefined && netnsInode !== undefined && !(await NetNamespace.exists(netnsPath, netnsInode));
      if (!namespaceGone && !abandoned(container)) continue;
      if (container.ownsNamespace && !namespaceGone && netnsPath !== undefined) {
        // An abandoned setup recorded the path before it made the namespace.
        const inode = netnsInode ?? (await stat(netnsPath).catch(() => undefined))?.ino;
        if (inode !== undefined && !(await attempt(`netns of container "${container.id}"`, () => NetNamespace.atPath(netnsPath, inode, container.id).delete()))) continue;
      }
      // A deletion killed between the unmount and the unlink leaves the file.
      if (container.ownsNamespace && namespaceGone && netnsPath !== undefined) await NetNamespace.removeLeftover(netnsPath);
      // Kept with its record until it goes, so that a later reconcile finds it.
      if (!(await attempt(`resolv.conf of container "${container.id}"`, () => removeContainerResolvConf(container)))) continue;
      await forgetContainerLocked(container);
      report.containers.push(container.id);
    }

    const pool = await sweepPoolEntries(report.failures);
    report.pool = pool.removed;

    const networksByName = new Map(networks.map((n) => [n.name, n]));
    const live: EndpointRecord[] = [];
    // An endpoint that could not be torn down stays live: its addresses,
    // ports, firewall entries and veth are still its own.
    const removeEndpoint = async (endpoint: EndpointRecord): Promise<boolean> => {
      const key = endpointKey(endpoint.network, endpoint.netnsInode);
      const failures = await teardownEndpointLocked(endpoint, networksByName.get(endpoint.network));
      if (failures.length) {
        report.failures.push(...failures.map((failure) => `endpoint ${key}: ${failure}`));
        return false;
      }
      report.endpoints.push(key);
      const network = networksByName.get(endpoint.network);
      const held = network ? endpoint.ports.filter((port) => bindsHostPort(network, port.hostIp)) : endpoint.ports;
      report.ports.push(...held.map(portLine));
      report.leases.push(...[endpoint.ipv4, endpoint.ipv6].filter((address) => address !== undefined).map((address) => `${endpoint.network} ${address}`));
      return true;
    };
    for (const endpoint of await store.list<EndpointRecord>('endpoints')) {
      // A network's record moved aside (unreadable) takes its endpoints with it.
      const gone = !networksByName.has(endpoint.network) || !(await NetNamespace.exists(endpoint.netnsPath, endpoint.netnsInode));
      if (!(gone || abandoned(endpoint)) || !(await removeEndpoint(endpoint))) live.push(endpoint);
    }

    for (const { name, sweep } of options.sweeps ?? []) {
      report.swept[name] = await sweep(live, async (endpoint) => {
        if (!(await removeEndpoint(endpoint))) return false;
        const index = live.indexOf(endpoint);
        if (index >= 0) live.splice(index, 1);
        return true;
      });
    }

    // Before the firewall is written back: a veth made again gets its entries there.
    await repairEndpoints(networksByName, live, report);

    const liveIds = new Set(live.map((e) => e.id));
    const waiting = new Set(pool.live);
    for (const link of await NetNamespace.host().links.list({ kind: 'veth' })) {
      const owner = parseTag(link.alias);
      if (owner?.kind !== 'endpoint' || liveIds.has(owner.id) || waiting.has(owner.id)) continue;
      if (await attempt(`link ${link.name}`, () => NetNamespace.host().links.delete(link.index))) report.links.push(link.name);
    }
    // An ifb of no live endpoint's, or not under the name its record gives (renamed by hand: one was made
    // again under that name), or untagged in nsnet's group and named by none (a connect that died making it).
    const liveIfbs = new Set(live.flatMap((e) => e.bandwidth?.ifb ?? []));
    for (const link of await NetNamespace.host().links.list({ kind: 'ifb' })) {
      const owner = parseTag(link.alias);
      const orphan = owner?.kind === 'endpoint' ? !liveIds.has(owner.id) || !liveIfbs.has(link.name) : link.alias === undefined && link.linkGroup === IFB_LINK_GROUP && !liveIfbs.has(link.name);
      if (orphan && (await attempt(`link ${link.name}`, () => NetNamespace.host().links.delete(link.index)))) report.links.push(link.name);
    }

    // The firewall from the records: whatever was flushed comes back, whatever
    // belongs to nothing goes, in one transaction.
    for (const active of ['nftables', 'iptables'] as const) {
      const guarded = networks.filter((n) => n.activeFirewall === active);
      if (!guarded.length) continue;
      const names = new Set(guarded.map((n) => n.name));
      report.firewallElements += await (firewallFor(active) as Firewall).restore(guarded, live.filter((e) => names.has(e.network)));
    }

    report.ports.push(...(await releaseOrphanPorts(store, liveIds)));
    // Ports of a routed family bind no host port; an endpoint made by an earlier release may still hold one.
    for (const endpoint of live) {
      const network = networksByName.get(endpoint.network);
      const unbound = network ? endpoint.ports.filter((port) => !bindsHostPort(network, port.hostIp)) : [];
      const held = unbound.length ? await portsOwnedBy(store, unbound, endpoint.id) : [];
      if (!held.length) continue;
      await releasePorts(store, held, endpoint.id);
      report.ports.push(...held.map(portLine));
    }

    const networkNames = new Set(networks.map((n) => n.name));
    for (const network of networkNames) {
      const leases = await takeLeases(store, network);
      if (!leases) continue;
      const owners = [leases.ipv4, leases.ipv6].flatMap((table) => (table ? [...table.addresses.entries()].map(([, owner]) => owner) : []));
      const orphans = [...new Set(owners)].filter((owner) => !liveIds.has(owner));
      const released = orphans.flatMap((owner) => releaseLeases(leases, owner));
      if (!released.length) continue;
      await saveLeases(store, network, leases);
      report.leases.push(...released.map((address) => `${network} ${address}`));
    }

  });
  // Outside the lock: the resolver reads the state directory again, and drops the names of endpoints gone.
  await attempt('names of the resolver', () => dnsSync());
  // An overlay network's agent reconciles its kernel entries and store keys itself once it runs.
  await startStoppedAgents(networks, report);
  return report;
}
