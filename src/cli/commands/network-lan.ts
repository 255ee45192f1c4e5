/**
 * `nsnet network create --driver macvlan|ipvlan`, as Docker's: `--parent`
 * (or `-o parent=`), `-o macvlan_mode=`, `-o ipvlan_mode=`, `-o ipvlan_flag=`;
 * and `--ip-range`, `--aux-address name=ip`, which every driver takes.
 */
import type { Network } from '../../network/network';
import type { IpvlanNetworkOptions, MacvlanNetworkOptions } from '../../types/network';
import { UsageError } from '../output';
import { addressingOptions, type LanCreateOptions, pair } from './network-create-options';

/** The -o keys each driver takes, and the option each sets. */
const DRIVER_OPTS: Record<'macvlan' | 'ipvlan', Record<string, 'parent' | 'mode' | 'flag'>> = {
  macvlan: { parent: 'parent', macvlan_mode: 'mode' },
  ipvlan: { parent: 'parent', ipvlan_mode: 'mode', ipvlan_flag: 'flag' },
};

function lanOptions(name: string, driver: 'macvlan' | 'ipvlan', options: LanCreateOptions): MacvlanNetworkOptions & IpvlanNetworkOptions {
  const bridgeOnly = [
    ['--bridge', options.bridge !== undefined],
    ['--host-ip', options.hostIp !== undefined],
    ['--firewall', options.firewall !== undefined],
    ['--no-masquerade', !options.masquerade],
    ['--no-icc', !options.icc],
    ['--ipv4=false', options.ipv4 === false],
    ['--gateway-mode', [options.gatewayMode, options.gatewayModeIpv4, options.gatewayModeIpv6].some((mode) => mode !== undefined)],
    ['--trusted-host-interface', options.trustedHostInterface.length > 0],
  ].filter(([, given]) => given);
  if (bridgeOnly.length) throw new UsageError(`${bridgeOnly.map(([flag]) => flag).join(', ')}: options of the bridge driver, not ${driver}`);
  if (options.subnet === undefined) throw new UsageError(`a ${driver} network needs --subnet (its LAN's)`);
  const wanted: Record<string, unknown> = { name, subnet: options.subnet, ...addressingOptions(options, driver) };
  if (options.parent !== undefined) wanted.parent = options.parent;
  for (const text of options.opt) {
    const [key, value] = pair(text, '-o');
    const field = DRIVER_OPTS[driver][key];
    if (!field) throw new UsageError(`-o ${key}: the ${driver} driver takes ${Object.keys(DRIVER_OPTS[driver]).join(', ')}`);
    if (field === 'parent' && wanted.parent !== undefined && wanted.parent !== value) throw new UsageError(`two parents: ${String(wanted.parent)} and ${value}`);
    wanted[field] = value;
  }
  if (options.gateway !== undefined) wanted.gateway = options.gateway;
  if (options.ipv6Subnet !== undefined || options.ipv6Gateway !== undefined) {
    wanted.ipv6 = { subnet: options.ipv6Subnet, ...(options.ipv6Gateway === undefined ? {} : { gateway: options.ipv6Gateway }) };
  }
  if (options.mtu !== undefined) wanted.mtu = options.mtu;
  if (options.internal) wanted.internal = true;
  if (options.hostInterface !== undefined) {
    const [interfaceName, address] = pair(options.hostInterface, '--host-interface');
    wanted.hostInterface = { name: interfaceName, address };
  }
  // The library checks the rest (modes, addresses), with its own codes.
  return wanted as unknown as MacvlanNetworkOptions & IpvlanNetworkOptions;
}

export async function createLanNetwork(name: string, options: LanCreateOptions): Promise<Network> {
  const driver = options.driver as 'macvlan' | 'ipvlan';
  const wanted = lanOptions(name, driver, options);
  const { createMacvlanNetwork, createIpvlanNetwork } = await import('../../network/network');
  return driver === 'macvlan' ? createMacvlanNetwork(wanted) : createIpvlanNetwork(wanted);
}
