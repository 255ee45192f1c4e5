/**
 * An endpoint's bandwidth limits in the kernel. What the container receives
 * leaves the host through the host end of its veth: a tbf as that end's root
 * qdisc shapes it. What the container sends arrives at the host end, where no
 * qdisc can queue it: the ingress qdisc there redirects it (a u32 filter
 * matching everything, action mirred) to an ifb device of the endpoint's,
 * whose root tbf shapes it, as the CNI bandwidth plugin does. The veth's
 * deletion takes its qdiscs and filter; the ifb, a device of its own in the
 * host's namespace, is deleted explicitly.
 */
import { isGone } from '../errors';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import { ingressRequest, INGRESS_PARENT, qdiscDeleteRequest, redirectRequest, tbfRequest } from '../rtnl/qdiscs';
import type { EndpointRecord } from '../types/endpoint';
import { endpointTag, IFB_LINK_GROUP } from '../types/ownership';
import { tbfParameters } from './bandwidth';
import { withFreeName } from './host-end-name';
import { allOrFirstFailure, step } from './plumbing';
import type { Undo } from './undo';

/** The ifb of endpoint `id`, named from its id as its host end is. */
export function ifbName(id: string): string {
  return `ifb${id.slice(0, 7)}`;
}

/**
 * Makes the endpoint's ifb, tagged as its host end is (in nsnet's group from
 * the start, so an untagged one is found). Down: a root qdisc put on a device
 * that is up waits for the kernel to stop its queues (an RCU grace period);
 * applyLimits() brings it up once its tbf is on.
 */
export function createIfb(record: EndpointRecord, mtu: number): Promise<Link> {
  return NetNamespace.host().links.add({
    kind: 'ifb',
    name: record.bandwidth?.ifb as string,
    mtu,
    linkGroup: IFB_LINK_GROUP,
    alias: endpointTag(record.network, record.id),
  });
}

/**
 * Makes the endpoint's ifb (a connect's step); once made, `undo` deletes
 * it. Its name is as random as a host end's (7 hex digits of the id): one
 * the host has already (the kernel's EEXIST) gives the endpoint another,
 * which `renamed` records before it is made.
 */
export async function makeIfb(record: EndpointRecord, mtu: number, undo: Undo, renamed: () => Promise<void>): Promise<Link> {
  const bandwidth = record.bandwidth as NonNullable<EndpointRecord['bandwidth']>;
  const ifb = await withFreeName(
    () => step('create ifb', () => createIfb(record, mtu)),
    (error) => (error as NodeJS.ErrnoException).code === 'EEXIST',
    (id) => {
      bandwidth.ifb = ifbName(id);
      return renamed();
    },
  );
  undo.push(`ifb ${ifb.name}`, () => NetNamespace.host().links.delete(ifb.index));
  return ifb;
}

/**
 * Puts the endpoint's limits on its host end (index `hostIndex`) and its
 * ifb (`ifbIndex`), in one batch. `again`: whatever is there already is
 * replaced, and the ingress qdisc made anew (with it goes any filter on it),
 * as reconcile does; else everything is new and must be.
 */
export async function applyLimits(record: EndpointRecord, hostIndex: number, ifbIndex: number | undefined, again = false): Promise<void> {
  const host = NetNamespace.host();
  const { ingress, egress } = record.bandwidth ?? {};
  const requests = [];
  if (egress && ifbIndex !== undefined) {
    requests.push(tbfRequest(host, ifbIndex, tbfParameters(egress), again), await host.links.changeRequest(ifbIndex, { up: true }, []));
    if (again) requests.push(qdiscDeleteRequest(host, hostIndex, INGRESS_PARENT));
    requests.push(ingressRequest(host, hostIndex), redirectRequest(host, hostIndex, ifbIndex));
  }
  if (ingress) requests.push(tbfRequest(host, hostIndex, tbfParameters(ingress), again));
  const connection = await host.connection();
  // Queued together, they go in one sendmsg, in this order.
  await allOrFirstFailure(requests.map((request) => connection.request(request.op, request.message, { goneIsDone: request.goneIsDone })));
}

/**
 * `link`, found under the name of the endpoint's ifb, is that ifb: tagged
 * with its alias, or untagged in nsnet's group (a connect that died before
 * tagging it, or a tag removed by hand).
 */
export function isIfbOf(record: EndpointRecord, link: Pick<Link, 'kind' | 'alias' | 'linkGroup'>): boolean {
  return link.kind === 'ifb' && (link.alias === endpointTag(record.network, record.id) || (link.alias === undefined && link.linkGroup === IFB_LINK_GROUP));
}

/**
 * Deletes the endpoint's ifb if it is this endpoint's: tagged with its
 * alias, or, for a connect that died before tagging it, untagged in nsnet's
 * group. Gone already, or none, is fine.
 */
export async function removeIfb(record: EndpointRecord): Promise<void> {
  const name = record.bandwidth?.ifb;
  if (name === undefined) return;
  const host = NetNamespace.host();
  try {
    const link = await host.links.get(name);
    if (isIfbOf(record, link)) await host.links.delete(link.index);
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}
