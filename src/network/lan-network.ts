/**
 * macvlan and ipvlan networks: containers as machines of the parent's LAN,
 * each with a child link of the parent made straight in its namespace
 * (lan-child.ts). The host has no address on such a network (its gateway
 * is the LAN's router), no firewall entries (nothing is masqueraded or
 * published) and no resolver. The record's `bridge` holds the parent's
 * name, and `bridgeMac` is the network's identity (the MAC of an internal
 * network's dummy parent; no device has it otherwise).
 *
 * What the network makes on the host is its own, tagged with the network's
 * alias and removed with it: a VLAN sub-interface asked for as `eth0.10`
 * that did not exist, an internal network's dummy, the host interface.
 */
import { randomBytes } from 'node:crypto';

import { isGone, messageOf, NetlinkError, NsnetError, unlessGone } from '../errors';
import { faultOperation } from '../fault';
import { Subnet } from '../ipam/subnet';
import { NetNamespace } from '../netns';
import type { Link, LinkSpec } from '../rtnl/links';
import { currentStore } from '../state/store';
import { type NetworkRecord, networkDriver } from '../types/network';
import { networkTag, parseTag } from '../types/ownership';
import { type LanDriver, type LanWanted, lanDifferences } from './lan-options';
import { randomLocalMac } from './mac';
import { Undo } from './undo';

/** `eth0.10`: VLAN 10 of eth0. */
const VLAN_NAME = /^(.+)\.(\d{1,4})$/;

/** The network is a macvlan or ipvlan one. */
export function isLanNetwork(record: Pick<NetworkRecord, 'driver'>): boolean {
  const driver = networkDriver(record);
  return driver === 'macvlan' || driver === 'ipvlan';
}

/** How the network's parent is had: there already, or to be made (a VLAN sub-interface of `base`, an internal network's dummy). */
type ParentPlan = { exists: Link } | { vlan: { base: Link; id: number } } | { internal: true };

