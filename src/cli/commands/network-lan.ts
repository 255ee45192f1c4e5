/**
 * `nsnet network create --driver macvlan|ipvlan`, as Docker's: `--parent`
 * (or `-o parent=`), `-o macvlan_mode=`, `-o ipvlan_mode=`, `-o ipvlan_flag=`;
 * and `--ip-range`, `--aux-address name=ip`, which every driver takes.
 */
import type { Network } from '../../network/network';
import type { IpvlanNetworkOptions, MacvlanNetworkOptions, NetworkDriver } from '../../types/network';
import { UsageError } from '../output';

export interface LanCreateOptions {
  driver: NetworkDriver;
  parent?: string;
  ipRange?: string;
  auxAddress: string[];
  opt: string[];
  hostInterface?: string;
  subnet?: string;
  gateway?: string;
  ipv6Subnet?: string;
  ipv6Gateway?: string;
  mtu?: number;
  internal?: boolean;
  bridge?: string;
  hostIp?: string;
  firewall?: string;
  masquerade: boolean;
  icc: boolean;
  // The bridge driver's, refused here.
  ipv4?: boolean;
  gatewayMode?: string;
  gatewayModeIpv4?: string;
  gatewayModeIpv6?: string;
  trustedHostInterface: string[];
}

/** `name=value`, as --aux-address, -o and --host-interface take it. */
function pair(text: string, what: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`${what} must be name=value: ${text}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** --ip-range and --aux-address, for any driver. */
export function addressingOptions(options: LanCreateOptions, driver: string): { ipRange?: string; auxAddresses?: Record<string, string> } {
  const wanted: { ipRange?: string; auxAddresses?: Record<string, string> } = {};
  if (options.ipRange !== undefined) wanted.ipRange = options.ipRange;
  if (options.auxAddress.length) wanted.auxAddresses = Object.fromEntries(options.auxAddress.map((text) => pair(text, '--aux-address')));
  // A bridge network's -o keys are its own (network-driver-opts.ts).
  if (driver === 'bridge' && (options.parent !== undefined || options.hostInterface !== undefined)) {
    throw new UsageError('--parent and --host-interface are options of the macvlan and ipvlan drivers');
  }
  return wanted;
}

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
