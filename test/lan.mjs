// A LAN in the sandbox for macvlan and ipvlan networks: a bridge inside a
// `lan` namespace stands for the switch; the parent NIC is the host (sandbox)
// end of a veth whose other end is a port of that bridge; a `router`
// namespace (the LAN's router: the gateway address, and an address beyond it
// on its lo, standing for the rest of the world) and a `peer` namespace
// (another machine of the LAN) hang off the bridge too. The host has no
// address on the LAN.
import { NetNamespace } from '../dist/index.js';
import { uniqueName } from './helpers.mjs';

/** An address beyond the router (on its lo): reached only through the default route. */
export const BEYOND_ROUTER = '198.51.100.1';

/**
 * Makes the LAN `10.<a>.<b>.0/24` and `fd00:<a>:<b>::/64`: router .1 (::1),
 * peer .50 (::50). Resolves to `{ parent, subnet, gateway, peerIp, subnet6,
 * gateway6, peerIp6, lan, router, peer, uplinkHairpin(on), remove() }`.
 */
export async function createLan(octets) {
  const host = NetNamespace.host();
  const prefix = `10.${octets}`;
  const prefix6 = `fd00:${octets.replace('.', ':')}::`;
  const lan = await NetNamespace.create(uniqueName('lan'));
  const router = await NetNamespace.create(uniqueName('rtr'));
  const peer = await NetNamespace.create(uniqueName('peer'));
  const parent = uniqueName('nic');
  await lan.links.set('lo', { up: true });
  await lan.links.add({ kind: 'bridge', name: 'sw', up: true });
  await host.links.add({ kind: 'veth', name: parent, up: true, peer: { name: 'uplink', netns: lan } });
  await lan.links.set('uplink', { master: 'sw', up: true });
  for (const [ns, address, address6] of [[router, `${prefix}.1`, `${prefix6}1`], [peer, `${prefix}.50`, `${prefix6}50`]]) {
    await lan.links.add({ kind: 'veth', name: `to-${ns === router ? 'router' : 'peer'}`, master: 'sw', up: true, peer: { name: 'eth0', netns: ns } });
    await ns.links.set('lo', { up: true });
    await ns.links.set('eth0', { up: true });
    await ns.addresses.add('eth0', `${address}/24`);
    await ns.addresses.add('eth0', `${address6}/64`, { nodad: true });
  }
  await router.addresses.add('lo', `${BEYOND_ROUTER}/32`);
  await peer.routes.add({ dst: 'default', gateway: `${prefix}.1` });
  return {
    parent,
    subnet: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
    peerIp: `${prefix}.50`,
    subnet6: `${prefix6}/64`,
    gateway6: `${prefix6}1`,
    peerIp6: `${prefix6}50`,
    lan,
    router,
    peer,
    /** Frames the switch gets on the uplink go back out of it (as a VEPA switch does). */
    uplinkHairpin: (on) => lan.links.set('uplink', { hairpin: on }),
    async remove() {
      for (const ns of [peer, router, lan]) await ns.delete().catch(() => undefined);
      await host.links.delete(parent).catch(() => undefined);
    },
  };
}
