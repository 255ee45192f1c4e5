/** The flags of `nsnet network create`, as commander gives them. */
import type { FirewallBackend, NetworkDriver } from '../../types/network';
import { UsageError } from '../output';

/** The flags of a macvlan or ipvlan network (and the addressing flags every driver takes). */
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

export interface CreateOptions extends LanCreateOptions {
  bridge?: string;
  subnet?: string;
  gateway?: string;
  ipv6Subnet?: string;
  ipv6Gateway?: string;
  mtu?: number;
  masquerade: boolean;
  icc: boolean;
  internal?: boolean;
  hostIp?: string;
  firewall?: FirewallBackend;
  disableDns?: boolean;
  opt: string[];
  json?: boolean;
}

/** `name=value`, as --aux-address, -o and --host-interface take it. */
export function pair(text: string, what: string): [string, string] {
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
