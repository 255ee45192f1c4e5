/**
 * The iptables layout: chains NSNET-* in raw, nat and filter, reached by one
 * jump each from the built-in chains, and rules tagged with their owner in a
 * comment (types/ownership.ts: a network's tag, an endpoint's). Every value in a
 * rule comes from a validated record (interface names, addresses, ports), so
 * nothing user-supplied reaches iptables-restore unchecked.
 */
import type { EndpointRecord } from '../../types/endpoint';
import { type NetworkRecord, networkDriver, resolvesNames } from '../../types/network';
import { BRIDGE_LINK_GROUP, endpointTag, networkTag, NSNET_TAG } from '../../types/ownership';
import { ROUTED_HOST_END_PREFIX } from '../../types/routed-network';
import { dnatsFamily, exposedPorts, masqueradesFamily, portFamily, routedFamily, trustedInterfaces, unprotectedFamily } from '../gateway-modes';
import { onEveryAddress } from '../ports';

export type IpVersion = 4 | 6;
export type Table = 'raw' | 'nat' | 'filter';

/** A rule: table, chain and the arguments after `-A CHAIN` (or `-I CHAIN`, when `first`). */
export interface Rule {
  table: Table;
  chain: string;
  spec: string;
  /** Goes at the top of the chain, ahead of the rules of every network. */
  first?: boolean;
}

export const CHAINS: Record<Table, string[]> = {
  raw: ['NSNET-RAW'],
  nat: ['NSNET-DNAT', 'NSNET-POSTROUTING'],
  filter: ['NSNET-FORWARD', 'NSNET-INTO', 'NSNET-OUTOF', 'NSNET-INPUT'],
};

const comment = (owner: string) => `-m comment --comment ${owner}`;

/** nsnet's bridges' device group, as iptables-save prints it. */
const BRIDGE_GROUP = `0x${BRIDGE_LINK_GROUP.toString(16)}`;

/**
 * The jumps into nsnet's chains, and the fixed rules inside them, written in
 * the order iptables-save prints them, so that an installed rule is found.
 */
export function baseRules(version: IpVersion): Rule[] {
  const tag = comment(NSNET_TAG);
  const rules: Rule[] = [
    { table: 'raw', chain: 'PREROUTING', spec: `${tag} -j NSNET-RAW` },
    { table: 'nat', chain: 'PREROUTING', spec: `-m addrtype --dst-type LOCAL ${tag} -j NSNET-DNAT` },
    { table: 'nat', chain: 'OUTPUT', spec: `-m addrtype --dst-type LOCAL ${tag} -j NSNET-DNAT` },
    { table: 'nat', chain: 'POSTROUTING', spec: `${tag} -j NSNET-POSTROUTING` },
    { table: 'filter', chain: 'FORWARD', spec: `${tag} -j NSNET-FORWARD` },
    { table: 'filter', chain: 'NSNET-FORWARD', spec: `${tag} -j NSNET-INTO` },
    { table: 'filter', chain: 'NSNET-FORWARD', spec: `${tag} -j NSNET-OUTOF` },
    { table: 'filter', chain: 'INPUT', spec: `${tag} -j NSNET-INPUT` },
  ];
  // 127.0.0.1-published ports are for this host only.
  if (version === 4) rules.push({ table: 'raw', chain: 'NSNET-RAW', spec: `-d 127.0.0.0/8 ! -i lo ${tag} -j DROP` });
  return rules;
}

/** The interfaces of a network's containers: its bridge, or every host end of a routed network (`<prefix>+`). */
function networkInterfaces(network: NetworkRecord): string {
  return networkDriver(network) === 'routed' ? `${network.bridge}+` : network.bridge;
}

