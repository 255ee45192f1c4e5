/**
 * Address blocks a network's subnet may not touch: the kernel treats their
 * addresses specially (loopback, multicast, link-local), or they are not
 * unicast addresses of a host at all. Some the kernel takes on a bridge and
 * then routes nowhere (224.1.0.1/24 is accepted), others it refuses only
 * when the address is added (ff05::1/64: EADDRNOTAVAIL), after the network
 * exists: refused here, before anything is made.
 */
import { Subnet } from './subnet';

const SPECIAL_RANGES: [Subnet, string][] = [
  [Subnet.parse('0.0.0.0/8'), '"this network" (0.0.0.0/8), not an address a host may have'],
  [Subnet.parse('127.0.0.0/8'), 'loopback (127.0.0.0/8), which every namespace keeps on lo'],
  [Subnet.parse('224.0.0.0/4'), 'multicast (224.0.0.0/4)'],
  [Subnet.parse('240.0.0.0/4'), 'reserved (240.0.0.0/4, with the broadcast address 255.255.255.255)'],
  [Subnet.parse('::/128'), 'the unspecified address ::'],
  [Subnet.parse('::1/128'), 'the loopback address ::1'],
  [Subnet.parse('::ffff:0:0/96'), 'IPv4-mapped (::ffff:0:0/96), which stands for IPv4 addresses on IPv6 sockets'],
  [Subnet.parse('fe80::/10'), 'link-local (fe80::/10), which the kernel gives every interface on its own'],
  [Subnet.parse('ff00::/8'), 'multicast (ff00::/8)'],
];

/** What makes `subnet` unusable for a network, or undefined when nothing does. */
export function specialRange(subnet: Subnet): string | undefined {
  return SPECIAL_RANGES.find(([range]) => range.overlaps(subnet))?.[1];
}
