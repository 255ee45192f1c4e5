/**
 * Host ports taken by published ports, across processes: one state record
 * per protocol (port -> bindings), changed only under the state lock, and
 * held in memory between uses (state/held-records.ts), so that a connect
 * with a port among a thousand published neither parses nor stringifies the
 * other thousand.
 */
import { isIP } from 'node:net';

import { NsnetError } from '../errors';
import { NetNamespace } from '../netns';
import { HeldRecords } from '../state/held-records';
import { JsonEntries } from '../state/json-entries';
import type { StateStore } from '../state/store';
import { type PortBinding, type PortProtocol, type PortRequest, PROTOCOLS, type PublishedPort } from '../types/ports';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** A port published on every address of its family. */
export function onEveryAddress(hostIp: string): boolean {
  return WILDCARDS.has(hostIp);
}

/** Two bindings clash when their family matches and the addresses are equal or one is a wildcard. */
function clash(a: string, b: string): boolean {
  if (isIP(a) !== isIP(b)) return false;
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}

async function ephemeralRange(): Promise<[number, number]> {
  const text = await NetNamespace.host().sysctl('net.ipv4.ip_local_port_range');
  const [low, high] = text.split(/\s+/).map(Number);
  return Number.isInteger(low) && Number.isInteger(high) && low <= high ? [low, high] : [32768, 60999];
}

/** One protocol's table as held in memory: port -> who holds it (a list replaced, never changed in place). */
export type HeldPortTable = JsonEntries<readonly PortBinding[]>;

/** The port tables that `requests` need. */
export type PortTables = Map<PortProtocol, HeldPortTable>;

const portRecords = new HeldRecords('ports', (table) => JsonEntries.of<readonly PortBinding[]>(table), (table: HeldPortTable) => table.json());

/** The port tables that `requests` need, to change and write back (writePortTables) or give up. */
export async function readPortTables(store: StateStore, requests: Pick<PortRequest, 'protocol'>[]): Promise<PortTables> {
  const protocols = [...new Set(requests.map((r) => r.protocol))];
  const tables = await Promise.all(protocols.map((p) => portRecords.take(store, p)));
  return new Map(protocols.map((p, i) => [p, tables[i] ?? new JsonEntries()]));
}

export async function writePortTables(store: StateStore, tables: PortTables): Promise<void> {
  await Promise.all([...tables].map(([protocol, table]) => portRecords.save(store, protocol, table)));
}

/** Whether a port published on `hostIp` holds its host port (it does not where the family is routed: the port is reached at the container's own address). */
export type BindsHostPort = (hostIp: string) => boolean;

const ALWAYS: BindsHostPort = () => true;

/**
 * Takes the host ports of `requests` for `owner` in `tables` (PORT_IN_USE
 * when taken); a request without a host port gets a free one from the
 * ephemeral range, or from its host range. A request that binds no host
 * port takes none: it is recorded with the host port asked, or with its
 * container port when none was. Returns the mappings; the caller writes the
 * tables back, under the state lock it read them in.
 */
