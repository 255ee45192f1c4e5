/**
 * A routed network in a CNI config: nsnet's plugin entry with
 * `"driver": "routed"` (one plugin type, `nsnet-cni`, for every driver; the
 * other keys mean what they mean for a bridge network, less the bridge's).
 */
import type { CniNetworkConfig } from '../types/cni-config';
import type { BridgeNetworkOptions, NetworkDriver } from '../types/network';
import type { RoutedNetworkOptions } from '../types/routed-network';
import { unsupportedField } from './errors';

/** The driver of a config that is no macvlan or ipvlan one (config.ts reads those); a routed network takes no bridge or gateway. */
export function checkDriver(config: CniNetworkConfig): NetworkDriver {
  const driver = config.driver ?? 'bridge';
  if (driver === 'routed') {
    for (const key of ['bridge', 'gateway'] as const) {
      if (config[key] !== undefined) throw unsupportedField(key, 'a routed network has no bridge, and its gateway is link-local (169.254.1.1)');
    }
    for (const key of ['gatewayMode', 'trustedHostInterfaces', 'ipv4', 'ipRange', 'auxAddresses'] as const) {
      if (config[key] !== undefined) throw unsupportedField(key, 'an option of the bridge, macvlan and ipvlan drivers, not routed');
    }
  }
  return driver;
}

/** The options of a routed network from those the config gives (no bridge, no gateway: checkDriver refused them). */
export function routedNetworkOptions(options: BridgeNetworkOptions): RoutedNetworkOptions {
  const { bridge: _bridge, gateway: _gateway, ipv6, dns: _dns, pool: _pool, ...rest } = options;
  return { ...rest, ...(ipv6 ? { ipv6: { subnet: ipv6.subnet } } : {}) };
}
