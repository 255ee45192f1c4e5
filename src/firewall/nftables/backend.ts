/** The nftables firewall: the base ruleset once, then set and map elements. */
import { execFile } from 'node:child_process';

import { isGone, NsnetError } from '../../errors';
import { faultPoint } from '../../fault';
import { native } from '../../native';
import { NetNamespace } from '../../netns';
import type { EndpointRecord } from '../../types/endpoint';
import { isIPv6 } from '../../types/ip';
import { type NetworkRecord, networkDriver } from '../../types/network';
import type { PublishedPort } from '../../types/ports';
import type { Firewall } from '../backend';
import { dnatsFamily, exposedPorts, masqueradesFamily, portFamily, routedFamily, trustedInterfaces, unprotectedFamily } from '../gateway-modes';
import { onEveryAddress } from '../ports';
import { applySetChanges, concat, field, NFPROTO_BRIDGE, NFPROTO_INET, type SetChange } from './elements';
import { BRIDGE_TABLE, FLUSH_EVERY_SET, INET_TABLE, TABLE } from './ruleset';
import { routedEndpointChanges, routedNetworkChanges } from './routed';

function nft(args: string[], input?: string): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('nft', args, (error, _stdout, stderr) => resolve({ ok: !error, stderr: String(stderr).trim() }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Whether one of nsnet's tables is there: asked over netlink, as an nft process costs ~10 ms. */
async function tableExists(family: 'inet' | 'bridge'): Promise<boolean> {
  const message = native().encodeTableGet(family === 'bridge' ? NFPROTO_BRIDGE : NFPROTO_INET, TABLE);
  try {
    await (await NetNamespace.host().nftables()).query(`nft get table ${family} ${TABLE}`, message);
    return true;
  } catch (error) {
    if (isGone(error)) return false;
    throw new NsnetError('FIREWALL_FAILED', `cannot read nf_tables: ${(error as Error).message}`);
  }
}

/**
 * Installs whichever of nsnet's two tables is missing (after a flush, too),
 * with one nft run. With `rewriteRules`, the rules of tables that are there
 * are written again as well, in the same transaction (their sets and
 * elements stay): `nft flush table inet nsnet`, or a rule deleted by hand,
 * leaves the tables in place with their rules gone.
 */
async function installRuleset(rewriteRules = false): Promise<void> {
  const tables = [
    { family: 'inet', script: INET_TABLE },
    { family: 'bridge', script: BRIDGE_TABLE },
  ] as const;
  const present = rewriteRules ? [] : await Promise.all(tables.map((table) => tableExists(table.family)));
  const written = rewriteRules ? tables : tables.filter((_, i) => !present[i]);
  if (!written.length) return;
  const script = written.map(({ family, script }) => (rewriteRules ? `table ${family} ${TABLE} {}\nflush table ${family} ${TABLE}\n${script}` : script));
  const names = written.map((table) => `${table.family} ${TABLE}`).join(' and ');
  faultPoint('nft -f', names);
  const result = await nft(['-f', '-'], script.join('\n'));
  if (!result.ok) throw new NsnetError('FIREWALL_FAILED', `nft could not install table ${names}: ${result.stderr}`);
}

/** The elements a network puts in the sets. */
function networkChanges(network: NetworkRecord, op: 'add' | 'delete'): SetChange[] {
  if (networkDriver(network) === 'routed') return routedNetworkChanges(network, op);
  const bridge = [{ key: field.ifname(network.bridge) }];
  const changes: SetChange[] = [{ op, set: 'bridges', elements: bridge }];
  if (network.internal) changes.push({ op, set: 'internal_bridges', elements: bridge });
  const [masquerade4, masquerade6] = [masqueradesFamily(network, 4), masqueradesFamily(network, 6)];
  if (masquerade4 && masquerade6) changes.push({ op, set: 'masquerade_bridges', elements: bridge });
  else if (masquerade4 || masquerade6) changes.push({ op, set: masquerade4 ? 'masquerade4_bridges' : 'masquerade6_bridges', elements: bridge });
  for (const family of [4, 6] as const) {
    if (unprotectedFamily(network, family)) changes.push({ op, set: `unprotected${family}_bridges`, elements: bridge });
    if (routedFamily(network, family)) changes.push({ op, set: `routed${family}_bridges`, elements: bridge });
  }
  const trusted = trustedInterfaces(network);
  if (trusted.length) changes.push({ op, set: 'trusted_pairs', elements: trusted.map((name) => ({ key: concat(field.ifname(name), field.ifname(network.bridge)) })) });
  if (network.icc) {
    changes.push({ op, set: 'icc_pairs', elements: [{ key: concat(field.ifname(network.bridge), field.ifname(network.bridge)) }] });
  }
  return changes;
}

/** A published port's DNAT element; none in a routed family, where it is reached at the container's address. */
function portElement(network: NetworkRecord, port: PublishedPort, endpoint: EndpointRecord): { set: string; key: Buffer; data: Buffer } | undefined {
  const proto = field.protocol(port.protocol);
  const service = field.port(port.hostPort);
  const wildcard = onEveryAddress(port.hostIp);
  const v6 = isIPv6(port.hostIp);
  const destination = v6 ? endpoint.ipv6 : endpoint.ipv4;
  if (destination === undefined || !dnatsFamily(network, portFamily(port))) return undefined; // nothing to forward to
  const target = v6 ? field.ipv6(destination) : field.ipv4(destination);
  const data = concat(target, field.port(port.containerPort));
  if (wildcard) return { set: v6 ? 'ports6_any' : 'ports4_any', key: concat(proto, service), data };
  const address = v6 ? field.ipv6(port.hostIp) : field.ipv4(port.hostIp);
  return { set: v6 ? 'ports6' : 'ports4', key: concat(address, proto, service), data };
}

/**
 * The elements an endpoint puts in the maps: its ports, and its port on an
 * icc-off bridge. Added `exclusive`ly, a port already mapped fails (EEXIST).
 * Its ports by its own address (exposed), where the gateway modes or trusted
 * interfaces need them, are keyed by its address: never exclusive.
 */
function endpointChanges(network: NetworkRecord, endpoint: EndpointRecord, op: 'add' | 'delete', exclusive = true): SetChange[] {
  const bySet = new Map<string, SetChange>();
  for (const port of endpoint.ports) {
    const element = portElement(network, port, endpoint);
    if (!element) continue;
    const change = bySet.get(element.set) ?? { op, set: element.set, elements: [], exclusive };
    change.elements.push({ key: element.key, data: element.data });
    bySet.set(element.set, change);
  }
  const changes = [...bySet.values()];
  for (const family of [4, 6] as const) {
    const exposed = exposedPorts(network, endpoint, family);
    const address = (a: string) => (family === 4 ? field.ipv4(a) : field.ipv6(a));
    const elements = exposed.map((p) => ({ key: concat(address(p.address), field.protocol(p.protocol), field.port(p.port)) }));
    if (elements.length) changes.push({ op, set: `exposed${family}`, elements });
  }
  if (networkDriver(network) === 'routed') return [...changes, ...routedEndpointChanges(network, endpoint, op)];
  if (!network.icc) {
    changes.push({ op, set: 'icc_off_ports', family: 'bridge', elements: [{ key: field.ifname(endpoint.hostIfname) }] });
  }
  return changes;
}

async function applyChanges(changes: SetChange[]): Promise<void> {
  await applySetChanges(await NetNamespace.host().nftables(), TABLE, changes);
}

/** Removes elements; those already gone (a flushed ruleset) are fine. */
async function removeElements(changes: SetChange[]): Promise<void> {
  try {
    await applyChanges(changes); // one transaction, the usual case
  } catch (error) {
    if (!isGone(error)) throw error;
    // Something was gone already, which fails the whole transaction: element by element.
    for (const change of changes) {
      for (const element of change.elements) {
        await applyChanges([{ ...change, elements: [element] }]).catch((e: unknown) => {
          if (!isGone(e)) throw e;
        });
      }
    }
  }
}

/**
 * A network's elements; where a set they go in is missing (a table made by
 * an earlier nsnet, without a set added since, such as `icc_groups`), the
 * rules are written again first, declaring it (sets there keep their
 * elements), as reconcile writes them.
 */
async function addNetworkElements(network: NetworkRecord): Promise<void> {
  const changes = networkChanges(network, 'add');
  try {
    await applyChanges(changes);
  } catch (error) {
    if (!isGone(error)) throw error;
    await installRuleset(true);
    await applyChanges(changes);
  }
}

/** The elements of the records, to add; an endpoint's ports `exclusive` or not. */
function recordChanges(networks: NetworkRecord[], endpoints: EndpointRecord[], exclusive: boolean): SetChange[] {
  const byName = new Map(networks.map((n) => [n.name, n]));
  return [
    ...networks.flatMap((n) => networkChanges(n, 'add')),
    ...endpoints.flatMap((e) => (byName.has(e.network) ? endpointChanges(byName.get(e.network) as NetworkRecord, e, 'add', exclusive) : [])),
  ];
}

const elementCount = (changes: SetChange[]) => changes.reduce((count, change) => count + change.elements.length, 0);

/** Empties nsnet's sets and fills them from the records: one transaction. */
async function restoreElements(networks: NetworkRecord[], endpoints: EndpointRecord[]): Promise<number> {
  const add = recordChanges(networks, endpoints, true);
  await applyChanges([...FLUSH_EVERY_SET, ...add]);
  return elementCount(add);
}

/** Adds the elements of the records, keeping those there (an element added again with the same value is no change). */
async function addElements(networks: NetworkRecord[], endpoints: EndpointRecord[]): Promise<number> {
  const add = recordChanges(networks, endpoints, false);
  await applyChanges(add);
  return elementCount(add);
}

export const nftablesFirewall: Firewall = {
  addNetwork: (network) => addNetworkElements(network),
  removeNetwork: (network) => removeElements(networkChanges(network, 'delete')),
  addEndpoint: (network, endpoint) => applyChanges(endpointChanges(network, endpoint, 'add')),
  removeEndpoint: (network, endpoint) => removeElements(endpointChanges(network, endpoint, 'delete')),
  async restore(networks, endpoints) {
    await installRuleset(true);
    return restoreElements(networks, endpoints);
  },
  async installed() {
    return (await Promise.all([tableExists('inet'), tableExists('bridge')])).every(Boolean);
  },
  async reinstall(networks, endpoints) {
    await installRuleset();
    return addElements(networks, endpoints);
  },
};
