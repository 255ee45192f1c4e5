/**
 * A port is published on an address of the host, or on all of them (0.0.0.0,
 * ::). An address the host does not have would take the rules and never see
 * a packet; Docker's proxy fails to bind it ("cannot assign requested
 * address"). nsnet refuses it as the kernel's bind(2) would: the address must
 * be local, that is covered by a `local` route of the host's local table
 * (its own addresses, and all of 127.0.0.0/8).
 */
import { NsnetError } from '../errors';
import { onEveryAddress } from '../firewall/ports';
import { Subnet } from '../ipam/subnet';
import { NetNamespace } from '../netns';
import { type IpFamily, isIPv6, toNumber } from '../types/ip';

/** The kernel's local routing table. */
const LOCAL_TABLE = 255;

async function localRanges(family: IpFamily): Promise<Subnet[]> {
  const routes = await NetNamespace.host().routes.list({ family, table: LOCAL_TABLE });
  return routes
    .filter((route) => route.type === 'local' && route.dst !== 'default')
    .map((route) => {
      const [address, length] = route.dst.split('/');
      return Subnet.of(family, toNumber(address), Number(length));
    });
}

/** Refuses with ADDRESS_NOT_LOCAL the first of `addresses` (canonical text) that is neither a wildcard nor the host's. */
export async function checkHostAddresses(addresses: Iterable<string>, what: string): Promise<void> {
  const wanted = [...new Set(addresses)].filter((address) => !onEveryAddress(address));
  if (!wanted.length) return;
  const families = [...new Set(wanted.map((address): IpFamily => (isIPv6(address) ? 6 : 4)))];
  const local = (await Promise.all(families.map(localRanges))).flat();
  const foreign = wanted.find((address) => !local.some((range) => range.contains(address)));
  if (foreign !== undefined) {
    throw new NsnetError(
      'ADDRESS_NOT_LOCAL',
      `${foreign} (${what}) is not an address of this host: a port published on it would receive nothing (0.0.0.0 and :: stand for every address)`,
      { hostIp: foreign },
    );
  }
}
