/** createBridgeNetwork options: checked, with defaults, and the stored record. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

import { invalid } from '../errors';
import type { ActiveFirewall } from '../firewall/firewall';
import { ipFamily } from '../ip';
import { Subnet, toNumber, toText } from '../ipam/subnet';
import { checkInterfaceName, checkMtu, checkOneOf } from '../validate';

export const FIREWALL_BACKENDS = ['auto', 'nftables', 'iptables', 'none'] as const;
export type FirewallBackend = (typeof FIREWALL_BACKENDS)[number];

export interface BridgeNetworkOptions {
  /** [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63} */
  name: string;
  /** Bridge device; `nsbr-<name>` (or a hash of a long name) when omitted. */
  bridge?: string;
  /** IPv4 subnet; else the first free /24 of 10.89.0.0/16. */
  subnet?: string;
  /** Defaults to the first host address of the subnet. */
  gateway?: string;
  ipv6?: { subnet: string; gateway?: string };
  mtu?: number;
  masquerade?: boolean;
  icc?: boolean;
  internal?: boolean;
  /** Default host address of published ports. */
  hostIp?: string;
  firewall?: FirewallBackend;
}

/** What is stored for a network, and what compares equal on re-creation. */
export interface NetworkRecord {
  name: string;
  bridge: string;
  /** The bridge's pinned MAC address (locally administered, random). */
  bridgeMac: string;
  subnet: string;
  gateway: string;
  /** The subnet was picked by nsnet, not asked for. */
  subnetAuto: boolean;
  ipv6?: { subnet: string; gateway: string };
  mtu: number;
  masquerade: boolean;
  icc: boolean;
  internal: boolean;
  hostIp: string;
  firewall: FirewallBackend;
  /** The backend in use, resolved from `firewall` when the network was made. */
  activeFirewall: ActiveFirewall;
  created: string;
}

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
export const DEFAULT_MTU = 1500;

export function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || !NETWORK_NAME.test(name)) {
    throw invalid(`network name must match ${NETWORK_NAME.source}: ${String(name)}`);
  }
  return name;
}

/** The bridge device a network gets when none is named. */
export function defaultBridgeName(network: string): string {
  const readable = `nsbr-${network}`;
  if (Buffer.byteLength(readable) <= 15) return readable;
  return `nsbr-${createHash('sha256').update(network).digest('hex').slice(0, 10)}`;
}

function checkBoolean(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(`${what} must be true or false, got ${String(value)}`);
  return value;
}

/** The gateway of a subnet: given (inside it, not its network address), or the first host. */
function checkGateway(subnet: Subnet, gateway: unknown, what: string): string {
  if (gateway === undefined) return subnet.firstHost;
  if (typeof gateway !== 'string' || isIP(gateway) !== subnet.family || !subnet.contains(gateway)) {
    throw invalid(`${what} must be an address inside ${subnet.cidr}, got ${String(gateway)}`);
  }
  const offset = subnet.offsetOf(gateway);
  const { first, last } = subnet.usableRange;
  if (offset < first || offset > last) throw invalid(`${what} ${gateway} is not a usable address of ${subnet.cidr}`);
  return subnet.address(offset);
}

/** Options checked and completed, except the subnet when it is to be picked. */
export type CheckedOptions = Omit<NetworkRecord, 'bridgeMac' | 'subnet' | 'gateway' | 'subnetAuto' | 'created' | 'activeFirewall'> & {
  subnet?: string;
  gateway?: string;
};

export function checkNetworkOptions(options: BridgeNetworkOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) throw invalid('network options must be an object');
  const known = new Set(['name', 'bridge', 'subnet', 'gateway', 'ipv6', 'mtu', 'masquerade', 'icc', 'internal', 'hostIp', 'firewall']);
  const unknown = Object.keys(options).filter((key) => !known.has(key));
  if (unknown.length) throw invalid(`unknown network option ${unknown.join(', ')}`);
  const name = checkNetworkName(options.name);
  const checked: CheckedOptions = {
    name,
    bridge: options.bridge === undefined ? defaultBridgeName(name) : checkBridgeName(options.bridge),
    mtu: options.mtu === undefined ? DEFAULT_MTU : checkMtu(options.mtu),
    masquerade: checkBoolean(options.masquerade, 'masquerade', true),
    icc: checkBoolean(options.icc, 'icc', true),
    internal: checkBoolean(options.internal, 'internal', false),
    hostIp: options.hostIp === undefined ? '0.0.0.0' : checkHostIp(options.hostIp),
    firewall: checkOneOf(options.firewall ?? 'auto', FIREWALL_BACKENDS, 'firewall'),
  };
  if (options.subnet !== undefined) {
    const subnet = Subnet.parse(options.subnet, 'subnet');
    if (subnet.family !== 4) throw invalid(`subnet must be IPv4 (IPv6 goes in ipv6.subnet): ${options.subnet}`);
    if (subnet.prefixLength > 30) throw invalid(`subnet ${options.subnet} is too small: /30 at most`);
    checked.subnet = subnet.cidr;
    checked.gateway = checkGateway(subnet, options.gateway, 'gateway');
  } else if (options.gateway !== undefined) {
    throw invalid('a gateway needs the subnet it belongs to');
  }
  if (options.ipv6 !== undefined) {
    if (typeof options.ipv6 !== 'object' || options.ipv6 === null) throw invalid('ipv6 must be { subnet, gateway? }');
    const subnet = Subnet.parse(options.ipv6.subnet, 'ipv6.subnet');
    if (subnet.family !== 6) throw invalid(`ipv6.subnet must be IPv6: ${options.ipv6.subnet}`);
    if (subnet.prefixLength > 120) throw invalid(`ipv6.subnet ${options.ipv6.subnet} is too small: /120 at most`);
    checked.ipv6 = { subnet: subnet.cidr, gateway: checkGateway(subnet, options.ipv6.gateway, 'ipv6.gateway') };
  }
  if (checked.hostIp.includes(':') && !checked.ipv6) {
    throw invalid(`hostIp ${checked.hostIp} is IPv6: the network needs an ipv6 subnet to publish on it`);
  }
  return checked;
}

/** A bridge name goes into firewall rules: letters, digits, '_', '.' and '-' only. */
function checkBridgeName(bridge: unknown): string {
  const name = checkInterfaceName(bridge, 'bridge name');
  if (!/^[a-zA-Z0-9_.-]+$/.test(name)) throw invalid(`bridge name may hold only letters, digits, '_', '.' and '-': ${name}`);
  return name;
}

function checkHostIp(hostIp: unknown): string {
  const canonical = toText(ipFamily(hostIp, 'hostIp'), toNumber(hostIp as string));
  // IPv6 has no route_localnet: the kernel will not route ::1 to a container.
  if (canonical === '::1') throw invalid('hostIp cannot be ::1; use 127.0.0.1');
  return canonical;
}

/** The fields on which an existing network and a new request must agree. */
export function differences(record: NetworkRecord, wanted: CheckedOptions): string[] {
  const fields: (keyof CheckedOptions)[] = ['bridge', 'mtu', 'masquerade', 'icc', 'internal', 'hostIp', 'firewall'];
  const differing: string[] = fields.filter((field) => record[field] !== wanted[field]);
  if (wanted.subnet !== undefined && (wanted.subnet !== record.subnet || wanted.gateway !== record.gateway)) {
    differing.push('subnet');
  }
  if (JSON.stringify(wanted.ipv6) !== JSON.stringify(record.ipv6)) differing.push('ipv6');
  return differing;
}