async function linkOrNone(name: string): Promise<Link | undefined> {
  try {
    return await NetNamespace.host().links.get(name);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

function parentInvalid(wanted: Pick<LanWanted, 'parent' | 'driver' | 'name'>, why: string, cause?: unknown): NsnetError {
  return new NsnetError('PARENT_INVALID', `parent ${wanted.parent} of ${wanted.driver} network "${wanted.name}" ${why}`, { parent: wanted.parent }, { cause });
}

/** The kernel has no link of this kind (EOPNOTSUPP: a kernel built without it, or its module not loaded). */
function kernelLacks(error: unknown): boolean {
  return error instanceof NetlinkError && error.code === 'EOPNOTSUPP';
}

function kernelUnsupported(what: string, cause: unknown): NsnetError {
  return new NsnetError('KERNEL_UNSUPPORTED', `the running kernel has no ${what} (${(cause as NetlinkError).extack || messageOf(cause)})`, { kind: what }, { cause });
}

/** The parent as it is, or how it is made; PARENT_INVALID for one that cannot carry children. */
async function planParent(wanted: LanWanted): Promise<ParentPlan> {
  if (wanted.internal) return { internal: true };
  const found = await linkOrNone(wanted.parent);
  if (found) {
    if (found.kind === 'loopback') throw parentInvalid(wanted, 'is the loopback');
    if (found.kind === 'macvlan' || found.kind === 'ipvlan') throw parentInvalid(wanted, `is itself a ${found.kind} child: give its parent`);
    if (found.kind === 'bridge' && parseTag(found.alias)?.kind === 'network') throw parentInvalid(wanted, 'is the bridge of an nsnet network');
    return { exists: found };
  }
  const vlan = VLAN_NAME.exec(wanted.parent);
  const id = vlan ? Number(vlan[2]) : 0;
  const base = vlan && id >= 1 && id <= 4094 ? await linkOrNone(vlan[1]) : undefined;
  if (!vlan || !base) throw parentInvalid(wanted, vlan ? `does not exist, nor does ${vlan[1]} to make VLAN ${vlan[2]} on (1-4094)` : 'does not exist');
  if (base.kind === 'loopback') throw parentInvalid(wanted, `cannot be made: ${base.name} is the loopback`);
  return { vlan: { base, id } };
}

/**
 * Makes a parent the network owns, tagged with its alias: a VLAN
 * sub-interface, or an internal network's dummy (pinned to the network's
 * MAC; where the kernel has no dummies, an ifb, which has carrier and drops
 * what is sent to it, as a dummy does: a bridge without ports has no carrier,
 * and its children none either).
 */
async function makeParent(record: NetworkRecord, vlan: { base: string | number; id: number } | undefined): Promise<Link> {
  const host = NetNamespace.host();
  const common = { name: record.parent as string, up: true, alias: networkTag(record.name) };
  if (vlan) {
    return host.links.add({ ...common, kind: 'vlan', parent: vlan.base, id: vlan.id }).catch((error: unknown) => {
      throw kernelLacks(error) ? kernelUnsupported(`802.1q VLANs (8021q) to make parent ${record.parent} with`, error) : error;
    });
  }
  return host.links.add({ ...common, kind: 'dummy', mac: record.bridgeMac }).catch((error: unknown) => {
    if (!kernelLacks(error)) throw error;
    return host.links.add({ ...common, kind: 'ifb', mac: record.bridgeMac });
  });
}

/**
 * Makes a child of the parent on the host, and deletes it again: the
 * kernel's say on the driver (built in?), the mode and the parent (one it
 * cannot hang such a child off), before anything of the network's is made
 * or recorded.
 */
async function probeParent(wanted: LanWanted, parent: number): Promise<void> {
  const host = NetNamespace.host();
  const name = `nsprobe${randomBytes(3).toString('hex')}`;
  const spec: LinkSpec = wanted.driver === 'ipvlan'
    ? { kind: 'ipvlan', name, parent, mode: wanted.ipvlanMode, flag: wanted.ipvlanFlag }
    : { kind: 'macvlan', name, parent, mode: wanted.macvlanMode };
  let probe: Link;
  try {
    probe = await host.links.add(spec);
  } catch (error) {
    if (kernelLacks(error)) throw kernelUnsupported(`${wanted.driver} links`, error);
    throw parentInvalid(wanted, `cannot carry ${wanted.driver} children: ${messageOf(error)}`, error);
  }
  await host.links.delete(probe.index);
}

/**
 * Refuses what another network makes impossible, as Docker does: an
 * overlapping subnet (one address space for all networks), and on the same
 * parent another driver (the kernel takes one kind of child per device),
 * macvlan passthru (the whole device), another ipvlan mode or flag (one per
 * device: a second would change the first's).
 */
function refuseSharing(wanted: LanWanted, networks: NetworkRecord[]): void {
  const mine = [Subnet.parse(wanted.subnet), ...(wanted.ipv6 ? [Subnet.parse(wanted.ipv6.subnet)] : [])];
  for (const other of networks) {
    const sameParent = isLanNetwork(other) && other.parent === wanted.parent;
    const theirs = [other.subnet, other.ipv6?.subnet].filter((cidr) => cidr !== undefined).map((cidr) => Subnet.parse(cidr));
    const clash = mine.find((subnet) => theirs.some((their) => their.overlaps(subnet)));
    if (clash) {
      const where = sameParent ? ` on the same parent ${wanted.parent}` : '';
      throw new NsnetError('SUBNET_OVERLAP', `subnet ${clash.cidr} overlaps nsnet network "${other.name}"${where}`, { subnet: clash.cidr, overlaps: `nsnet network "${other.name}"` });
    }
    if (other.hostInterface?.name === wanted.parent || (wanted.hostInterface && [other.bridge, other.parent, other.hostInterface?.name].includes(wanted.hostInterface.name))) {
      throw new NsnetError('PARENT_IN_USE', `${wanted.hostInterface?.name ?? wanted.parent} is an interface of nsnet network "${other.name}"`, { network: other.name });
    }
    if (!sameParent) continue;
    const why =
      other.driver !== wanted.driver ? `is the parent of ${other.driver} network "${other.name}": a device carries one kind of child`
      : other.macvlanMode === 'passthru' || wanted.macvlanMode === 'passthru' ? `is used by macvlan network "${other.name}"${other.macvlanMode === 'passthru' ? ' in mode passthru' : ''}: passthru takes the whole device`
      : other.ipvlanMode !== wanted.ipvlanMode || other.ipvlanFlag !== wanted.ipvlanFlag ? `is used by ipvlan network "${other.name}" in mode ${other.ipvlanMode} (${other.ipvlanFlag}): a device has one ipvlan mode`
      : undefined;
    if (why) throw new NsnetError('PARENT_IN_USE', `parent ${wanted.parent} ${why}`, { parent: wanted.parent, network: other.name });
  }
}

/** The host's own macvlan: bridge mode, its address (/32), up, a route to the ip range (or the subnet) through it (a LAN network always has an IPv4 subnet: its options require one). */
async function createHostInterface(record: NetworkRecord, undo: Undo): Promise<void> {
  const host = NetNamespace.host();
  const { name, address } = record.hostInterface as { name: string; address: string };
  const made = await host.links.add({ kind: 'macvlan', name, parent: record.parent as string, mode: 'bridge', mtu: record.mtu, alias: networkTag(record.name) });
  undo.push(`host interface ${name}`, () => host.links.delete(made.index));
  await host.addresses.add(made.index, `${address}/32`);
  await host.links.set(made.index, { up: true });
  await host.routes.add({ dst: record.ipRange ?? (record.subnet as string), dev: made.index });
}

/**
 * Creates a macvlan or ipvlan network, or returns the record of the existing
 * one when the options agree (NETWORK_CONFLICT when they do not).
 */
export async function createLanNetworkRecord(wanted: LanWanted): Promise<NetworkRecord> {
  faultOperation(wanted.driver === 'macvlan' ? 'createMacvlanNetwork' : 'createIpvlanNetwork');
  const store = currentStore();
  return store.locked(async () => {
    const existing = await store.read<NetworkRecord>('networks', wanted.name);
    if (existing) {
      const differing = networkDriver(existing) === wanted.driver ? lanDifferences(existing, wanted) : ['driver'];
      if (differing.length) {
        throw new NsnetError('NETWORK_CONFLICT', `network "${wanted.name}" exists with different ${differing.join(', ')}`, { differing });
      }
      const failures: string[] = [];
      await repairLanNetwork(existing, { bridges: [], repaired: [], failures });
      if (failures.length) throw new NsnetError('PARENT_INVALID', `network "${wanted.name}": ${failures.join('; ')}`, { failures });
      return existing;
    }
    const networks = await store.list<NetworkRecord>('networks');
    refuseSharing(wanted, networks);
    const parent = await planParent(wanted);
    const parentMtu = 'exists' in parent ? parent.exists.mtu : 'vlan' in parent ? parent.vlan.base.mtu : 1500;
    if (wanted.mtu !== undefined && wanted.mtu > parentMtu) {
      throw new NsnetError('INVALID_ARGUMENT', `mtu ${wanted.mtu} is larger than the MTU of parent ${wanted.parent} (${parentMtu})`);
    }
    if (wanted.hostInterface && (await linkOrNone(wanted.hostInterface.name))) {
      throw new NsnetError('INTERFACE_EXISTS', `the host has an interface ${wanted.hostInterface.name} already: give the host interface another name`);
    }
    const bridgeMac = randomLocalMac();
    const record: NetworkRecord = { ...wanted, mtu: wanted.mtu ?? parentMtu, bridgeMac, created: new Date().toISOString() };
    const undo = new Undo();
    try {
      let parentIndex = 'exists' in parent ? parent.exists.index : undefined;
      if (!('exists' in parent)) {
        const made = await makeParent(record, 'vlan' in parent ? { base: parent.vlan.base.index, id: parent.vlan.id } : undefined);
        undo.push(`parent ${made.name}`, () => NetNamespace.host().links.delete(made.index));
        record.parentCreated = true;
        parentIndex = made.index;
      }
      await probeParent(wanted, parentIndex as number);
      if (record.hostInterface) await createHostInterface(record, undo);
      await store.write('networks', record.name, record);
    } catch (error) {
      throw await undo.fail(error);
    }
    return record;
  });
}

/** A link the network made, if it is still its own (its alias names the network). */
async function ownLink(record: NetworkRecord, name: string): Promise<Link | undefined> {
  const link = await linkOrNone(name);
  return link && link.alias === networkTag(record.name) ? link : undefined;
}

/**
 * Removes what the network made on the host. A parent it made that another
 * network has come to use stays, and becomes that network's to remove. Under
 * the state lock.
 */
export async function removeLanLinks(record: NetworkRecord): Promise<void> {
  const host = NetNamespace.host();
  if (record.hostInterface) {
    const link = await ownLink(record, record.hostInterface.name);
    if (link) await unlessGone(() => host.links.delete(link.index));
  }
  if (!record.parentCreated) return;
  const store = currentStore();
  const heir = (await store.list<NetworkRecord>('networks')).find((other) => other.name !== record.name && isLanNetwork(other) && other.parent === record.parent);
  const parent = await ownLink(record, record.parent as string);
  if (heir) {
    if (parent) await host.links.set(parent.index, { alias: networkTag(heir.name) });
    await store.write('networks', heir.name, { ...heir, parentCreated: true });
    return;
  }
  if (parent) await unlessGone(() => host.links.delete(parent.index));
}

export interface LanRepairReport {
  bridges: string[];
  repaired: string[];
  failures: string[];
}

/**
 * reconcile()'s repair of a macvlan or ipvlan network: a parent it made,
 * made again if missing, and up; its host interface made again if missing.
 * A parent it did not make is the host's: if it is missing, that is a
 * failure, and nothing is made in its place.
 */
export async function repairLanNetwork(record: NetworkRecord, report: LanRepairReport): Promise<void> {
  const subject = `network "${record.name}"`;
  const host = NetNamespace.host();
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      report.repaired.push(`${subject}: ${what}`);
    } catch (error) {
      report.failures.push(`${subject}: ${what} failed: ${messageOf(error)}`);
    }
  };
  const parentName = record.parent as string;
  const parent = await linkOrNone(parentName);
  if (!parent && !record.parentCreated) {
    report.failures.push(`${subject}: parent ${parentName} is missing (it is the host's: nsnet makes none in its place)`);
    return;
  }
  if (!parent) {
    const vlan = record.internal ? undefined : VLAN_NAME.exec(parentName);
    const what = vlan ? `VLAN ${vlan[2]} of ${vlan[1]}` : 'dummy';
    await attempt(`parent ${parentName} (${what}) made again`, () => makeParent(record, vlan ? { base: vlan[1], id: Number(vlan[2]) } : undefined));
  } else if (record.parentCreated && !parent.up && parent.alias === networkTag(record.name)) {
    await attempt(`parent ${parentName} up again`, () => host.links.set(parent.index, { up: true }));
  }
  if (record.hostInterface) await repairHostInterface(record, attempt);
}

