/** The flags of `nsnet network create`, as commander gives them. */
import type { FirewallBackend, NetworkDriver } from '../../types/network';

export interface CreateOptions {
  driver?: NetworkDriver;
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
  json?: boolean;
}
