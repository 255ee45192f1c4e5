/**
 * The parent of a macvlan or ipvlan network: found and checked, or made (a
 * VLAN sub-interface asked for as `eth0.10`, an internal network's dummy),
 * and the kernel's say on hanging such children off it.
 */
import { randomBytes } from 'node:crypto';

import { isGone, messageOf, NetlinkError, NsnetError } from '../errors';
import { NetNamespace } from '../netns';
import type { Link, LinkSpec } from '../rtnl/links';
import type { NetworkRecord } from '../types/network';
import { networkTag, parseTag } from '../types/ownership';
import type { LanWanted } from './lan-options';

/** `eth0.10`: VLAN 10 of eth0. */
export const VLAN_NAME = /^(.+)\.(\d{1,4})$/;

/** How the network's parent is had: there already, or to be made (a VLAN sub-interface of `base`, an internal network's dummy). */
export type ParentPlan = { exists: Link } | { vlan: { base: Link; id: number } } | { internal: true };

export async function linkOrNone(name: string): Promise<Link | undefined> {
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
export async function planParent(wanted: LanWanted): Promise<ParentPlan> {
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
export async function makeParent(record: NetworkRecord, vlan: { base: string | number; id: number } | undefined): Promise<Link> {
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
export async function probeParent(wanted: LanWanted, parent: number): Promise<void> {
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
