/** CHECK: the live state of an attachment against what the runtime was told (prevResult). */
import { unlessGone } from '../errors';
import { NetNamespace } from '../netns';
import { missingHostRoutes } from '../network/routed-repair';
import { missingLimits } from '../network/shaping-repair';
import type { EndpointRecord } from '../types/endpoint';
import { type NetworkRecord, networkDriver } from '../types/network';
import { CniError, nsnetCode } from './errors';

interface PrevInterface {
  name?: string;
  mac?: string;
  sandbox?: string;
}
interface PrevIp {
  address?: string;
  interface?: number;
}

/** What is missing or different; empty when the attachment is whole. */
export async function attachmentProblems(
  network: NetworkRecord,
  endpoint: EndpointRecord,
  netnsPath: string,
  prevResult: Record<string, unknown>,
): Promise<string[]> {
  const problems: string[] = [];
  const host = NetNamespace.host();
  // Gone reads as undefined; any other failure is the kernel's to report.
  const linkOrNone = (name: string) => unlessGone(() => host.links.get(name));
  const routed = networkDriver(network) === 'routed';
  const [bridge, hostEnd] = await Promise.all([routed ? undefined : linkOrNone(network.bridge), linkOrNone(endpoint.hostIfname)]);
  // A macvlan or ipvlan child has no host end: its network's parent (its `bridge`) must be there.
  const device = endpoint.link ? 'parent' : 'bridge';
  if (routed) problems.push(...(hostEnd ? await missingHostRoutes(endpoint, hostEnd.index) : []));
  else if (!bridge) problems.push(`${device} ${network.bridge} is missing`);
  else if (!bridge.up) problems.push(`${device} ${network.bridge} is down`);
  if (endpoint.link) {
    // nothing of its own on the host
  } else if (!hostEnd) problems.push(`host interface ${endpoint.hostIfname} is missing`);
  else if (bridge && hostEnd.master !== bridge.index) problems.push(`host interface ${endpoint.hostIfname} is not on bridge ${network.bridge}`);
  if (hostEnd && !endpoint.link) problems.push(...(await missingLimits(endpoint)).map((what) => `${what} is missing`));

  let ns: NetNamespace;
  try {
    ns = await NetNamespace.open(netnsPath);
  } catch {
    return [...problems, `namespace ${netnsPath} is gone`];
  }
  try {
    if (ns.inode !== endpoint.netnsInode) return [...problems, `namespace ${netnsPath} is not the one attached`];
    const [links, addresses, routes] = await Promise.all([ns.links.list(), ns.addresses.list({ dev: endpoint.ifname }), ns.routes.list()]);
    const link = links.find((l) => l.name === endpoint.ifname);
    if (!link) return [...problems, `interface ${endpoint.ifname} is missing in ${netnsPath}`];
    if (!link.up) problems.push(`interface ${endpoint.ifname} is down`);
    const live = new Set(addresses.map((a) => a.cidr));
    // What the runtime was told about this interface must still hold.
    const interfaces = (Array.isArray(prevResult.interfaces) ? prevResult.interfaces : []) as PrevInterface[];
    const index = interfaces.findIndex((i) => i.name === endpoint.ifname && i.sandbox !== undefined);
    if (index < 0) problems.push(`prevResult has no interface ${endpoint.ifname} in a sandbox`);
    else if (interfaces[index].mac && interfaces[index].mac?.toLowerCase() !== link.mac) {
      problems.push(`interface ${endpoint.ifname} has MAC ${link.mac}, prevResult says ${interfaces[index].mac}`);
    }
    for (const ip of ((Array.isArray(prevResult.ips) ? prevResult.ips : []) as PrevIp[]).filter((i) => i.interface === index)) {
      if (ip.address && !live.has(ip.address)) problems.push(`address ${ip.address} is missing on ${endpoint.ifname}`);
    }
    const hasDefault = (family: number) => routes.some((r) => r.dst === 'default' && r.family === family);
    if (endpoint.gateway && !hasDefault(4)) problems.push(`the IPv4 default route is missing`);
    if (endpoint.gateway6 && !hasDefault(6)) problems.push(`the IPv6 default route is missing`);
  } finally {
    ns.close();
  }
  return problems;
}

export function checkFailed(problems: string[]): CniError {
  return new CniError(nsnetCode('CHECK_FAILED'), `attachment check failed: ${problems.join('; ')}`);
}
