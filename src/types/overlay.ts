/**
 * Overlay networks (one network across hosts, VXLAN between them, etcd as
 * the shared store): what a network's record holds of its overlay, and the
 * values nsnet keeps in the store, checked when read back.
 */
import { isIP } from 'node:net';

import v = require('valibot');

import { CidrText, FirewallInterfaceName, IpText, MacText } from './record-text';
import { Integer, jsonObject, jsonRecord } from './schema';

/** Where a network's store is: etcd endpoints (http or https URLs), TLS files, and the key prefix nsnet writes under. */
export const StoreConfigSchema = jsonObject({
  endpoints: v.pipe(v.array(v.string()), v.minLength(1)),
  tls: v.optional(jsonObject({ ca: v.optional(v.string()), cert: v.optional(v.string()), key: v.optional(v.string()) })),
  prefix: v.string(),
});
export type StoreConfig = v.InferOutput<typeof StoreConfigSchema>;

/** What every host of an overlay network must agree on; stored once, at `<prefix>/networks/<name>/definition`. */
export const OverlayDefinitionSchema = jsonObject({
  subnet: CidrText,
  gateway: IpText,
  ipv6: v.optional(jsonObject({ subnet: CidrText, gateway: IpText })),
  vni: Integer,
  port: Integer,
  /** Only when given explicitly: else each host's underlay MTU less the VXLAN overhead. */
  mtu: v.optional(Integer),
  internal: v.optional(v.boolean()),
  /** Whether containers find each other by name; absent in definitions of builds where no overlay network did. */
  dns: v.optional(v.boolean()),
  /** Only when false: containers of the network may not reach each other, on any host. */
  icc: v.optional(v.literal(false)),
  ipRange: v.optional(CidrText),
  auxAddresses: v.optional(jsonRecord(v.string(), IpText)),
});
export type OverlayDefinition = v.InferOutput<typeof OverlayDefinitionSchema>;

/** A host on an overlay network, at `<prefix>/networks/<name>/hosts/<underlay>`, held by the host's lease. */
export const HostEntrySchema = jsonObject({
  underlay: IpText,
  hostname: v.optional(v.string()),
  since: v.string(),
});
export type HostEntry = v.InferOutput<typeof HostEntrySchema>;

/** What a host must know of a container on another host to reach it: its addresses and its host. */
const remoteEndpointEntries = {
  ipv4: IpText,
  ipv6: v.optional(IpText),
  mac: MacText,
  /** The underlay address of the host the container runs on. */
  host: IpText,
};

/** A container's addresses, at `<prefix>/networks/<name>/addresses/<ipv4>`, held by its host's lease. */
export const AddressEntrySchema = jsonObject({
  ...remoteEndpointEntries,
  /** The endpoint's id. */
  container: v.string(),
  /** The endpoint's names as its host's resolver answers them (Docker's order: the first answers PTR queries); none on a network without names. */
  names: v.optional(v.array(v.string())),
});
export type AddressEntry = v.InferOutput<typeof AddressEntrySchema>;

const ofFamily = (wanted: 4 | 6) => v.custom<string>((address) => typeof address === 'string' && isIP(address) === wanted, `an IPv${wanted} address`);

/**
 * A remote container as the dataplane programs it: an address entry without
 * its container id (other keys let be), each address of its own family. The
 * MAC's unicast rule is checkMac's, applied by the dataplane.
 */
export const RemoteEndpointSchema = jsonObject({
  ...remoteEndpointEntries,
  ipv4: ofFamily(4),
  ipv6: v.optional(ofFamily(6)),
});
export type RemoteEndpoint = v.InferOutput<typeof RemoteEndpointSchema>;

/** A change of the remotes a VXLAN device knows: entries to add (or replace) and to remove. */
export const RemoteChangeSchema = jsonObject({
  add: v.optional(v.array(RemoteEndpointSchema, 'a list of remote endpoints')),
  remove: v.optional(v.array(RemoteEndpointSchema, 'a list of remote endpoints')),
});

/** VXLAN's encapsulation: outer Ethernet, IPv4, UDP and VXLAN headers (Docker's vxlanEncap). */
export const VXLAN_OVERHEAD = 50;

/** The same over an IPv6 underlay (its header 20 bytes longer). */
export const VXLAN_OVERHEAD6 = 70;

/** Docker's VXLAN port (the kernel's own default, and flannel's, is 8472). */
export const DEFAULT_VXLAN_PORT = 4789;

/** The network record's overlay part. */
export const OverlayRecordSchema = jsonObject({
  vni: Integer,
  port: Integer,
  /** The VXLAN device, a port of the network's bridge. */
  vxlan: FirewallInterfaceName,
  /** This host's underlay address: the VXLAN device's local address, and the host's name in the store. */
  underlay: IpText,
  store: StoreConfigSchema,
  /** Seconds a host's entries outlive its agent. */
  leaseTtl: Integer,
});
export type OverlayRecord = v.InferOutput<typeof OverlayRecordSchema>;