/** The rules of a network, for one IP version. */
export function networkRules(network: NetworkRecord, version: IpVersion): Rule[] {
  const subnet = version === 4 ? network.subnet : network.ipv6?.subnet;
  if (!subnet) return [];
  const br = networkInterfaces(network);
  const tag = comment(networkTag(network.name));
  const rules: Rule[] = [];
  const nat = (spec: string) => rules.push({ table: 'nat', chain: 'NSNET-POSTROUTING', spec: `${spec} ${tag}` });
  const into = (spec: string) => rules.push({ table: 'filter', chain: 'NSNET-INTO', spec: `${spec} ${tag}` });
  if (!network.internal) {
    if (version === 4) nat(`-o ${br} -s 127.0.0.0/8 -j MASQUERADE`); // this host through 127.0.0.1
    nat(`-s ${subnet} -o ${br} -m conntrack --ctstate DNAT -j MASQUERADE`); // hairpin
    if (masqueradesFamily(network, version)) nat(`-s ${subnet} ! -o ${br} -j MASQUERADE`);
  }
  // An internal network reaches no other network, published ports included:
  // ahead of every network's DNAT accept.
  if (network.internal) rules.push({ table: 'filter', chain: 'NSNET-FORWARD', spec: `-i ${br} ! -o ${br} -j DROP ${tag}`, first: true });
  // Same-bridge traffic reaches here only with br_netfilter on.
  into(`-i ${br} -o ${br} -j ${network.icc ? 'ACCEPT' : 'DROP'}`);
  if (network.internal) into(`-o ${br} -j DROP`);
  into(`-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  into(`-o ${br} -m conntrack --ctstate DNAT -j ACCEPT`);
  // nat-unprotected: any port, by the container's own address, but not from
  // other networks, whose bridges are in nsnet's device group (routed and
  // trusted interfaces: the endpoints' published ports, endpointRules).
  if (unprotectedFamily(network, version)) {
    // A routed network's host ends are in groups of their own, apart from the bridges': by their prefix.
    into(`-o ${br} -i ${ROUTED_HOST_END_PREFIX}+ -j DROP`);
    into(`-o ${br} -m devgroup ! --src-group ${BRIDGE_GROUP} -j ACCEPT`);
  }
  // routed: ICMP, all of it, as Docker.
  if (routedFamily(network, version)) into(`-o ${br} -p ${version === 4 ? 'icmp' : 'ipv6-icmp'} -j ACCEPT`);
  into(`-o ${br} -j DROP`);
  rules.push({ table: 'filter', chain: 'NSNET-OUTOF', spec: `-i ${br} -j ${network.internal ? 'DROP' : 'ACCEPT'} ${tag}` });
  if (network.internal) rules.push(...internalToHost(network, version, tag));
  return rules;
}

/**
 * An internal network reaches this host only for the resolver on its gateway
 * (an address of its bridge when it resolves names), and neighbour discovery.
 */
function internalToHost(network: NetworkRecord, version: IpVersion, tag: string): Rule[] {
  const br = networkInterfaces(network);
  const gateway = version === 4 ? network.gateway : network.ipv6?.gateway;
  const specs = [`-i ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`];
  if (resolvesNames(network) && gateway) {
    const host = version === 4 ? `${gateway}/32` : `${gateway}/128`;
    for (const protocol of ['udp', 'tcp']) specs.push(`-d ${host} -i ${br} -p ${protocol} -m ${protocol} --dport 53 -j ACCEPT`);
  }
  if (version === 6) for (const type of [135, 136]) specs.push(`-i ${br} -p ipv6-icmp -m icmp6 --icmpv6-type ${type} -j ACCEPT`);
  specs.push(`-i ${br} -j DROP`);
  return specs.map((spec) => ({ table: 'filter', chain: 'NSNET-INPUT', spec: `${spec} ${tag}` }));
}

/**
 * The rules of an endpoint's published ports, for one IP version: DNAT from
 * the host's addresses (but in a routed family), and where the gateway mode
 * or trusted interfaces let them be reached by the container's own address,
 * an accept ahead of its network's drop (not from its own bridge, which icc decides).
 */
export function endpointRules(network: NetworkRecord, endpoint: EndpointRecord, version: IpVersion): Rule[] {
  const tag = comment(endpointTag(endpoint.network, endpoint.id));
  const br = networkInterfaces(network);
  const exposed = exposedPorts(network, endpoint, version).flatMap(({ address, protocol, port }) => {
    const match = `-d ${address} -o ${br} -p ${protocol} -m ${protocol} --dport ${port}`;
    const from = routedFamily(network, version) ? [`! -i ${br}`] : trustedInterfaces(network).map((name) => `-i ${name}`);
    return from.map((source): Rule => ({ table: 'filter', chain: 'NSNET-INTO', spec: `${match} ${source} -j ACCEPT ${tag}`, first: true }));
  });
  const address = version === 4 ? endpoint.ipv4 : endpoint.ipv6;
  if (address === undefined || !dnatsFamily(network, version)) return exposed;
  const dnat = endpoint.ports
    .filter((port) => portFamily(port) === version)
    .map((port): Rule => {
      const wildcard = onEveryAddress(port.hostIp);
      const destination = version === 4 ? `${endpoint.ipv4}:${port.containerPort}` : `[${endpoint.ipv6}]:${port.containerPort}`;
      const match = `${wildcard ? '' : `-d ${port.hostIp} `}-p ${port.protocol} -m ${port.protocol} --dport ${port.hostPort}`;
      return { table: 'nat', chain: 'NSNET-DNAT', spec: `${match} -j DNAT --to-destination ${destination} ${tag}` };
    });
  return [...dnat, ...exposed];
}
