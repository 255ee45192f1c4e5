/**
 * The CNI network configuration nsnet's plugin reads (stdin), as the
 * reference bridge plugin's keys and nsnet's own. Keys not named here are
 * ignored, as the CNI specification says, at every level.
 */
import v = require('valibot');

import { GatewayModeOptionSchema } from './gateway-mode';
import { FIREWALL_BACKENDS, IPVLAN_NETWORK_FLAGS, NETWORK_DRIVERS } from './network';
import { jsonObject } from './schema';

const Text = v.pipe(v.string(), v.minLength(1));
const Flag = v.optional(v.boolean());
const Strings = v.array(v.string(), 'a list of strings');
const Addresses = v.optional(v.array(v.string(), 'a list of addresses'));
const PortNumber = v.pipe(v.number('a port number'), v.integer('a port number'));

/** runtimeConfig.portMappings, as the portmap plugin takes them. */
const PortMappingSchema = jsonObject({
  hostPort: PortNumber,
  containerPort: PortNumber,
  protocol: v.optional(v.string()),
  hostIP: v.optional(v.string()),
});

const BitCount = v.pipe(v.number('a whole number'), v.integer('a whole number'), v.minValue(0, 'a whole number, 0 or more'));

/** runtimeConfig.bandwidth, as the bandwidth plugin takes it: rates in bits per second, bursts in bits, 0 for none. */
const BandwidthSchema = jsonObject({
  ingressRate: v.optional(BitCount),
  ingressBurst: v.optional(BitCount),
  egressRate: v.optional(BitCount),
  egressBurst: v.optional(BitCount),
});

const AttachmentsSchema = v.optional(v.array(jsonObject({ containerID: Text, ifname: Text }), 'a list of {containerID, ifname}'));

export const CniNetworkConfigSchema = jsonObject({
  name: v.string('a network name'),
  /** nsnet's own: the network's driver (bridge when absent), made as createRoutedNetwork, createMacvlanNetwork, createIpvlanNetwork or createOverlayNetwork make it. */
  driver: v.optional(v.picklist(NETWORK_DRIVERS)),
  bridge: v.optional(Text),
  subnet: v.optional(Text),
  gateway: v.optional(Text),
  ipv6Subnet: v.optional(Text),
  mtu: v.optional(v.pipe(v.number('a whole number'), v.integer('a whole number'))),
  ipMasq: Flag,
  icc: Flag,
  internal: Flag,
  hostIp: v.optional(Text),
  firewall: v.optional(v.picklist(FIREWALL_BACKENDS)),
  /** createBridgeNetwork's: Docker 28's gateway modes, trusted host interfaces, `false` for IPv6 only. */
  gatewayMode: v.optional(GatewayModeOptionSchema),
  trustedHostInterfaces: v.optional(Strings),
  ipv4: Flag,
  /** macvlan, ipvlan: the parent interface; `master` as the reference macvlan and ipvlan plugins name it. */
  parent: v.optional(Text),
  master: v.optional(Text),
  /** macvlan: bridge, private, vepa, passthru; ipvlan: l2, l3, l3s (checked by the driver). */
  mode: v.optional(Text),
  flag: v.optional(v.picklist(IPVLAN_NETWORK_FLAGS)),
  ipRange: v.optional(Text),
  auxAddresses: v.optional(v.record(v.string(), v.string())),
  /** overlay: the etcd store (a URL, comma-separated URLs, or `{ endpoints, tls?, prefix? }`), VNI, UDP port, this host's underlay address, lease TTL (checked by the driver). */
  store: v.optional(v.unknown()),
  vni: v.optional(v.number('a whole number')),
  vxlanPort: v.optional(v.number('a whole number')),
  underlay: v.optional(Text),
  leaseTtl: v.optional(v.number('a whole number')),
  // The reference plugin's options: nsnet refuses the values it cannot honour.
  ipam: v.optional(v.unknown()),
  isGateway: Flag,
  isDefaultGateway: Flag,
  hairpinMode: Flag,
  promiscMode: Flag,
  vlan: v.optional(v.unknown()),
  vlanTrunk: v.optional(v.unknown()),
  macspoofchk: Flag,
  enabledad: Flag,
  dns: v.optional(
    jsonObject({
      nameservers: v.optional(Strings),
      domain: v.optional(Text),
      search: v.optional(Strings),
      options: v.optional(Strings),
    }),
  ),
  prevResult: v.optional(jsonObject({})),
  runtimeConfig: v.optional(
    jsonObject({
      ips: Addresses,
      mac: v.optional(v.string()),
      portMappings: v.optional(v.array(PortMappingSchema)),
      bandwidth: v.optional(BandwidthSchema),
      /** The `aliases` capability, as Podman passes it: the container's aliases by network name. */
      aliases: v.optional(v.record(v.string(), v.array(v.string()))),
    }),
  ),
  args: v.optional(jsonObject({ cni: v.optional(jsonObject({ ips: Addresses, mac: v.optional(v.string()) })) })),
  'cni.dev/valid-attachments': AttachmentsSchema,
  'cni.dev/attachments': AttachmentsSchema,
});
export type CniNetworkConfig = v.InferOutput<typeof CniNetworkConfigSchema>;
