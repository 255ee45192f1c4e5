/**
 * An overlay network in a CNI config: nsnet's plugin entry with
 * `"driver": "overlay"`, `"store"` and `"subnet"` (the same on every host),
 * and optionally `"vni"`, `"vxlanPort"`, `"underlay"`, `"leaseTtl"`; the other
 * keys mean what they mean for a bridge network, less the bridge driver's own.
 */
import type { CniNetworkConfig } from '../types/cni-config';
import type { BridgeNetworkOptions } from '../types/network';
import type { OverlayNetworkOptions, StoreOption } from '../types/overlay-network';
import { invalidConfig, unsupportedField } from './errors';

const OVERLAY_KEYS = ['store', 'vni', 'vxlanPort', 'underlay', 'leaseTtl'] as const;

/** The overlay keys in the config of another driver: refused, not ignored. */
export function refuseOverlayKeys(config: CniNetworkConfig): void {
  if (config.driver === 'overlay') return;
  const key = OVERLAY_KEYS.find((k) => config[k] !== undefined);
  if (key !== undefined) throw unsupportedField(key, `an option of the overlay driver ("driver": "overlay"), not ${config.driver ?? 'bridge'}`);
}

/**
 * createOverlayNetwork's options from the config and `common`, its keys read
 * as a bridge network's; the driver checks the values (INVALID_STORE for a
 * bad store).
 */
export function overlayNetwork(config: CniNetworkConfig, common: BridgeNetworkOptions): OverlayNetworkOptions {
  for (const key of ['gatewayMode', 'trustedHostInterfaces'] as const) {
    if (config[key] !== undefined) throw unsupportedField(key, 'an option of the bridge driver, not overlay');
  }
  if (config.ipv4 === false) throw unsupportedField('ipv4', 'an overlay network needs IPv4');
  if (config.store === undefined) throw invalidConfig('store', 'an overlay network needs its etcd store');
  if (config.subnet === undefined) throw invalidConfig('subnet', 'an overlay network needs its subnet, the same on every host');
  const { gatewayMode: _gatewayMode, trustedHostInterfaces: _trusted, ipv4: _ipv4, ...rest } = common;
  const options: OverlayNetworkOptions = { ...rest, subnet: config.subnet, store: config.store as StoreOption };
  if (config.vni !== undefined) options.vni = config.vni;
  if (config.vxlanPort !== undefined) options.port = config.vxlanPort;
  if (config.underlay !== undefined) options.underlay = config.underlay;
  if (config.leaseTtl !== undefined) options.leaseTtl = config.leaseTtl;
  return options;
}
