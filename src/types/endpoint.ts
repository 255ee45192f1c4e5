/** Endpoints: the options of a connect, and the record stored for an endpoint. */
import v = require('valibot');

import { type BandwidthRecord, BandwidthOptionsSchema, BandwidthRecordSchema } from './bandwidth';
import { type PublishedPort, PublishedPortSchema, PublishSpecSchema } from './ports';
import { FirewallInterfaceName, InterfaceName, IpText, MacText } from './record-text';
import { Integer, jsonObject, presenceCheck, strictJsonObject } from './schema';

/** A gateway priority: Docker's is a Go int; nsnet's, the integers a JSON number holds exactly. */
export const GwPriority = v.pipe(v.number(), v.integer(), v.minValue(-Number.MAX_SAFE_INTEGER), v.maxValue(Number.MAX_SAFE_INTEGER));

/** The keys of connect options, which setupContainer takes too. */
export const CONNECT_OPTION_ENTRIES = {
  /** Interface name inside the namespace; when omitted eth0, or in a namespace on other networks already the lowest free ethN. */
  ifname: v.optional(v.string()),
  /** Static IPv4 address; else the next free one. */
  ip: v.optional(v.string()),
  /** Static IPv6 address (dual-stack networks); else the next free one. */
  ipv6: v.optional(v.string()),
  /** MAC address inside the namespace; random locally administered when omitted. */
  mac: v.optional(v.string()),
  /** Ports to publish: Docker's `-p` specs or objects (see parsePublish). */
  publish: v.optional(v.array(PublishSpecSchema)),
  /** Rate limits of what the container receives (ingress) and sends (egress). */
  bandwidth: v.optional(BandwidthOptionsSchema),
  /** The name other containers of a resolving network find this one by (a DNS name, see isDnsName). */
  name: v.optional(v.string()),
  /** More names on the network, as Docker's `--network-alias`. */
  aliases: v.optional(v.array(v.string())),
  /**
   * Docker's `--gw-priority`: of a namespace's networks, the one with the
   * highest gives its default route (per family; ties to the name that sorts
   * first). 0 when omitted; negative values allowed.
   */
  gwPriority: v.optional(GwPriority),
};
export const ConnectOptionsSchema = strictJsonObject(CONNECT_OPTION_ENTRIES);
export type ConnectOptions = v.InferOutput<typeof ConnectOptionsSchema>;

export const EndpointRecordSchema = v.pipe(jsonObject({
  id: v.string(),
  network: v.string(),
  netnsPath: v.string(),
  netnsInode: Integer,
  ifname: InterfaceName,
  /** The host end of its veth; for a macvlan or ipvlan child (see `link`), the network's parent. */
  hostIfname: FirewallInterfaceName,
  /** A child of the network's parent, living only in the namespace, rather than a veth: macvlan or ipvlan. */
  link: v.optional(v.picklist(['macvlan', 'ipvlan'])),
  /** The host end's MAC address, once it exists. */
  hostMac: v.optional(MacText),
  mac: MacText,
  /** Absent on an IPv6-only network, with prefixLength. */
  ipv4: v.optional(IpText),
  prefixLength: v.optional(Integer),
  ipv6: v.optional(IpText),
  prefixLength6: v.optional(Integer),
  gateway: v.optional(IpText),
  gateway6: v.optional(IpText),
  /** Its gateway priority (connect's `gwPriority`), where not 0: absent (records made before it, CNI's) means 0. */
  gwPriority: v.optional(GwPriority),
  ports: v.array(PublishedPortSchema),
  bandwidth: v.optional(BandwidthRecordSchema),
  /** Its names on its network, in Docker's order (types/dns.ts); none where the network resolves none. */
  names: v.optional(v.array(v.string())),
  /** The container's own upstream name servers (`dns` option). */
  upstreams: v.optional(v.array(IpText)),
  /** 'creating' until every step is done, by process `pid`. */
  status: v.picklist(['creating', 'ready', 'removing']),
  pid: Integer,
  created: v.string(),
}), presenceCheck((record) => record.ipv4 !== undefined || record.ipv6 !== undefined, 'an endpoint with an ipv4 address, an ipv6 one or both'));
export type EndpointRecord = v.InferOutput<typeof EndpointRecordSchema>;

/** Endpoint records are keyed by network and namespace: one endpoint per pair. */
export function endpointKey(network: string, netnsInode: number): string {
  return `${network}@${netnsInode}`;
}

/**
 * What users get back about an endpoint, from its stored record, with `N`
 * for its namespace: a NetNamespace (network/endpoint-record.ts), or in a
 * listing the path that opens it, which is how a NetNamespace prints.
 */
export interface EndpointView<N> {
  id: string;
  network: string;
  netns: N;
  ifname: string;
  /** The host end of its veth; for a macvlan or ipvlan child, the network's parent. */
  hostIfname: string;
  /** A child of the network's parent (macvlan, ipvlan) rather than a veth: no host end. */
  link?: 'macvlan' | 'ipvlan';
  /** The MAC address of the host end (on the bridge). */
  hostMac?: string;
  mac: string;
  /** None on an IPv6-only network. */
  ipv4?: string;
  ipv6?: string;
  /** The default route's gateway; none on internal networks. */
  gateway?: string;
  gateway6?: string;
  /** Its gateway priority (connect's `gwPriority`), where not 0. */
  gwPriority?: number;
  ports: PublishedPort[];
  /** Its limits: rates in bits per second, bursts in bytes. */
  bandwidth?: Omit<BandwidthRecord, 'ifb'>;
  /** Its names on a network that resolves names, in Docker's order. */
  names?: string[];
  /** Its own upstream name servers (setupContainer's `dns`). */
  upstreams?: string[];
}

export function endpointView<N>(record: EndpointRecord, netns: N): EndpointView<N> {
  const endpoint: EndpointView<N> = {
    id: record.id,
    network: record.network,
    netns,
    ifname: record.ifname,
    hostIfname: record.hostIfname,
    mac: record.mac,
    ports: record.ports,
  };
  if (record.ipv4) endpoint.ipv4 = record.ipv4;
  if (record.link) endpoint.link = record.link;
  if (record.hostMac) endpoint.hostMac = record.hostMac;
  if (record.ipv6) endpoint.ipv6 = record.ipv6;
  if (record.gateway) endpoint.gateway = record.gateway;
  if (record.gateway6) endpoint.gateway6 = record.gateway6;
  if (record.gwPriority) endpoint.gwPriority = record.gwPriority;
  if (record.names) endpoint.names = record.names;
  if (record.upstreams) endpoint.upstreams = record.upstreams;
  if (record.bandwidth) {
    const { ifb: _device, ...limits } = record.bandwidth;
    endpoint.bandwidth = limits;
  }
  return endpoint;
}
