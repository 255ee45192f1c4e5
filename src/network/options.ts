/** createBridgeNetwork options: checked (the schema in types/network.ts, then what it cannot say), with defaults. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

import { invalid } from '../errors';
import { specialRange } from '../ipam/special-ranges';
import { Subnet } from '../ipam/subnet';
import { canonicalAddress, ipFamily, isIPv6 } from '../types/ip';
import { type BridgeNetworkOptions, BridgeNetworkOptionsSchema, namesByDefault, type NetworkRecord, networkDriver, resolvesNames } from '../types/network';
import { describeProblem, Validator } from '../types/schema';
import { checkNewInterfaceName } from '../validate';

export const DEFAULT_MTU = 1500;

const networkOptions = new Validator(BridgeNetworkOptionsSchema);

export { checkNetworkName } from '../types/network';

/** Names that stand for a container mode (setupContainer's `network`), so a network of that name could not be asked for. */
const MODE_NAMES = new Set(['host', 'none']);

/** The bridge device a network gets when none is named. */
export function defaultBridgeName(network: string): string {
  const readable = `nsbr-${network}`;
  if (Buffer.byteLength(readable) <= 15) return readable;
  return `nsbr-${createHash('sha256').update(network).digest('hex').slice(0, 10)}`;
}

/** The gateway of a subnet: given (inside it, not its network address), or the first host. */
function checkGateway(subnet: Subnet, gateway: string | undefined, what: string): string {
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
};

export function checkNetworkOptions(given: BridgeNetworkOptions): CheckedOptions {
  const options = networkOptions.valid(given, (problem) => invalid(describeProblem(problem, 'network option')));
  if (MODE_NAMES.has(options.name)) throw invalid(`network name "${options.name}" is a container mode (network: '${options.name}'), not a network`);
  const checked: CheckedOptions = {
    name: options.name,
    bridge: options.bridge === undefined ? defaultBridgeName(options.name) : checkBridgeName(options.bridge),
    mtu: options.mtu ?? DEFAULT_MTU,
    masquerade: options.masquerade ?? true,
    icc: options.icc ?? true,
    internal: options.internal ?? false,
    hostIp: options.hostIp === undefined ? '0.0.0.0' : checkHostIp(options.hostIp),
    firewall: options.firewall ?? 'auto',
  };
  checked.dns = options.dns ?? namesByDefault(options.name);
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
  if (isIPv6(checked.hostIp) && !checked.ipv6) {
    throw invalid(`hostIp ${checked.hostIp} is IPv6: the network needs an ipv6 subnet to publish on it`);
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
  const fields: (keyof CheckedOptions)[] = ['bridge', 'mtu', 'masquerade', 'icc', 'internal', 'hostIp', 'firewall'];
  const differing: string[] = fields.filter((field) => record[field] !== wanted[field]);
  if (networkDriver(record) !== networkDriver(wanted)) differing.unshift('driver');
  if (wanted.subnet !== undefined && (wanted.subnet !== record.subnet || wanted.gateway !== record.gateway)) {
    differing.push('subnet');
  }
  if (JSON.stringify(wanted.ipv6) !== JSON.stringify(record.ipv6)) differing.push('ipv6');
  // A record older than name resolution has no dns field: it resolves as its name says.
  if (resolvesNames(record) !== resolvesNames(wanted)) differing.push('dns');
  return differing;
}
