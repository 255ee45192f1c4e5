/** createBridgeNetwork options: checked (the schema in types/network.ts, then what it cannot say), with defaults. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

import { invalid, NsnetError } from '../errors';
import { specialRange } from '../ipam/special-ranges';
import { Subnet } from '../ipam/subnet';
import { canonicalAddress, ipFamily, isIPv6 } from '../types/ip';
import { type BridgeNetworkOptions, BridgeNetworkOptionsSchema, ipv4Of, namesByDefault, networkDriver, type NetworkRecord, resolvesNames } from '../types/network';
import { describeProblem, Validator } from '../types/schema';
import { checkNewInterfaceName } from '../validate';
import { checkGatewayOptions } from './gateway-options';

export const DEFAULT_MTU = 1500;

const networkOptions = new Validator(BridgeNetworkOptionsSchema);

export { checkNetworkName } from '../types/network';

/** Names that stand for a container mode (setupContainer's `network`), so a network of that name could not be asked for. */
const MODE_NAMES = new Set(['host', 'none']);

/**
 * A warm pool's namespaces are prepared with a veth on the network's bridge:
 * a network of another driver given `pool` is NOT_SUPPORTED_BY_DRIVER, as
 * its `pool()` is, rather than an unknown option.
 */
export function refusePool(driver: string, given: unknown): void {
  if (given !== null && typeof given === 'object' && (given as { pool?: unknown }).pool !== undefined) {
    throw new NsnetError('NOT_SUPPORTED_BY_DRIVER', `a ${driver} network has no warm pool: a warm pool is for bridge networks`, { driver });
  }
}

/** The bridge device a network gets when none is named. */
export function defaultBridgeName(network: string): string {
  return networkLinkName('nsbr-', network);
}

/** A link named after a network: `<prefix><name>`, or a hash of a name too long for an interface. */
export function networkLinkName(prefix: string, network: string): string {
  const readable = `${prefix}${network}`;
  if (Buffer.byteLength(readable) <= 15) return readable;
  return `${prefix}${createHash('sha256').update(network).digest('hex').slice(0, 10)}`;
}

/** The gateway of a subnet: given (inside it, not its network address), or the first host. */
export function checkGateway(subnet: Subnet, gateway: string | undefined, what: string): string {
  if (gateway === undefined) return subnet.firstHost;
  if (isIP(gateway) !== subnet.family || !subnet.contains(gateway)) {
    throw invalid(`${what} must be an address inside ${subnet.cidr}, got ${gateway}`);
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
  /** false: IPv6 only (no IPv4 subnet is picked); not stored, a record without subnet says it. */
  ipv4: boolean;
};

export function checkNetworkOptions(given: BridgeNetworkOptions): CheckedOptions {
  const options = networkOptions.valid(given, (problem) => invalid(describeProblem(problem, 'network option')));
  refuseModeName(options.name);
  const gateway = checkGatewayOptions({ ...options, internal: options.internal ?? false });
  const checked: CheckedOptions = {
    name: options.name,
    ipv4: gateway.ipv4,
    bridge: options.bridge === undefined ? defaultBridgeName(options.name) : checkBridgeName(options.bridge),
    mtu: options.mtu ?? DEFAULT_MTU,
    masquerade: options.masquerade ?? true,
    icc: options.icc ?? true,
    internal: options.internal ?? false,
    hostIp: options.hostIp === undefined ? (gateway.ipv4 ? '0.0.0.0' : '::') : checkHostIp(options.hostIp),
    firewall: options.firewall ?? 'auto',
  };
  if (gateway.gatewayMode) checked.gatewayMode = gateway.gatewayMode;
  if (gateway.trustedHostInterfaces) checked.trustedHostInterfaces = gateway.trustedHostInterfaces;
  checked.dns = options.dns ?? (gateway.namesPossible && namesByDefault(options.name));
  Object.assign(checked, checkSubnets(options));
  Object.assign(checked, checkAddressing(options, checked.subnet, checked.gateway, checked.ipv6));
  if (isIPv6(checked.hostIp) && !checked.ipv6) {
    throw invalid(`hostIp ${checked.hostIp} is IPv6: the network needs an ipv6 subnet to publish on it`);
  }
  if (!isIPv6(checked.hostIp) && !checked.ipv4) throw invalid(`hostIp ${checked.hostIp} is IPv4: the network is IPv6-only (ipv4: false)`);
  return checked;
}

/** Docker's --ip-range and --aux-address: the range a prefix of the IPv4 subnet, each aux address a usable one of a subnet, not a gateway. */
export function checkAddressing(
  options: { ipRange?: string; auxAddresses?: Record<string, string> },
  subnet: string | undefined,
  gateway: string | undefined,
  ipv6: { subnet: string; gateway: string } | undefined,
): Pick<NetworkRecord, 'ipRange' | 'auxAddresses'> {
  const checked: Pick<NetworkRecord, 'ipRange' | 'auxAddresses'> = {};
  if (options.ipRange !== undefined) {
    if (subnet === undefined) throw invalid('an ipRange needs the subnet it belongs to');
    const range = Subnet.parse(options.ipRange, 'ipRange');
    const within = Subnet.parse(subnet);
    if (range.family !== 4 || !within.overlaps(range) || range.prefixLength < within.prefixLength) {
      throw invalid(`ipRange ${options.ipRange} must be a prefix inside the subnet ${subnet}`);
    }
    checked.ipRange = range.cidr;
  }
  const aux = Object.entries(options.auxAddresses ?? {});
  if (aux.length) {
    const auxAddresses: Record<string, string> = {};
    for (const [name, address] of aux) {
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(name)) throw invalid(`an aux address's name must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}: ${name}`);
      const family = ipFamily(address, `aux address ${name}`);
      const cidr = family === 4 ? subnet : ipv6?.subnet;
      if (cidr === undefined) throw invalid(`aux address ${name} (${address}) needs a subnet of its family`);
      const canonical = checkGateway(Subnet.parse(cidr), address, `aux address ${name}`);
      if (canonical === gateway || canonical === ipv6?.gateway) throw invalid(`aux address ${name} (${canonical}) is the gateway`);
      auxAddresses[name] = canonical;
    }
    checked.auxAddresses = auxAddresses;
  }
  return checked;
}

