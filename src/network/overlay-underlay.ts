/**
 * The underlay of an overlay network on this host: the address the host is
 * known by (the VXLAN device's local address) and the MTU of the device that
 * holds it, which the overlay's MTU is derived from.
 */
import { createSocket } from 'node:dgram';

import { NsnetError } from '../errors';
import { NetNamespace } from '../netns';
import { ipFamily } from '../types/ip';

/**
 * The local address the kernel picks to reach `endpoint` (a store endpoint
 * as parseStoreOption makes them: http://HOST:PORT or https://HOST:PORT): a
 * UDP socket is connected to it, which chooses a route and a source address
 * and sends nothing.
 */
export async function resolveUnderlay(endpoint: string): Promise<string> {
  const url = new URL(endpoint);
  // URL keeps an IPv6 host in brackets.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const family = hostname.includes(':') ? 'udp6' : 'udp4';
  const socket = createSocket(family);
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(Number(url.port), hostname, () => resolve(socket.address().address));
    });
  } catch (error) {
    throw new NsnetError('ADDRESS_NOT_LOCAL', `no local address reaches ${endpoint}: ${(error as Error).message}`, { endpoint }, { cause: error });
  } finally {
    socket.close();
  }
}

/** The MTU of the host's device that holds `underlay`; ADDRESS_NOT_LOCAL when none does. */
export async function underlayMtu(underlay: string): Promise<number> {
  const family = ipFamily(underlay, 'underlay address');
  const host = NetNamespace.host();
  const held = (await host.addresses.list({ family })).find((address) => address.address === underlay);
  if (held === undefined) {
    throw new NsnetError('ADDRESS_NOT_LOCAL', `${underlay} (the underlay address) is not an address of this host`, { underlay });
  }
  return (await host.links.get(held.index)).mtu;
}
