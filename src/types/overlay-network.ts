/** The options createOverlayNetwork takes (types/overlay.ts has what is stored). */
import v = require('valibot');

import { MAX_MTU, MIN_MTU } from './limits';
import { FIREWALL_BACKENDS, NETWORK_NAME } from './network';
import { strictJsonObject } from './schema';

/** A store as given: `'http://10.0.0.1:2379'`, several comma-separated, or the endpoints with TLS files and a key prefix. */
export const StoreOptionSchema = v.union([
  v.string(),
  strictJsonObject({
    endpoints: v.array(v.string()),
    tls: v.optional(strictJsonObject({ ca: v.optional(v.string()), cert: v.optional(v.string()), key: v.optional(v.string()) })),
    /** Keys nsnet writes start with this; `/nsnet/v1` when omitted. */
    prefix: v.optional(v.string()),
  }),
]);
export type StoreOption = v.InferOutput<typeof StoreOptionSchema>;

export const OverlayNetworkOptionsSchema = strictJsonObject({
  /** [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}: the same name on every host. */
  name: v.pipe(v.string(), v.regex(NETWORK_NAME)),
  /** The network's IPv4 subnet, one address space across all hosts. */
  subnet: v.string(),
  /** Defaults to the first host address of the subnet: every host's bridge carries it, answered on that host only. */
  gateway: v.optional(v.string()),
  /** Refused: an overlay network's containers are found by their IPv4 addresses. */
  ipv4: v.optional(v.literal(true)),
  ipv6: v.optional(strictJsonObject({ subnet: v.string(), gateway: v.optional(v.string()) })),
  ipRange: v.optional(v.string()),
  auxAddresses: v.optional(v.record(v.string(), v.string())),
  /** The etcd store the network's definition, hosts and addresses live in. */
  store: StoreOptionSchema,
  /** VXLAN network identifier; the lowest free from 4096 when omitted. */
  vni: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffffff))),
  /** UDP port of the VXLAN traffic: 4789 (Docker's) when omitted. */
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
  /** The network's MTU; the underlay interface's less 50 when omitted. */
  mtu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(MIN_MTU), v.maxValue(MAX_MTU))),
  /** This host's address on the underlay; the one the kernel picks to reach the store when omitted. */
  underlay: v.optional(v.string()),
  /** Seconds this host's containers stay known to the other hosts once its agent is gone (default 15). */
  leaseTtl: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(86400))),
  /** Bridge device; `nsbr-<name>` (or a hash of a long name) when omitted. */
  bridge: v.optional(v.string()),
  masquerade: v.optional(v.boolean()),
  icc: v.optional(v.boolean()),
  internal: v.optional(v.boolean()),
  /** Containers find each other by name on every host (on unless false, as on a user bridge network; none on an internal one unless true). */
  dns: v.optional(v.boolean()),
  /** Default host address of published ports. */
  hostIp: v.optional(v.string()),
  firewall: v.optional(v.picklist(FIREWALL_BACKENDS)),
});
export type OverlayNetworkOptions = v.InferOutput<typeof OverlayNetworkOptionsSchema>;
