/** Connect options: what a caller may ask of an endpoint, checked before anything is made. */
import { invalid, NsnetError } from '../errors';
import { parsePublish } from '../firewall/publish';
import { type ConnectOptions, ConnectOptionsSchema } from '../types/endpoint';
import { ipFamily } from '../types/ip';
import type { PortRequest } from '../types/ports';
import { describeProblem, type SchemaProblem, Validator } from '../types/schema';
import { checkMac, checkNewInterfaceName } from '../validate';
import { type AskedLimits, checkBandwidth } from './bandwidth';
import { checkDnsName } from './dns-options';
import { randomLocalMac } from './mac';

export interface ConnectInput {
  ifname: string;
  /** The ifname was asked for: else a namespace on other networks gets the lowest free ethN in its place. */
  ifnameGiven: boolean;
  mac: string;
  /** The MAC was asked for (a random one needs no check against the network's). */
  macGiven: boolean;
  ip?: string;
  ipv6?: string;
  publish: PortRequest[];
  /** Rate limits, checked (rates in bits per second, bursts in bytes where asked for). */
  bandwidth?: AskedLimits;
  /** Names asked for (checked DNS names), recorded only where the network resolves names. */
  name?: string;
  aliases?: string[];
  /** The id the names end with: a container's (setupContainer, CNI); else the endpoint's own. */
  owner?: string;
  /** The container's own upstream name servers (setupContainer's `dns`, checked). */
  upstreams?: string[];
  /** Its gateway priority (see default-route.ts). */
  gwPriority: number;
  /** A default route the namespace has stays, whatever the priorities (CNI: the first attachment gives it). */
  keepDefaultRoute?: boolean;
}

const connectOptions = new Validator(ConnectOptionsSchema);

/** A problem with a published port is INVALID_PUBLISH, with a bandwidth limit INVALID_BANDWIDTH; any other, INVALID_ARGUMENT. */
export function connectOptionError(problem: SchemaProblem, what = 'connect option'): NsnetError {
  const message = describeProblem(problem, what);
  if (/^publish\b/.test(problem.path)) return new NsnetError('INVALID_PUBLISH', message);
  if (/^(name|aliases)\b/.test(problem.path)) return new NsnetError('INVALID_DNS_NAME', message);
  if (/^dns/.test(problem.path)) return new NsnetError('INVALID_DNS', message);
  return /^bandwidth\b/.test(problem.path) ? new NsnetError('INVALID_BANDWIDTH', message) : invalid(message);
}

/** The checks of connect options that need no network, so a caller can run them before it makes anything. */
export function checkConnectInput(given: ConnectOptions): ConnectInput {
  const options = connectOptions.valid(given, (problem) => connectOptionError(problem));
  const input: ConnectInput = {
    ifname: checkNewInterfaceName(options.ifname ?? 'eth0', 'ifname'),
    ifnameGiven: options.ifname !== undefined,
    mac: options.mac === undefined ? randomLocalMac() : checkMac(options.mac, 'mac'),
    macGiven: options.mac !== undefined,
    publish: (options.publish ?? []).map((spec, i) => {
      try {
        return parsePublish(spec);
      } catch (error) {
        throw error instanceof NsnetError ? error.withContext(`publish[${i}]`) : error;
      }
    }),
    gwPriority: options.gwPriority ?? 0,
  };
  if (options.name !== undefined) input.name = checkDnsName(options.name, 'name');
  if (options.aliases?.length) input.aliases = options.aliases.map((alias, i) => checkDnsName(alias, `aliases[${i}]`));
  const bandwidth = checkBandwidth(options.bandwidth);
  if (bandwidth) input.bandwidth = bandwidth;
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
