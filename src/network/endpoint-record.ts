/** What users get back about an endpoint, from its stored record. */
import { NetNamespace } from '../netns';
import type { EndpointRecord } from '../types/endpoint';
import type { PublishedPort } from '../types/ports';

export interface Endpoint {
  id: string;
  network: string;
  netns: NetNamespace;
  ifname: string;
  hostIfname: string;
  /** The MAC address of the host end (on the bridge). */
  hostMac?: string;
  mac: string;
  ipv4: string;
  ipv6?: string;
  /** The default route's gateway; none on internal networks. */
  gateway?: string;
  gateway6?: string;
  ports: PublishedPort[];
}

export function toEndpoint(record: EndpointRecord, ns?: NetNamespace): Endpoint {
  const endpoint: Endpoint = {
    id: record.id,
    network: record.network,
    netns: ns ?? NetNamespace.atPath(record.netnsPath, record.netnsInode),
    ifname: record.ifname,
    hostIfname: record.hostIfname,
    mac: record.mac,
    ipv4: record.ipv4,
    ports: record.ports,
  };
  if (record.hostMac) endpoint.hostMac = record.hostMac;
  if (record.ipv6) endpoint.ipv6 = record.ipv6;
  if (record.gateway) endpoint.gateway = record.gateway;
  if (record.gateway6) endpoint.gateway6 = record.gateway6;
  return endpoint;
}
