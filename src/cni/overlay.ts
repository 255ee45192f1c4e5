/**
 * An overlay network in a CNI config: nsnet's plugin entry with
 * `"driver": "overlay"`, `"store"` and `"subnet"` (the same on every host),
 * and optionally `"vni"`, `"vxlanPort"`, `"underlay"`, `"leaseTtl"`; the other
 * keys mean what they mean for a bridge network, less the bridge driver's own.
 */
import type { CniNetworkConfig } from '../types/cni-config';
import type { OverlayNetworkOptions, StoreOption } from '../types/overlay-network';
import { invalidConfig, unsupportedField } from './errors';

const OVERLAY_KEYS = ['store', 'vni', 'vxlanPort', 'underlay', 'leaseTtl'] as const;

/** The overlay keys in the config of another driver: refused, not ignored. */
export function refuseOverlayKeys(config: CniNetworkConfig): void {
  if (config.driver === 'overlay') return;
  const key = OVERLAY_KEYS.find((k) => config[k] !== undefined);
  if (key !== undefined) throw unsupportedField(key, `an option of the overlay driver ("driver": "overlay"), not ${config.driver ?? 'bridge'}`);
}

/** createOverlayNetwork's options from the config; the driver checks the values (INVALID_STORE for a bad store). */
export function overlayNetwork(config: CniNetworkConfig): OverlayNetworkOptions {
  for (const key of ['parent', 'master', 'mode', 'flag'] as const) {
    if (config[key] !== undefined) throw unsupportedField(key, 'an option of the macvlan and ipvlan drivers, not overlay');
  }
  for (const key of ['gatewayMode', 'trustedHostInterfaces'] as const) {
    if (config[key] !== undefined) throw unsupportedField(key, 'an option of the bridge driver, not overlay');
  }
  if (config.ipv4 === false) throw unsupportedField('ipv4', 'an overlay network needs IPv4');
  if (config.store === undefined) throw invalidConfig('store', 'an overlay network needs its etcd store');
  if (config.subnet === undefined) throw invalidConfig('subnet', 'an overlay network needs its subnet, the same on every host');
  const options: OverlayNetworkOptions = { name: config.name, subnet: config.subnet, store: config.store as StoreOption };
  if (config.gateway !== undefined) options.gateway = config.gateway;
  if (config.ipv6Subnet !== undefined) options.ipv6 = { subnet: config.ipv6Subnet };
  if (config.bridge !== undefined) options.bridge = config.bridge;
  if (config.mtu !== undefined) options.mtu = config.mtu;
  if (config.ipMasq !== undefined) options.masquerade = config.ipMasq;
  if (config.icc !== undefined) options.icc = config.icc;
  if (config.internal !== undefined) options.internal = config.internal;
  if (config.hostIp !== undefined) options.hostIp = config.hostIp;
  if (config.firewall !== undefined) options.firewall = config.firewall;
  if (config.ipRange !== undefined) options.ipRange = config.ipRange;
  if (config.auxAddresses !== undefined) options.auxAddresses = config.auxAddresses;
  if (config.vni !== undefined) options.vni = config.vni;
  if (config.vxlanPort !== undefined) options.port = config.vxlanPort;
  if (config.underlay !== undefined) options.underlay = config.underlay;
  if (config.leaseTtl !== undefined) options.leaseTtl = config.leaseTtl;
  return options;
}
