/**
 * The demo's outside world: a namespace `wan` joined to the host by a veth,
 * with the host's default route through it, as a router on the internet.
 * Documentation addresses (RFC 5737), inside the sandbox only.
 */
import { NetNamespace } from '../../netns';

export const HOST_ADDRESS = '198.51.100.1';
export const WAN_ADDRESS = '198.51.100.2';
const HOST_LINK = 'wan0';

export async function createWan(): Promise<NetNamespace> {
  const host = NetNamespace.host();
  const wan = await NetNamespace.create('wan');
  try {
    await host.links.add({ kind: 'veth', name: HOST_LINK, up: true, peer: { name: 'eth0', netns: wan } });
    await Promise.all([
      wan.links.set('lo', { up: true }),
      wan.links.set('eth0', { up: true }),
      host.addresses.add(HOST_LINK, `${HOST_ADDRESS}/24`),
      wan.addresses.add('eth0', `${WAN_ADDRESS}/24`),
    ]);
    await host.routes.add({ dst: 'default', gateway: WAN_ADDRESS });
    return wan;
  } catch (error) {
    await removeWan(wan);
    throw error;
  }
}

export async function removeWan(wan: NetNamespace): Promise<void> {
  await wan.delete(); // the kernel removes the veth, and the route with it
}
