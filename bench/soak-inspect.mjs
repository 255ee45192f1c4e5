// What the soak (bench/soak.mjs) reads to judge nsnet: the state directory
// read as plain files, and the kernel read through `ip` and `nft` (never
// through nsnet), so that nothing here takes nsnet's word for what it did.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { withFileLock } from '../dist/index.js';

const run = promisify(execFile);

/** The records of one kind in the state directory, parsed; a file gone meanwhile is skipped. */
function records(stateDir, kind) {
  const dir = path.join(stateDir, kind);
  let names;
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [{ name: name.slice(0, -5), ...JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) }];
    } catch {
      return [];
    }
  });
}

function readState(stateDir) {
  const kinds = ['networks', 'leases', 'endpoints', 'containers', 'ports', 'attachments'];
  return Object.fromEntries(kinds.map((kind) => [kind, records(stateDir, kind)]));
}

/** The entries of a port table record: [port, bindings] (its `version` and file name left out). */
const portEntries = (table) => Object.entries(table).filter(([key]) => /^\d+$/.test(key));

const wildcard = (ip) => ip === '0.0.0.0' || ip === '::';
const overlap = (a, b) => a === b || wildcard(a) || wildcard(b);

/** Values seen more than once in `items` (keyed by `key`), with who holds them. */
function duplicates(items, key, who) {
  const seen = new Map();
  for (const item of items) {
    const k = key(item);
    seen.set(k, [...(seen.get(k) ?? []), who(item)]);
  }
  return [...seen].filter(([, holders]) => holders.length > 1).map(([k, holders]) => `${k} held by ${holders.join(', ')}`);
}

/** Global IPv4 addresses inside each named namespace, by `ip -j -n NAME addr`; a namespace gone meanwhile has none. */
async function namespaceAddresses(names) {
  const result = [];
  const queue = [...names];
  const next = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      try {
        const { stdout } = await run('ip', ['-j', '-n', name, '-4', 'addr', 'show', 'scope', 'global']);
        for (const link of JSON.parse(stdout || '[]')) {
          for (const info of link.addr_info ?? []) result.push({ namespace: name, dev: link.ifname, address: info.local });
        }
      } catch {
        // deleted between the listing and the read
      }
    }
  };
  await Promise.all([next(), next(), next()]);
  return result;
}

const listNamespaces = (netnsDir, own) => fs.readdirSync(netnsDir).filter((name) => !own.includes(name));

/**
 * One sample under the state lock, so that records and kernel are read at one
 * moment of the state (no operation changes leases or ports meanwhile):
 * addresses and host ports must be unique among live endpoints, in the
 * records and in the kernel; and no published port in the kernel may route
 * to an address no record holds the port for (`stale`).
 */
export function sample({ stateDir, netnsDir, ownNamespaces }) {
  return withFileLock(path.join(stateDir, 'lock'), async () => {
    const state = readState(stateDir);
    const kernel = await namespaceAddresses(listNamespaces(netnsDir, ownNamespaces));
    const endpointPorts = state.endpoints.flatMap((e) => e.ports.map((port) => ({ ...port, owner: e.id })));
    const problems = [
      ...duplicates(state.endpoints, (e) => `${e.network} ${e.ipv4}`, (e) => `endpoint ${e.id}`).map((d) => `address in records: ${d}`),
      ...duplicates(kernel, (a) => a.address, (a) => `${a.namespace}/${a.dev}`).map((d) => `address in the kernel: ${d}`),
    ];
    for (const [i, a] of endpointPorts.entries()) {
      for (const b of endpointPorts.slice(i + 1)) {
        if (a.protocol === b.protocol && a.hostPort === b.hostPort && overlap(a.hostIp, b.hostIp)) {
          problems.push(`host port in records: ${a.protocol} ${a.hostPort} published by endpoints ${a.owner} and ${b.owner}`);
        }
      }
    }
    for (const table of state.ports) {
      for (const [port, bindings] of portEntries(table)) {
        for (const [i, a] of bindings.entries()) {
          if (bindings.slice(i + 1).some((b) => overlap(a.hostIp, b.hostIp))) problems.push(`host port table ${table.name}: ${port} held twice: ${JSON.stringify(bindings)}`);
        }
      }
    }
    // A connect adds its elements after its record holds the ports, and a
    // teardown removes them before it releases the ports: an element no
    // record holds routes a host port to an address nobody has.
    const held = new Set(endpointPorts.map((p) => `${p.protocol} ${p.hostPort} ${p.owner}`));
    const owners = new Map(state.endpoints.map((e) => [e.ipv4, e.id]));
    const stale = (await portElements()).filter(({ protocol, port, address }) => !held.has(`${protocol} ${port} ${owners.get(address)}`));
    return { endpoints: state.endpoints.length, problems, stale: stale.map((e) => `${e.protocol} ${e.port} -> ${e.address}:${e.containerPort}`) };
  });
}