/** A network may not be named as a container mode: setupContainer could not ask for it. */
export function refuseModeName(name: string): void {
  if (MODE_NAMES.has(name)) throw invalid(`network name "${name}" is a container mode (network: '${name}'), not a network`);
}

/** The subnets and gateways asked for, checked and canonical; the IPv4 gateway is the first host when not given. */
export function checkSubnets(options: { subnet?: string; gateway?: string; ipv6?: { subnet: string; gateway?: string } }): Pick<CheckedOptions, 'subnet' | 'gateway' | 'ipv6'> {
  const checked: Pick<CheckedOptions, 'subnet' | 'gateway' | 'ipv6'> = {};
  if (options.subnet !== undefined) {
    const subnet = Subnet.parse(options.subnet, 'subnet');
    if (subnet.family !== 4) throw invalid(`subnet must be IPv4 (IPv6 goes in ipv6.subnet): ${options.subnet}`);
    if (subnet.prefixLength > 30) throw invalid(`subnet ${options.subnet} is too small: /30 at most`);
    refuseSpecialRange(subnet, 'subnet');
    checked.subnet = subnet.cidr;
    checked.gateway = checkGateway(subnet, options.gateway, 'gateway');
  } else if (options.gateway !== undefined) {
    throw invalid('a gateway needs the subnet it belongs to');
  }
  if (options.ipv6 !== undefined) {
    const subnet = Subnet.parse(options.ipv6.subnet, 'ipv6.subnet');
    if (subnet.family !== 6) throw invalid(`ipv6.subnet must be IPv6: ${options.ipv6.subnet}`);
    if (subnet.prefixLength > 120) throw invalid(`ipv6.subnet ${options.ipv6.subnet} is too small: /120 at most`);
    refuseSpecialRange(subnet, 'ipv6.subnet');
    checked.ipv6 = { subnet: subnet.cidr, gateway: checkGateway(subnet, options.ipv6.gateway, 'ipv6.gateway') };
  }
  return checked;
}

function refuseSpecialRange(subnet: Subnet, what: string): void {
  const why = specialRange(subnet);
  if (why) throw invalid(`${what} ${subnet.cidr} is not usable for a network: it overlaps ${why}`);
}

/** A bridge name goes into firewall rules: letters, digits, '_', '.' and '-' only. */
function checkBridgeName(bridge: string): string {
  const name = checkNewInterfaceName(bridge, 'bridge name');
  if (!/^[a-zA-Z0-9_.-]+$/.test(name)) throw invalid(`bridge name may hold only letters, digits, '_', '.' and '-': ${name}`);
  return name;
}

function checkHostIp(hostIp: string): string {
  ipFamily(hostIp, 'hostIp');
  const canonical = canonicalAddress(hostIp);
  // IPv6 has no route_localnet: the kernel will not route ::1 to a container.
  if (canonical === '::1') throw invalid('hostIp cannot be ::1; use 127.0.0.1');
  return canonical;
}

/** The fields on which an existing network and a new request must agree. */
export function differences(record: NetworkRecord, wanted: CheckedOptions): string[] {
  const fields: (keyof CheckedOptions & keyof NetworkRecord)[] = ['bridge', 'mtu', 'masquerade', 'icc', 'internal', 'hostIp', 'firewall'];
  const differing: string[] = fields.filter((field) => record[field] !== wanted[field]);
  if ((ipv4Of(record) !== undefined) !== wanted.ipv4) differing.push('ipv4');
  if (JSON.stringify(record.gatewayMode) !== JSON.stringify(wanted.gatewayMode)) differing.push('gatewayMode');
  if (JSON.stringify(record.trustedHostInterfaces) !== JSON.stringify(wanted.trustedHostInterfaces)) differing.push('trustedHostInterfaces');
  if (networkDriver(record) !== networkDriver(wanted)) differing.unshift('driver');
  if (wanted.subnet !== undefined && (wanted.subnet !== record.subnet || wanted.gateway !== record.gateway)) {
    differing.push('subnet');
  }
  if (JSON.stringify(wanted.ipv6) !== JSON.stringify(record.ipv6)) differing.push('ipv6');
  differing.push(...addressingDifferences(record, wanted));
  // A record older than name resolution has no dns field: it resolves as its name says.
  if (resolvesNames(record) !== resolvesNames(wanted)) differing.push('dns');
  return differing;
}

/** The ip range and aux addresses of an existing network and a new request, where they differ. */
export function addressingDifferences(record: Pick<NetworkRecord, 'ipRange' | 'auxAddresses'>, wanted: Pick<NetworkRecord, 'ipRange' | 'auxAddresses'>): string[] {
  const differing: string[] = [];
  if (record.ipRange !== wanted.ipRange) differing.push('ipRange');
  const sorted = (aux: Record<string, string> | undefined) => JSON.stringify(Object.entries(aux ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (sorted(record.auxAddresses) !== sorted(wanted.auxAddresses)) differing.push('auxAddresses');
  return differing;
}
