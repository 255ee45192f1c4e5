/** `nsnet network create --driver overlay`: the options of an overlay network from the command line. */
import type { BridgeNetwork } from '../../network/network';
import type { OverlayNetworkOptions } from '../../types/overlay-network';
import { UsageError } from '../output';
import { addressingOptions, type CreateOptions } from './network-create-options';

/** The flags only an overlay network takes. */
export interface OverlayCreateOptions {
  store?: string;
  vni?: number;
  underlay?: string;
  vxlanPort?: number;
  leaseTtl?: number;
}

/** Docker's overlay driver option for the VNI (one VNI: nsnet's overlay network has one subnet). */
const VXLANID_LIST = 'com.docker.network.driver.overlay.vxlanid_list';
const MTU = 'com.docker.network.driver.mtu';

/** Flags of other drivers, which an overlay network does not take. */
function otherDrivers(options: CreateOptions): string[] {
  return [
    ['--ipv4=false', options.ipv4 === false],
    ['--gateway-mode', [options.gatewayMode, options.gatewayModeIpv4, options.gatewayModeIpv6].some((mode) => mode !== undefined)],
    ['--trusted-host-interface', options.trustedHostInterface.length > 0],
    ['--parent', options.parent !== undefined],
    ['--host-interface', options.hostInterface !== undefined],
  ].filter(([, given]) => given).map(([flag]) => flag as string);
}

/** The VNI of `-o com.docker.network.driver.overlay.vxlanid_list=N` (and the MTU of `-o com.docker.network.driver.mtu=N`). */
function applyOverlayOpts(wanted: OverlayNetworkOptions, opts: string[]): void {
  for (const opt of opts) {
    const equals = opt.indexOf('=');
    const key = equals < 1 ? opt : opt.slice(0, equals);
    const value = opt.slice(equals + 1);
    if (key !== VXLANID_LIST && key !== MTU) throw new UsageError(`-o ${key} is no option of the overlay driver; it knows ${VXLANID_LIST}, ${MTU}`);
    if (equals < 1 || !/^\d+$/.test(value)) throw new UsageError(`-o takes KEY=NUMBER on an overlay network, got "${opt}"`);
    if (key === VXLANID_LIST) wanted.vni = Number(value);
    else wanted.mtu = Number(value);
  }
}

/** The overlay flags given to another driver: refused, not ignored. */
export function refuseOverlayFlags(options: CreateOptions & OverlayCreateOptions): void {
  if (options.driver === 'overlay') return;
  const given = ([['--store', options.store], ['--vni', options.vni], ['--underlay', options.underlay], ['--vxlan-port', options.vxlanPort], ['--lease-ttl', options.leaseTtl]] as const)
    .filter(([, value]) => value !== undefined)
    .map(([flag]) => flag);
  if (given.length) throw new UsageError(`${given.join(', ')}: options of the overlay driver, not ${options.driver}`);
}

export function overlayNetworkOptions(name: string, options: CreateOptions & OverlayCreateOptions): OverlayNetworkOptions {
  const others = otherDrivers(options);
  if (others.length) throw new UsageError(`${others.join(', ')}: options of other drivers, not overlay`);
  if (options.store === undefined) throw new UsageError('an overlay network needs --store URL (its etcd endpoints, comma-separated)');
  if (options.subnet === undefined) throw new UsageError('an overlay network needs --subnet: the same on every host');
  const wanted: OverlayNetworkOptions = { name, subnet: options.subnet, store: options.store, masquerade: options.masquerade, icc: options.icc, ...addressingOptions(options, 'overlay') };
  if (options.gateway !== undefined) wanted.gateway = options.gateway;
  if (options.ipv6Subnet !== undefined || options.ipv6Gateway !== undefined) {
    wanted.ipv6 = { subnet: options.ipv6Subnet as string };
    if (options.ipv6Gateway !== undefined) wanted.ipv6.gateway = options.ipv6Gateway;
  }
  if (options.bridge !== undefined) wanted.bridge = options.bridge;
  if (options.mtu !== undefined) wanted.mtu = options.mtu;
  if (options.internal) wanted.internal = true;
  if (options.disableDns) wanted.dns = false;
  if (options.hostIp !== undefined) wanted.hostIp = options.hostIp;
  if (options.firewall !== undefined) wanted.firewall = options.firewall;
  applyOverlayOpts(wanted, options.opt);
  if (options.vni !== undefined && wanted.vni !== undefined && wanted.vni !== options.vni) {
    throw new UsageError(`--vni ${options.vni} and -o ${VXLANID_LIST}=${wanted.vni} differ: give one`);
  }
  if (options.vni !== undefined) wanted.vni = options.vni;
  if (options.underlay !== undefined) wanted.underlay = options.underlay;
  if (options.vxlanPort !== undefined) wanted.port = options.vxlanPort;
  if (options.leaseTtl !== undefined) wanted.leaseTtl = options.leaseTtl;
  return wanted;
}

export async function createOverlayFromCli(name: string, options: CreateOptions & OverlayCreateOptions): Promise<BridgeNetwork> {
  const { createOverlayNetwork } = await import('../../network/overlay-network');
  return createOverlayNetwork(overlayNetworkOptions(name, options));
}
