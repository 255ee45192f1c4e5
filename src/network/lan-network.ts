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
import { messageOf, NsnetError, unlessGone } from '../errors';
import { faultOperation } from '../fault';
import { Subnet } from '../ipam/subnet';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import { currentStore } from '../state/store';
import { type NetworkRecord, networkDriver } from '../types/network';
import { networkTag, parseTag } from '../types/ownership';
import { createHostInterface, repairHostInterface } from './lan-host-interface';
import { type LanWanted, lanDifferences } from './lan-options';
import { linkOrNone, makeParent, planParent, probeParent, VLAN_NAME } from './lan-parent';
import { randomLocalMac } from './mac';
import { Undo } from './undo';

/** The network is a macvlan or ipvlan one. */
export function isLanNetwork(record: Pick<NetworkRecord, 'driver'>): boolean {
  const driver = networkDriver(record);
  return driver === 'macvlan' || driver === 'ipvlan';
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