async function nftTable(family) {
  try {
    const { stdout } = await run('nft', ['-j', 'list', 'table', family, 'nsnet']);
    return JSON.parse(stdout).nftables;
  } catch {
    return []; // no such table: no elements
  }
}

/** The published ports in the kernel (nsnet's ports4_any map): protocol, host port, container address and port. */
async function portElements() {
  const map = (await nftTable('inet')).find((entry) => entry.map?.name === 'ports4_any')?.map;
  return (map?.elem ?? []).map(([key, value]) => ({ protocol: key.concat[0], port: key.concat[1], address: value.concat[0], containerPort: value.concat[1] }));
}

/** The elements of every set and map of nsnet's nf_tables tables, as [family, set, element]. */
async function nftElements() {
  const out = [];
  for (const family of ['inet', 'bridge']) {
    for (const entry of await nftTable(family)) {
      const set = entry.set ?? entry.map;
      for (const element of set?.elem ?? []) out.push([family, set.name, element]);
    }
  }
  return out;
}

/**
 * What belongs to no record: host veths and bridges (by their ownership tag,
 * `ip -j -d link`), namespaces in the netns directory, nf_tables elements,
 * and, in the state directory, leases and host ports whose owner has no
 * endpoint record, and endpoint or container records at all when
 * `expectNone` (everything was torn down), and CNI attachments too then.
 * One line per leak.
 */
export async function leaks({ stateDir, netnsDir, ownNamespaces, ownLinks, expectNone }) {
  const state = readState(stateDir);
  const found = [];
  const endpointIds = new Set(state.endpoints.map((e) => e.id));
  const bridges = new Set(state.networks.map((n) => n.bridge));
  if (expectNone) {
    found.push(...state.endpoints.map((e) => `endpoint record ${e.name} (${e.ipv4}, ${e.netnsPath}, status ${e.status}, pid ${e.pid})`));
    found.push(...state.containers.map((c) => `container record ${c.name} (status ${c.status}, pid ${c.pid})`));
    found.push(...state.attachments.map((a) => `attachment record ${a.name}`));
  }
  for (const leases of state.leases) {
    for (const family of ['ipv4', 'ipv6']) {
      for (const [address, owner] of Object.entries(leases[family]?.addresses ?? {})) {
        if (!endpointIds.has(owner)) found.push(`lease ${leases.name} ${address} of ${owner}`);
      }
    }
  }
  for (const table of state.ports) {
    for (const [port, bindings] of portEntries(table)) {
      for (const binding of bindings) if (!endpointIds.has(binding.owner)) found.push(`host port ${table.name} ${binding.hostIp}:${port} of ${binding.owner}`);
    }
  }

  const { stdout } = await run('ip', ['-j', '-d', 'link']);
  for (const link of JSON.parse(stdout)) {
    if (link.ifname === 'lo' || ownLinks.includes(link.ifname)) continue;
    const kind = link.linkinfo?.info_kind ?? 'unknown';
    const tag = link.ifalias ?? '';
    const endpoint = tag.match(/^nsnet:endpoint:[^:]+:(.+)$/)?.[1];
    const belongs = kind === 'bridge' ? bridges.has(link.ifname) : endpoint !== undefined && endpointIds.has(endpoint);
    if (!belongs) found.push(`${kind} ${link.ifname}${tag ? ` (${tag})` : ''}`);
  }

  const namespaces = new Set(state.containers.map((c) => c.netnsPath));
  for (const name of listNamespaces(netnsDir, ownNamespaces)) {
    if (!namespaces.has(path.join(netnsDir, name))) found.push(`namespace ${name}`);
  }

  const addresses = new Set(state.endpoints.flatMap((e) => [e.ipv4, e.ipv6]));
  const hostIfnames = new Set(state.endpoints.map((e) => e.hostIfname));
  for (const [family, set, element] of await nftElements()) {
    const text = JSON.stringify(element);
    let belongs;
    if (set.startsWith('ports')) belongs = addresses.has(element[1].concat[0]); // key : container address . port
    else if (family === 'bridge') belongs = hostIfnames.has(element);
    else belongs = (typeof element === 'string' ? [element] : element.concat).every((name) => bridges.has(name));
    if (!belongs) found.push(`nft ${family} ${set} element ${text}`);
  }
  return found;
}

/** Open descriptors (/proc/PID/fd) and resident memory in kB (VmRSS) of a process. */
export function processFigures(pid) {
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  const rss = Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)[1]);
  return { fds, rss };
}
