/**
 * createBridgeNetwork's gateway modes, trusted host interfaces and
 * `ipv4: false`, checked against the rest of the options: what Docker 28
 * refuses is refused here, before anything is made.
 */
import { invalid } from '../errors';
import { gatewayMode, type GatewayModeOption, type GatewayModes, gatewayModesOf } from '../types/gateway-mode';
import { checkInterfaceName } from '../validate';

export interface GatewayInput {
  gatewayMode?: GatewayModeOption;
  trustedHostInterfaces?: string[];
  ipv4?: boolean;
  ipv6?: unknown;
  subnet?: string;
  gateway?: string;
  internal: boolean;
  dns?: boolean;
}

export interface CheckedGateway {
  gatewayMode?: GatewayModes;
  trustedHostInterfaces?: string[];
  /** false: IPv6 only. */
  ipv4: boolean;
  /**
   * Whether the network may resolve names: the resolver listens on the IPv4
   * gateway, which an IPv6-only network and an IPv4-isolated one do not have.
   */
  namesPossible: boolean;
}

export function checkGatewayOptions(given: GatewayInput): CheckedGateway {
  const ipv4 = given.ipv4 ?? true;
  if (!ipv4) {
    if (given.ipv6 === undefined) throw invalid('ipv4: false needs an ipv6 subnet: a network has at least one address family');
    if (given.subnet !== undefined || given.gateway !== undefined) throw invalid('ipv4: false takes no IPv4 subnet or gateway');
  }
  const checked: CheckedGateway = { ipv4, namesPossible: ipv4 };
  const modes = gatewayModesOf(given.gatewayMode);
  if (modes) checked.gatewayMode = modes;
  for (const family of [4, 6] as const) {
    if (gatewayMode(checked, family) === 'isolated' && !given.internal) {
      throw invalid(`gateway mode isolated (IPv${family}) needs an internal network (internal: true)`);
    }
  }
  if (gatewayMode(checked, 4) === 'isolated') checked.namesPossible = false;
  if (given.dns === true && !checked.namesPossible) {
    const why = ipv4 ? 'its IPv4 gateway mode is isolated (no address on the bridge)' : 'it is IPv6-only';
    throw invalid(`dns: true is not possible on this network: the resolver listens on the IPv4 gateway, and ${why}`);
  }
  if (given.trustedHostInterfaces?.length) checked.trustedHostInterfaces = checkTrusted(given.trustedHostInterfaces);
  return checked;
}

/** Names that go into firewall rules; each once. */
function checkTrusted(names: string[]): string[] {
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    checkInterfaceName(name, `trustedHostInterfaces[${i}]`);
    if (!/^[a-zA-Z0-9_.-]+$/.test(name)) throw invalid(`trustedHostInterfaces[${i}] may hold only letters, digits, '_', '.' and '-': ${name}`);
    if (seen.has(name)) throw invalid(`trustedHostInterfaces names ${name} twice`);
    seen.add(name);
  }
  return [...seen];
}