export async function takePorts(
  tables: PortTables,
  requests: PortRequest[],
  owner: string,
  defaultHostIp: string,
  bindsHostPort: BindsHostPort = ALWAYS,
): Promise<PublishedPort[]> {
  const table = (protocol: PortProtocol) => tables.get(protocol) as HeldPortTable;
  const free = (protocol: PortProtocol, port: number, hostIp: string) => !table(protocol).get(String(port))?.some((b) => clash(b.hostIp, hostIp));
  const published: PublishedPort[] = [];
  for (const request of requests) {
    const hostIp = request.hostIp ?? defaultHostIp;
    const count = request.containerPortEnd - request.containerPort + 1;
    if (!bindsHostPort(hostIp)) {
      const first = request.hostPort ?? request.containerPort;
      for (let i = 0; i < count; i++) published.push({ hostIp, hostPort: first + i, containerPort: request.containerPort + i, protocol: request.protocol });
      continue;
    }
    let first = request.hostPort;
    if (first === undefined || (request.hostPortEnd !== undefined && count === 1)) {
      const [low, high] = first === undefined ? await ephemeralRange() : [first, request.hostPortEnd as number];
      first = undefined;
      // A run of `count` free ports that fits in the range.
      const span = high - low - count + 2;
      const start = Math.floor(Math.random() * Math.max(span, 1));
      const runFree = (at: number) => Array.from({ length: count }, (_, k) => at + k).every((p) => free(request.protocol, p, hostIp));
      for (let i = 0; i < span && first === undefined; i++) {
        const candidate = low + ((start + i) % span);
        if (runFree(candidate)) first = candidate;
      }
      if (first === undefined) {
        throw new NsnetError('PORT_IN_USE', `no ${count} free ${request.protocol} port(s) in ${low}-${high} on ${hostIp}`);
      }
    }
    for (let i = 0; i < count; i++) {
      const port = { hostIp, hostPort: first + i, containerPort: request.containerPort + i, protocol: request.protocol };
      if (!free(port.protocol, port.hostPort, hostIp)) {
        throw new NsnetError('PORT_IN_USE', `${port.protocol} port ${port.hostPort} on ${hostIp} is already published`, { port });
      }
      const held = table(port.protocol);
      held.set(String(port.hostPort), [...(held.get(String(port.hostPort)) ?? []), { hostIp, owner }]);
      published.push(port);
    }
  }
  return published;
}

/**
 * The ports of `ports` that the port tables still give to `owner`. A
 * teardown removes the firewall entries of these only: after a crash
 * half-way through writing an endpoint's records, a port in its record may
 * have gone to another endpoint, whose entry has the same key.
 */
export async function portsOwnedBy(store: StateStore, ports: PublishedPort[], owner: string, bindsHostPort: BindsHostPort = ALWAYS): Promise<PublishedPort[]> {
  if (!ports.some((port) => bindsHostPort(port.hostIp))) return ports;
  const protocols = [...new Set(ports.map((p) => p.protocol))];
  const tables = new Map(await Promise.all(protocols.map(async (p) => [p, await portRecords.peek(store, p)] as const)));
  // A port that binds no host port is nobody else's: its entries are at the owner's own address.
  return ports.filter((port) => !bindsHostPort(port.hostIp) || tables.get(port.protocol)?.get(String(port.hostPort))?.some((binding) => binding.owner === owner));
}

/** Gives back the host ports of `owner`. Call under the state lock. */
export async function releasePorts(store: StateStore, ports: PublishedPort[], owner: string): Promise<void> {
  const protocols = [...new Set(ports.map((p) => p.protocol))];
  await Promise.all(
    protocols.map(async (protocol) => {
      const table = (await portRecords.take(store, protocol)) ?? new JsonEntries();
      for (const port of ports.filter((p) => p.protocol === protocol)) {
        const key = String(port.hostPort);
        const left = (table.get(key) ?? []).filter((b) => b.owner !== owner);
        if (left.length) table.set(key, left);
        else table.delete(key);
      }
      // An empty table is no table: nothing of nsnet's stays once its last port goes.
      if (table.size) await portRecords.save(store, protocol, table);
      else await portRecords.remove(store, protocol);
    }),
  );
}

/** Releases host ports whose owner is not among `live`; returns them as "tcp 8080". Call under the state lock. */
export async function releaseOrphanPorts(store: StateStore, live: Set<string>): Promise<string[]> {
  const released: string[] = [];
  for (const protocol of PROTOCOLS) {
    const table = await portRecords.take(store, protocol);
    if (!table) continue;
    let changed = false;
    for (const [port, list] of [...table.entries()]) {
      const kept = list.filter((b) => live.has(b.owner));
      if (kept.length === list.length) continue;
      changed = true;
      released.push(...list.filter((b) => !live.has(b.owner)).map((b) => `${protocol} ${b.hostIp}:${port}`));
      if (kept.length) table.set(port, kept);
      else table.delete(port);
    }
    if (changed) await portRecords.save(store, protocol, table);
  }
  return released;
}
