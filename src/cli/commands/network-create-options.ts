/** The flags of `nsnet network create`, as commander gives them. */
import type { FirewallBackend } from '../../types/network';
import type { LanCreateOptions } from './network-lan';

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
