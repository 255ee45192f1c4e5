/**
 * `nsnet network create --opt KEY=VALUE`: Docker's bridge driver options
 * (`docker network create -o`), as the options of createBridgeNetwork they
 * stand for. A key nsnet does not know is refused, not ignored.
 */
import { invalid } from '../../errors';
import { GATEWAY_MODES, type GatewayMode } from '../../types/gateway-mode';
import type { BridgeNetworkOptions } from '../../types/network';

const BRIDGE = 'com.docker.network.bridge.';

function bool(key: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(`--opt ${key} must be true or false, got "${value}"`);
}

function mode(what: string, value: string): GatewayMode {
  if ((GATEWAY_MODES as readonly string[]).includes(value)) return value as GatewayMode;
  throw invalid(`${what} must be one of ${GATEWAY_MODES.join(', ')}, got "${value}"`);
}

/** What each key sets. */
const KEYS: Record<string, (wanted: BridgeNetworkOptions, value: string, key: string) => void> = {
  [`${BRIDGE}name`]: (wanted, value) => (wanted.bridge = value),
  [`${BRIDGE}enable_icc`]: (wanted, value, key) => (wanted.icc = bool(key, value)),
  [`${BRIDGE}enable_ip_masquerade`]: (wanted, value, key) => (wanted.masquerade = bool(key, value)),
  [`${BRIDGE}host_binding_ipv4`]: (wanted, value) => (wanted.hostIp = value),
  [`${BRIDGE}gateway_mode_ipv4`]: (wanted, value, key) => (wanted.gatewayMode = { ...familyModes(wanted), ipv4: mode(`--opt ${key}`, value) }),
  [`${BRIDGE}gateway_mode_ipv6`]: (wanted, value, key) => (wanted.gatewayMode = { ...familyModes(wanted), ipv6: mode(`--opt ${key}`, value) }),
  // Colon-separated, as Docker 28.2 has it.
  [`${BRIDGE}trusted_host_interfaces`]: (wanted, value) => (wanted.trustedHostInterfaces = value.split(':').filter(Boolean)),
  'com.docker.network.driver.mtu': (wanted, value, key) => {
    if (!/^\d+$/.test(value)) throw invalid(`--opt ${key} must be a whole number, got "${value}"`);
    wanted.mtu = Number(value);
  },
};

function familyModes(wanted: BridgeNetworkOptions): { ipv4?: GatewayMode; ipv6?: GatewayMode } {
  const given = wanted.gatewayMode;
  return typeof given === 'string' ? { ipv4: given, ipv6: given } : { ...given };
}

/** Applies `KEY=VALUE` pairs to `wanted`, in order (a later one wins). */
export function applyDriverOpts(wanted: BridgeNetworkOptions, opts: string[]): void {
  for (const opt of opts) {
    const equals = opt.indexOf('=');
    if (equals < 1) throw invalid(`--opt takes KEY=VALUE, got "${opt}"`);
    const key = opt.slice(0, equals);
    const apply = KEYS[key];
    if (!apply) throw invalid(`--opt ${key} is not an option nsnet knows; it knows ${Object.keys(KEYS).join(', ')}`);
    apply(wanted, opt.slice(equals + 1), key);
  }
}

/** The flags --gateway-mode (both families), --gateway-mode-ipv4 and --gateway-mode-ipv6, after any --opt. */
export function applyGatewayFlags(wanted: BridgeNetworkOptions, flags: { gatewayMode?: string; gatewayModeIpv4?: string; gatewayModeIpv6?: string }): void {
  const modes = familyModes(wanted);
  if (flags.gatewayMode !== undefined) modes.ipv4 = modes.ipv6 = mode('--gateway-mode', flags.gatewayMode);
  if (flags.gatewayModeIpv4 !== undefined) modes.ipv4 = mode('--gateway-mode-ipv4', flags.gatewayModeIpv4);
  if (flags.gatewayModeIpv6 !== undefined) modes.ipv6 = mode('--gateway-mode-ipv6', flags.gatewayModeIpv6);
  if (modes.ipv4 !== undefined || modes.ipv6 !== undefined) wanted.gatewayMode = modes;
}
