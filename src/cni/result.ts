/** The result of an ADD, as the reference bridge plugin shapes it, at the config's version. */
import { resolverAddresses } from '../types/dns';
import type { EndpointRecord } from '../types/endpoint';
import { isIPv6, parseCidr } from '../types/ip';
import { type NetworkRecord, networkDriver, resolvesNames } from '../types/network';
import type { DnsConfig } from './config';
import { compareVersions } from './versions';

interface CniInterface {
  name: string;
  mac: string;
  mtu?: number;
  sandbox?: string;
}
interface CniIp {
  version?: '4' | '6';
  interface?: number;
  address: string;
  gateway?: string;
}
interface CniRoute {
  dst: string;
  gw?: string;
}
/** What a result tells of an endpoint: its interfaces and addresses, and the path of its namespace. */
type ResultEndpoint = Pick<EndpointRecord, 'hostIfname' | 'hostMac' | 'ifname' | 'mac' | 'ipv4' | 'ipv6' | 'gateway' | 'gateway6'> & {
  /** A macvlan or ipvlan child: the result names only it, as the reference macvlan and ipvlan plugins' do. */
  link?: EndpointRecord['link'];
  netns: { path: string };
};

export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes?: CniRoute[];
  dns: DnsConfig;
}

/** A result's `dns` when the config sets none: the network's resolver on its gateways, on a network that resolves names; search and options stay the runtime's. */
export function resolverDns(network: NetworkRecord): DnsConfig {
  if (!resolvesNames(network)) return {};
  return { nameservers: resolverAddresses(network) };
}

/** Interfaces bridge, host veth, container interface (a macvlan or ipvlan child's only); addresses on the last; default routes. */
export function addResult(version: string, network: NetworkRecord, endpoint: ResultEndpoint, dns: DnsConfig = {}): CniResult {
  const withMtu = compareVersions(version, '1.1.0') >= 0;
  const mtu = withMtu ? { mtu: network.mtu } : {};
  const routed = networkDriver(network) === 'routed';
  const inside = { name: endpoint.ifname, mac: endpoint.mac, ...mtu, sandbox: endpoint.netns.path };
  const result: CniResult = {
    cniVersion: version,
    interfaces: endpoint.link
      ? [inside]
      // A routed network has no bridge: its container's address is alone on its link.
      : [...(routed ? [] : [{ name: network.bridge, mac: network.bridgeMac, ...mtu }]), { name: endpoint.hostIfname, mac: endpoint.hostMac as string, ...mtu }, inside],
    ips: [],
    dns,
  };
  const at = result.interfaces.length - 1;
  const prefix = (subnet: string) => (routed ? (isIPv6(subnet.split('/')[0]) ? 128 : 32) : parseCidr(subnet).prefixLength);
  if (endpoint.ipv4 && network.subnet) {
    result.ips.push({ interface: at, address: `${endpoint.ipv4}/${prefix(network.subnet)}`, ...(endpoint.gateway ? { gateway: endpoint.gateway } : {}) });
  }
  if (endpoint.ipv6 && network.ipv6) {
    result.ips.push({ interface: at, address: `${endpoint.ipv6}/${prefix(network.ipv6.subnet)}`, ...(endpoint.gateway6 ? { gateway: endpoint.gateway6 } : {}) });
  }
  const routes: CniRoute[] = [];
  if (endpoint.gateway) routes.push({ dst: '0.0.0.0/0' });
  if (endpoint.gateway6) routes.push({ dst: '::/0' });
  return inVersion(withRoutes(result, routes), version);
}

/** A result after `previous` (a plugin earlier in the chain): its entries first, ours after. */
export function chainResult(previous: Record<string, unknown>, ours: CniResult): CniResult {
  const prevInterfaces = Array.isArray(previous.interfaces) ? (previous.interfaces as CniInterface[]) : [];
  const shift = prevInterfaces.length;
  const merged: CniResult = {
    cniVersion: ours.cniVersion,
    interfaces: [...prevInterfaces, ...ours.interfaces],
    ips: [...(Array.isArray(previous.ips) ? (previous.ips as CniIp[]) : []), ...ours.ips.map((ip) => ({ ...ip, interface: (ip.interface ?? 0) + shift }))],
    dns: Object.keys(ours.dns).length ? ours.dns : ((previous.dns as DnsConfig | undefined) ?? {}),
  };
  const routes = [...(Array.isArray(previous.routes) ? (previous.routes as CniRoute[]) : []), ...(ours.routes ?? [])];
  return inVersion(withRoutes(merged, routes), ours.cniVersion);
}

/** The result with its routes (if any) before `dns`, in the reference plugin's order. */
function withRoutes(result: CniResult, routes: CniRoute[]): CniResult {
  const { dns, ...rest } = result;
  return routes.length ? { ...rest, routes, dns } : { ...rest, dns };
}

/** Before 1.0.0 each address carries its family as `version`; from 1.0.0 it does not. */
function inVersion(result: CniResult, version: string): CniResult {
  const old = compareVersions(version, '1.0.0') < 0;
  result.ips = result.ips.map(({ version: _family, ...ip }) => (old ? { version: isIPv6(ip.address.split('/')[0]) ? '6' : '4', ...ip } : ip));
  return result;
}
