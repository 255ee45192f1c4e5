/** Which subnets are taken on the host, and the automatic choice of a free one. */
import { NsnetError } from '../errors';
import { Subnet } from '../ipam/subnet';
import { NetNamespace } from '../netns';
import { type IpFamily, toNumber } from '../types/ip';
import type { NetworkRecord } from '../types/network';

/** Where automatic subnets come from: the first free /24 of this range. */
const AUTO_POOL = Subnet.parse('10.89.0.0/16');
const AUTO_PREFIX = 24;

interface Occupant {
  subnet: Subnet;
  by: string;
}

/** Subnets of host routes (not default routes), host addresses and nsnet networks. */
async function occupants(family: IpFamily, networks: NetworkRecord[]): Promise<Occupant[]> {
  const host = NetNamespace.host();
  const [routes, addresses] = await Promise.all([host.routes.list({ family }), host.addresses.list({ family })]);
  // Networks first: the most useful thing to name in an error.
  const found: Occupant[] = [];
  for (const network of networks) {
    const cidr = family === 4 ? network.subnet : network.ipv6?.subnet;
    if (cidr) found.push({ subnet: Subnet.parse(cidr), by: `nsnet network "${network.name}"` });
  }
  for (const route of routes) {
    if (route.dst === 'default') continue;
    const [address, length] = route.dst.split('/');
    found.push({ subnet: Subnet.of(family, toNumber(address), Number(length)), by: `host route ${route.dst}` });
  }
  for (const address of addresses) {
    found.push({
      subnet: Subnet.of(family, toNumber(address.address), address.prefixLength),
      by: `address ${address.cidr} on ${address.dev}`,
    });
  }
  return found;
}

/** Refuses a subnet that overlaps a host route or address or another network. */
export async function checkSubnetFree(cidr: string, networks: NetworkRecord[]): Promise<void> {
  const subnet = Subnet.parse(cidr);
  const clash = (await occupants(subnet.family, networks)).find((o) => o.subnet.overlaps(subnet));
  if (clash) {
    throw new NsnetError('SUBNET_OVERLAP', `subnet ${cidr} overlaps ${clash.by}`, { subnet: cidr, overlaps: clash.by });
  }
}

/** The first /24 of 10.89.0.0/16 that overlaps nothing. */
export async function pickSubnet(networks: NetworkRecord[]): Promise<string> {
  const taken = await occupants(4, networks);
  const step = 1n << BigInt(32 - AUTO_PREFIX);
  for (let base = AUTO_POOL.base; base <= AUTO_POOL.last; base += step) {
    const candidate = Subnet.of(4, base, AUTO_PREFIX);
    if (!taken.some((o) => o.subnet.overlaps(candidate))) return candidate.cidr;
  }
  throw new NsnetError('NO_FREE_SUBNET', `every /${AUTO_PREFIX} of ${AUTO_POOL.cidr} is in use; give a subnet`);
}
