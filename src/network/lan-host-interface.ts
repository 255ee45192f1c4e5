/**
 * A macvlan network's host interface: the host's own macvlan child of the
 * parent (bridge mode), with an address of the subnet as a /32 and a route
 * to the ip range (or the subnet) through it, so that the host reaches the
 * network's children, which it cannot through the parent.
 */
import { NetNamespace } from '../netns';
import type { NetworkRecord } from '../types/network';
import { networkTag } from '../types/ownership';
import { linkOrNone } from './lan-parent';
import { Undo } from './undo';

/** The host's own macvlan: bridge mode, its address (/32), up, a route to the ip range (or the subnet: a LAN network always has an IPv4 one) through it. */
export async function createHostInterface(record: NetworkRecord, undo: Undo): Promise<void> {
  const host = NetNamespace.host();
  const { name, address } = record.hostInterface as { name: string; address: string };
  const made = await host.links.add({ kind: 'macvlan', name, parent: record.parent as string, mode: 'bridge', mtu: record.mtu, alias: networkTag(record.name) });
  undo.push(`host interface ${name}`, () => host.links.delete(made.index));
  await host.addresses.add(made.index, `${address}/32`);
  await host.links.set(made.index, { up: true });
  await host.routes.add({ dst: record.ipRange ?? (record.subnet as string), dev: made.index });
}

/** The host interface made again if missing; else its address, up and route put back where they went. */
export async function repairHostInterface(record: NetworkRecord, attempt: (what: string, fn: () => Promise<unknown>) => Promise<void>): Promise<void> {
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
