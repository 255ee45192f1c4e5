/**
 * reconcile()'s repair of bandwidth limits: what a ready endpoint's record
 * asks for and the kernel lacks (a qdisc or filter deleted by hand, the ifb
 * deleted) is found from one dump of the qdiscs and the host end's ingress
 * filters, and put back, the ifb made again where it is gone.
 */
import { messageOf, unlessGone } from '../errors';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import { type Filter, INGRESS_PARENT, listIngressFilters, listQdiscs, type Qdisc, ROOT_PARENT } from '../rtnl/qdiscs';
import type { EndpointRecord } from '../types/endpoint';
import { endpointTag } from '../types/ownership';
import { formatRate, tbfParameters } from './bandwidth';
import { applyLimits, createIfb, isIfbOf } from './shaping';

/** What the kernel shows of an endpoint's limits. */
export interface LimitsSeen {
  hostEnd: Pick<Link, 'index' | 'name'>;
  /** The endpoint's ifb, if it is there and its; `alias`: its tag (none: to be put back). */
  ifb?: Pick<Link, 'index' | 'name'> & { up?: boolean; alias?: string };
  qdiscs: readonly Qdisc[];
  /** The filters on the host end's ingress qdisc. */
  filters: readonly Filter[];
}

function hasTbf(qdiscs: readonly Qdisc[], index: number, rate: number): boolean {
  return qdiscs.some((q) => q.index === index && q.parent === ROOT_PARENT && q.kind === 'tbf' && q.tbf?.rate === rate);
}

/** What is missing of the endpoint's limits, one line each (empty: all there). No I/O. */
export function limitRepairs(endpoint: EndpointRecord, seen: LimitsSeen): string[] {
  const { ingress, egress, ifb } = endpoint.bandwidth ?? {};
  const { hostEnd, qdiscs, filters } = seen;
  const missing: string[] = [];
  if (ingress && !hasTbf(qdiscs, hostEnd.index, tbfParameters(ingress).rate)) missing.push(`ingress limit ${formatRate(ingress.rate)} (tbf on ${hostEnd.name})`);
  if (!egress) return missing;
  if (!seen.ifb) return [...missing, `egress limit ${formatRate(egress.rate)} (ifb ${ifb} made again)`];
  const onIfb = hasTbf(qdiscs, seen.ifb.index, tbfParameters(egress).rate);
  const ingressQdisc = qdiscs.some((q) => q.index === hostEnd.index && q.parent === INGRESS_PARENT && q.kind === 'ingress');
  const redirect = filters.some((f) => f.redirect === seen.ifb?.index);
  if (!onIfb) missing.push(`egress limit ${formatRate(egress.rate)} (tbf on ${seen.ifb.name})`);
  if (seen.ifb.up === false) missing.push(`up state of ifb ${seen.ifb.name}`);
  if (seen.ifb.alias === undefined) missing.push(`tag of ifb ${seen.ifb.name}`);
  if (!ingressQdisc || !redirect) missing.push(`egress redirect of ${hostEnd.name} to ${seen.ifb.name} (ingress qdisc, u32 filter)`);
  return missing;
}

async function seenFor(endpoint: EndpointRecord, qdiscs: readonly Qdisc[]): Promise<LimitsSeen> {
  const host = NetNamespace.host();
  const hostEnd = await host.links.get(endpoint.hostIfname);
  const name = endpoint.bandwidth?.ifb;
  const found = name === undefined ? undefined : await unlessGone(() => host.links.get(name));
  const ifb = found && isIfbOf(endpoint, found) ? found : undefined;
  const hasIngress = qdiscs.some((q) => q.index === hostEnd.index && q.parent === INGRESS_PARENT);
  const filters = hasIngress ? await listIngressFilters(host, hostEnd.index) : [];
  return { hostEnd, ifb, qdiscs, filters };
}

/** What is missing of the limits of an endpoint whose host end exists, as limitRepairs() says it (CNI CHECK). */
export async function missingLimits(endpoint: EndpointRecord): Promise<string[]> {
  if (!endpoint.bandwidth) return [];
  return limitRepairs(endpoint, await seenFor(endpoint, await listQdiscs(NetNamespace.host())));
}

/**
 * Puts back what the limits of the ready endpoints in `endpoints` lack
 * (their host ends repaired already), reported as `<subject>: ... put back`.
 */
export async function repairLimits(endpoints: readonly { endpoint: EndpointRecord; subject: string }[], mtu: (endpoint: EndpointRecord) => number, report: { repaired: string[]; failures: string[] }): Promise<void> {
  const limited = endpoints.filter(({ endpoint }) => endpoint.bandwidth?.ingress || endpoint.bandwidth?.egress);
  if (!limited.length) return;
  const qdiscs = await listQdiscs(NetNamespace.host());
  for (const { endpoint, subject } of limited) {
    try {
      const seen = await seenFor(endpoint, qdiscs);
      const missing = limitRepairs(endpoint, seen);
      if (!missing.length) continue;
      const ifb = endpoint.bandwidth?.egress && !seen.ifb ? await createIfb(endpoint, mtu(endpoint)) : seen.ifb;
      if (ifb && ifb.alias === undefined) await NetNamespace.host().links.set(ifb.index, { alias: endpointTag(endpoint.network, endpoint.id) });
      await applyLimits(endpoint, seen.hostEnd.index, ifb?.index, true);
      report.repaired.push(...missing.map((what) => `${subject}: ${what} put back`));
    } catch (error) {
      report.failures.push(`${subject}: bandwidth limits could not be put back: ${messageOf(error)}`);
    }
  }
}
