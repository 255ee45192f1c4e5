/**
 * Records that cannot be read (STATE_CORRUPT), mended by reconcile() before
 * it reads anything else. What other records or the kernel hold is rebuilt
 * from them: a lease table and a port table from the endpoint records (each
 * holds its endpoint's addresses and ports), a container record from the
 * namespace named after the container and the endpoint in it. What nothing
 * else holds (a network, an endpoint, a CNI attachment) is moved aside as
 * `<file>.corrupt-<time>`, for a person to read; what belonged to it then
 * belongs to nothing, and reconcile removes it as it removes any orphan: an
 * endpoint's veth by its ownership tag, its addresses and ports as orphans;
 * a network's bridge as a stray, with its endpoints.
 */
import { join, relative } from 'node:path';

import type { NsnetError } from '../errors';
import { bindsHostPort } from '../firewall/gateway-modes';
import { NetNamespace, netnsDir } from '../netns';
import type { StateStore } from '../state/store';
import type { ContainerRecord } from '../types/container';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import type { LeaseTable, NetworkLeases } from '../types/leases';
import type { NetworkRecord } from '../types/network';
import { type PortProtocol, type PortTable, PROTOCOLS } from '../types/ports';
import { DEFAULT_NETWORK } from './containers';

/** Mends every unreadable record; returns what it did, one line each. Under the state lock. */
export async function mendUnreadableRecords(store: StateStore): Promise<string[]> {
  const done: string[] = [];
  const shown = (file: string) => relative(store.dir, file);
  for (const file of await store.removeLeftovers()) done.push(`${shown(file)}: left by a write that died; removed`);

  // Records nothing else holds go first: the others are rebuilt from what remains.
  for (const kind of ['networks', 'endpoints', 'attachments', 'pool'] as const) {
    for (const { name, error } of await store.unreadable(kind)) {
      done.push(`${kind}/${name}.json ${problemOf(error)}; moved aside as ${shown(await store.moveAside(kind, name))}`);
      // A network's leases go with it (its endpoints go as orphans, below in reconcile).
      if (kind === 'networks') await store.remove('leases', name);
    }
  }
  const endpoints = await store.list('endpoints');

  for (const { name, error } of await store.unreadable('leases')) {
    const aside = shown(await store.moveAside('leases', name));
    if (!(await store.read('networks', name))) {
      done.push(`leases/${name}.json ${problemOf(error)}; moved aside as ${aside} (no network "${name}")`);
      continue;
    }
    const own = endpoints.filter((e) => e.network === name);
    await store.write('leases', name, leasesOf(own));
    done.push(`leases/${name}.json ${problemOf(error)}; rebuilt from ${own.length} endpoint record(s), the unreadable file kept as ${aside}`);
  }

  for (const { name, error } of await store.unreadable('ports')) {
    const aside = shown(await store.moveAside('ports', name));
    if (!(PROTOCOLS as string[]).includes(name)) {
      done.push(`ports/${name}.json ${problemOf(error)}; moved aside as ${aside} (no such protocol)`);
      continue;
    }
    const table = portTableOf(name as PortProtocol, endpoints, new Map((await store.list('networks')).map((network) => [network.name, network])));
    if (Object.keys(table).length) await store.write('ports', name, table);
    done.push(`ports/${name}.json ${problemOf(error)}; rebuilt from the endpoint records (${Object.keys(table).length} port(s)), the unreadable file kept as ${aside}`);
  }

  const lost: string[] = [];
  for (const { name, error } of await store.unreadable('containers')) {
    const aside = shown(await store.moveAside('containers', name));
    const rebuilt = await containerOf(name, endpoints, await store.list('containers'));
    if (rebuilt) {
      await store.write('containers', name, rebuilt);
      done.push(`containers/${name}.json ${problemOf(error)}; rebuilt from its namespace ${rebuilt.netnsPath}, the unreadable file kept as ${aside}`);
    } else {
      lost.push(name);
      done.push(`containers/${name}.json ${problemOf(error)}; moved aside as ${aside} (no namespace of its own is left)`);
    }
  }
  // A container that joined one whose record is lost no longer holds it.
  for (const container of lost.length ? await store.list('containers') : []) {
    const joinedBy = container.joinedBy?.filter((id) => !lost.includes(id));
    if (joinedBy && joinedBy.length !== container.joinedBy?.length) await store.write('containers', container.id, { ...container, joinedBy });
  }
  return done;
}

/** "is not valid JSON", as the store said it. */
function problemOf(error: NsnetError): string {
  return String(error.details?.problem ?? error.message);
}

function leasesOf(endpoints: EndpointRecord[]): NetworkLeases {
  const table = (addresses: (string | undefined)[], owners: EndpointRecord[]): LeaseTable => ({
    addresses: Object.fromEntries(owners.flatMap((e, i) => (addresses[i] === undefined ? [] : [[addresses[i], e.id]]))),
  });
  const leases: NetworkLeases = { ipv4: table(endpoints.map((e) => e.ipv4), endpoints) };
  if (endpoints.some((e) => e.ipv6 !== undefined)) leases.ipv6 = table(endpoints.map((e) => e.ipv6), endpoints);
  return leases;
}

/** The host ports the endpoints hold: not those of a routed family, which bind none. */
function portTableOf(protocol: PortProtocol, endpoints: EndpointRecord[], networks: ReadonlyMap<string, NetworkRecord>): PortTable {
  const table: PortTable = {};
  for (const endpoint of endpoints) {
    const network = networks.get(endpoint.network);
    for (const port of endpoint.ports) {
      if (port.protocol !== protocol || (network && !bindsHostPort(network, port.hostIp))) continue;
      (table[port.hostPort] ??= []).push({ hostIp: port.hostIp, owner: endpoint.id });
    }
  }
  return table;
}

/**
 * A container's record made again from its namespace (`<netnsDir>/<id>`, as
 * setupContainer names it) and the endpoint in it, if it still has one;
 * undefined when no namespace of that name is left (a container of mode
 * host or container:<id> has none of its own).
 */
async function containerOf(id: string, endpoints: EndpointRecord[], containers: ContainerRecord[]): Promise<ContainerRecord | undefined> {
  const netnsPath = join(netnsDir(), id);
  const ns = await NetNamespace.open(netnsPath).catch(() => undefined);
  if (!ns) return undefined;
  const netnsInode = ns.inode;
  ns.close();
  const endpoint = endpoints.find((e) => e.netnsPath === netnsPath && e.netnsInode === netnsInode);
  const record: ContainerRecord = {
    id,
    mode: endpoint ? (endpoint.network === DEFAULT_NETWORK ? 'bridge' : 'network') : 'none',
    netnsPath,
    netnsInode,
    ownsNamespace: true,
    status: 'ready',
    pid: process.pid,
    created: new Date().toISOString(),
  };
  if (endpoint) Object.assign(record, { network: endpoint.network, endpoint: endpointKey(endpoint.network, endpoint.netnsInode) });
  const joinedBy = containers.filter((c) => c.joined === id).map((c) => c.id);
  if (joinedBy.length) record.joinedBy = joinedBy;
  return record;
}
