/** `nsnet network create --driver routed`: the options of a routed network from the command line. */
import type { BridgeNetwork } from '../../network/network';
import type { RoutedNetworkOptions } from '../../types/routed-network';
import { UsageError } from '../output';
import type { CreateOptions } from './network-create-options';

/** Flags of a bridge network that mean nothing without a bridge (the gateway is link-local, 169.254.1.1). */
const BRIDGE_ONLY = [
  ['bridge', '--bridge'],
  ['gateway', '--gateway'],
  ['ipv6Gateway', '--ipv6-gateway'],
] as const;

/** Flags of other drivers, which a routed network does not take. */
function otherDrivers(options: CreateOptions): string[] {
  return [
    ['--ip-range', options.ipRange !== undefined],
    ['--aux-address', options.auxAddress.length > 0],
    ['--ipv4=false', options.ipv4 === false],
    ['--gateway-mode', [options.gatewayMode, options.gatewayModeIpv4, options.gatewayModeIpv6].some((mode) => mode !== undefined)],
    ['--trusted-host-interface', options.trustedHostInterface.length > 0],
    ['-o', options.opt.length > 0],
    ['--parent', options.parent !== undefined],
    ['--host-interface', options.hostInterface !== undefined],
  ].filter(([, given]) => given).map(([flag]) => flag as string);
}

export function routedNetworkOptions(name: string, options: CreateOptions): RoutedNetworkOptions {
  const given = BRIDGE_ONLY.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
  if (given.length) throw new UsageError(`${given.join(', ')}: a routed network has no bridge, and its gateway is link-local`);
  const others = otherDrivers(options);
  if (others.length) throw new UsageError(`${others.join(', ')}: options of other drivers, not routed`);
  const wanted: RoutedNetworkOptions = { name, masquerade: options.masquerade, icc: options.icc };
  if (options.subnet !== undefined) wanted.subnet = options.subnet;
  if (options.ipv6Subnet !== undefined) wanted.ipv6 = { subnet: options.ipv6Subnet };
  if (options.mtu !== undefined) wanted.mtu = options.mtu;
  if (options.internal) wanted.internal = true;
  if (options.hostIp !== undefined) wanted.hostIp = options.hostIp;
  if (options.firewall !== undefined) wanted.firewall = options.firewall;
  return wanted;
}

export async function createRoutedFromCli(name: string, options: CreateOptions): Promise<BridgeNetwork> {
  const { createRoutedNetwork } = await import('../../network/routed-network');
  return createRoutedNetwork(routedNetworkOptions(name, options));
}
