/** What is stored about an endpoint, and what users get back. */
import type { PublishedPort } from '../firewall/ports';
import { NetNamespace } from '../netns';

export interface EndpointRecord {
  id: string;
  network: string;
  netnsPath: string;
  netnsInode: number;
  ifname: string;
  hostIfname: string;
  /** The host end's MAC address, once it exists. */
  hostMac?: string;
  mac: string;
  ipv4: string;
  prefixLength: number;
  ipv6?: string;
  prefixLength6?: number;
  gateway?: string;
  gateway6?: string;
  ports: PublishedPort[];
  /** 'creating' until every step is done, by process `pid`. */
  status: 'creating' | 'ready';
  pid: number;
  created: string;
}

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

/** Endpoint records are keyed by network and namespace: one endpoint per pair. */
export function endpointKey(network: string, netnsInode: number): string {
  return `${network}@${netnsInode}`;
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
