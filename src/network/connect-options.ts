/** Connect options: what a caller may ask of an endpoint, checked before anything is made. */
import { invalid, NsnetError } from '../errors';
import { parsePublish, type PortRequest, type PublishSpec } from '../firewall/publish';
import { ipFamily } from '../ip';
import { checkInterfaceName, checkMac } from '../validate';
import { randomLocalMac } from './mac';

export interface ConnectOptions {
  /** Interface name inside the namespace; eth0 when omitted. */
  ifname?: string;
  /** Static IPv4 address; else the next free one. */
  ip?: string;
  /** Static IPv6 address (dual-stack networks); else the next free one. */
  ipv6?: string;
  /** MAC address inside the namespace; random locally administered when omitted. */
  mac?: string;
  /** Ports to publish: Docker's `-p` specs or objects (see parsePublish). */
  publish?: PublishSpec[];
}

export interface ConnectInput {
  ifname: string;
  mac: string;
  ip?: string;
  ipv6?: string;
  publish: PortRequest[];
}

/** The checks of connect options that need no network, so a caller can run them before it makes anything. */
export function checkConnectInput(options: ConnectOptions): ConnectInput {
  if (typeof options !== 'object' || options === null) throw invalid('connect options must be an object');
  const known = new Set(['ifname', 'ip', 'ipv6', 'mac', 'publish']);
  const unknown = Object.keys(options).filter((key) => !known.has(key));
  if (unknown.length) throw invalid(`unknown connect option ${unknown.join(', ')}`);
  const publish = options.publish ?? [];
  if (!Array.isArray(publish)) throw new NsnetError('INVALID_PUBLISH', 'publish must be an array of port specs');
  const input: ConnectInput = {
    ifname: checkInterfaceName(options.ifname ?? 'eth0', 'ifname'),
    mac: options.mac === undefined ? randomLocalMac() : checkMac(options.mac),
    publish: publish.map(parsePublish),
  };
  if (options.ip !== undefined) {
    if (ipFamily(options.ip, 'ip') !== 4) throw invalid(`ip must be an IPv4 address: ${options.ip}`);
    input.ip = options.ip;
  }
  if (options.ipv6 !== undefined) {
    if (ipFamily(options.ipv6, 'ipv6') !== 6) throw invalid(`ipv6 must be an IPv6 address: ${options.ipv6}`);
    input.ipv6 = options.ipv6;
  }
  return input;
}