/** The host interface made again if missing; else its address, up and route put back where they went. */
async function repairHostInterface(record: NetworkRecord, attempt: (what: string, fn: () => Promise<unknown>) => Promise<void>): Promise<void> {
  const host = NetNamespace.host();
  const { name, address } = record.hostInterface as { name: string; address: string };
  const link = await linkOrNone(name);
  if (!link) return attempt(`host interface ${name} made again`, () => createHostInterface(record, new Undo()));
  if (link.alias !== networkTag(record.name)) {
    await attempt(`host interface ${name}`, () => Promise.reject(new Error(`${name} is not this network's (alias ${JSON.stringify(link.alias ?? '')})`)));
    return;
  }
  const [addresses, routes] = await Promise.all([host.addresses.list({ dev: link.index }), host.routes.list({ family: 4 })]);
  if (!addresses.some((a) => a.cidr === `${address}/32`)) await attempt(`address ${address}/32 put back on ${name}`, () => host.addresses.add(link.index, `${address}/32`));
  if (!link.up) await attempt(`${name} up again`, () => host.links.set(link.index, { up: true }));
  const dst = record.ipRange ?? (record.subnet as string);
  if (!routes.some((r) => r.dst === dst && r.dev === name)) await attempt(`route ${dst} through ${name} put back`, () => host.routes.add({ dst, dev: link.index }));
}

/**
 * Links tagged as a network's that no macvlan or ipvlan network claims (a
 * creation that died before writing its record, a record moved aside):
 * VLAN sub-interfaces, dummies (or ifbs) and host macvlans. Removed by reconcile.
 */
export async function strayLanLinks(networks: readonly NetworkRecord[]): Promise<Link[]> {
  const claimed = new Set(networks.filter(isLanNetwork).flatMap((n) => [`${n.name} ${n.parent}`, `${n.name} ${n.hostInterface?.name}`]));
  const links = await NetNamespace.host().links.list();
  return links.filter((link) => {
    if (!['vlan', 'dummy', 'ifb', 'macvlan'].includes(link.kind)) return false;
    const owner = parseTag(link.alias);
    return owner?.kind === 'network' && !claimed.has(`${owner.network} ${link.name}`);
  });
}

export type { LanDriver };
