/**
 * What a network's gateway modes and trusted host interfaces ask of a
 * firewall, per address family, the same for both backends (Docker 28.2's
 * bridge driver: nat, nat-unprotected, routed, isolated).
 */
import type { EndpointRecord } from '../types/endpoint';
import { gatewayMode, type IpFamilyNumber, trustedHostInterfaces } from '../types/gateway-mode';
import { isIPv6 } from '../types/ip';
import type { NetworkRecord } from '../types/network';
import type { PortProtocol, PublishedPort } from '../types/ports';

/** Containers of this family are masqueraded going out (nat and nat-unprotected; isolated is internal). */
export function masqueradesFamily(network: NetworkRecord, family: IpFamilyNumber): boolean {
  const mode = gatewayMode(network, family);
  return !network.internal && network.masquerade && (mode === 'nat' || mode === 'nat-unprotected');
}

/** Published ports of this family are DNATed from the host's addresses; a routed family's are reached at the container's own. */
export function dnatsFamily(network: NetworkRecord, family: IpFamilyNumber): boolean {
  return gatewayMode(network, family) !== 'routed';
}

/**
 * Whether a port published on `hostIp` holds its host port: not where its
 * family is routed, where Docker ignores the host port of `-p` (two
 * containers may both publish 8080:80).
 */
export function bindsHostPort(network: NetworkRecord, hostIp: string): boolean {
  return dnatsFamily(network, isIPv6(hostIp) ? 6 : 4);
}

/** Every port of a container of this family is reachable by its address (nat-unprotected). */
export function unprotectedFamily(network: NetworkRecord, family: IpFamilyNumber): boolean {
  return !network.internal && gatewayMode(network, family) === 'nat-unprotected';
}

/** Published ports of this family are reachable by the container's address from anywhere (routed). */
export function routedFamily(network: NetworkRecord, family: IpFamilyNumber): boolean {
  return !network.internal && gatewayMode(network, family) === 'routed';
}

/** The interfaces from which published ports are reachable by the container's address; none on an internal network. */
export function trustedInterfaces(network: NetworkRecord): string[] {
  return network.internal ? [] : trustedHostInterfaces(network);
}

/** Whether the firewall needs the endpoints' exposed ports of this family at all. */
export function exposesFamily(network: NetworkRecord, family: IpFamilyNumber): boolean {
  return routedFamily(network, family) || trustedInterfaces(network).length > 0;
}

/** A published port as reached at the container's own address. */
export interface ExposedPort {
  address: string;
  protocol: PortProtocol;
  port: number;
}

export function portFamily(port: PublishedPort): IpFamilyNumber {
  return isIPv6(port.hostIp) ? 6 : 4;
}

/**
 * An endpoint's published ports of one family as its own address and
 * container port, each once (two host ports may lead to one container port);
 * the host address only picks the family, as Docker's routed mode has it.
 */
export function exposedPorts(network: NetworkRecord, endpoint: EndpointRecord, family: IpFamilyNumber): ExposedPort[] {
  const address = family === 4 ? endpoint.ipv4 : endpoint.ipv6;
  if (address === undefined || !exposesFamily(network, family)) return [];
  const seen = new Map<string, ExposedPort>();
  for (const port of endpoint.ports) {
    if (portFamily(port) !== family) continue;
    seen.set(`${port.protocol}/${port.containerPort}`, { address, protocol: port.protocol, port: port.containerPort });
  }
  return [...seen.values()];
}
