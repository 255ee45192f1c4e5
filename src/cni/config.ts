/**
 * The plugin's input: CNI_* environment variables and the network config on
 * stdin, checked and turned into nsnet's network and connect options. Keys
 * nsnet does not know are ignored, as the specification says; a known key
 * with a bad value is refused (code 7) and named.
 */
import { isIP } from 'node:net';

import { NsnetError } from '../errors';
import { type Cidr, parseCidr } from '../ip';
import type { PublishSpec } from '../firewall/publish';
import type { ConnectOptions } from '../network/connect-options';
import { type BridgeNetworkOptions, FIREWALL_BACKENDS, type FirewallBackend } from '../network/options';
import { checkInterfaceName, checkMac } from '../validate';
import { CNI_CODES, CniError, invalidConfig, invalidEnvironment, unsupportedField } from './errors';
import { checkVersion } from './versions';

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
type CniCommand = (typeof COMMANDS)[number];
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface CniEnvironment {
  command: CniCommand;
  containerId: string;
  netns?: string;
  ifname: string;
}

/** The CNI_* variables a command needs, checked (code 4). */
export function readEnvironment(env: Record<string, string | undefined>): CniEnvironment {
  const command = env.CNI_COMMAND as CniCommand;
  if (!COMMANDS.includes(command)) throw invalidEnvironment(`CNI_COMMAND must be one of ${COMMANDS.join(', ')}: ${JSON.stringify(env.CNI_COMMAND ?? '')}`);
  const result: CniEnvironment = { command, containerId: '', ifname: '' };
  if (command !== 'ADD' && command !== 'DEL' && command !== 'CHECK') return result;
  const containerId = env.CNI_CONTAINERID ?? '';
  if (!CONTAINER_ID.test(containerId)) throw invalidEnvironment(`CNI_CONTAINERID must match ${CONTAINER_ID.source}: ${JSON.stringify(containerId)}`);
  try {
    result.ifname = checkInterfaceName(env.CNI_IFNAME ?? '', 'CNI_IFNAME');
  } catch (error) {
    throw invalidEnvironment((error as Error).message);
  }
  result.containerId = containerId;
  if (env.CNI_NETNS) result.netns = env.CNI_NETNS;
  else if (command !== 'DEL') throw invalidEnvironment(`CNI_NETNS is required for ${command}`);
  return result;
}

export interface DnsConfig {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniConfig {
  cniVersion: string;
  network: BridgeNetworkOptions & { name: string };
  connect: ConnectOptions;
  dns?: DnsConfig;
  prevResult?: Record<string, unknown>;
  /** GC: the attachments that stay, as "containerId/ifname". */
  validAttachments?: Set<string>;
}

/** Parses stdin (code 6 if not a JSON object) and checks the keys nsnet uses. */
export function readConfig(stdin: string): CniConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (error) {
    throw new CniError(CNI_CODES.DECODE_FAILURE, `network config is not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(CNI_CODES.DECODE_FAILURE, 'network config must be a JSON object');
  }
  const config = raw as Record<string, unknown>;
  const cniVersion = checkVersion(config.cniVersion);
  if (typeof config.name !== 'string') throw invalidConfig('name', 'a network name is required');
  refuseUnsupported(config);
  const result: CniConfig = { cniVersion, network: networkOptions(config), connect: connectOptions(config) };
  if (config.dns !== undefined) result.dns = dnsConfig(config.dns);
  if (config.prevResult !== undefined) {
    if (typeof config.prevResult !== 'object' || config.prevResult === null) throw invalidConfig('prevResult', 'must be an object');
    result.prevResult = config.prevResult as Record<string, unknown>;
  }
  const attachments = config['cni.dev/valid-attachments'] ?? config['cni.dev/attachments'];
  if (attachments !== undefined) result.validAttachments = validAttachments(attachments);
  return result;
}

const string = (key: string, value: unknown): string => {
  if (typeof value !== 'string' || value === '') throw invalidConfig(key, 'must be a non-empty string');
  return value;
};
const boolean = (key: string, value: unknown): boolean => {
  if (typeof value !== 'boolean') throw invalidConfig(key, 'must be true or false');
  return value;
};

/** Options of the reference bridge plugin that nsnet does not offer, when set to what nsnet cannot do. */
function refuseUnsupported(config: Record<string, unknown>): void {
  const cannot: [string, (value: unknown) => boolean, string][] = [
    ['ipam', () => true, 'nsnet manages addresses itself: give "subnet" (and "ipv6Subnet") instead'],
    ['isGateway', (v) => v === false, 'the bridge is always the gateway of an nsnet network'],
    ['isDefaultGateway', (v) => v === false, 'containers always route through the bridge (use "internal": true for no route out)'],
    ['hairpinMode', (v) => v === false, 'hairpin mode is always on (published ports reach their own network)'],
    ['promiscMode', (v) => v === true, 'not supported'],
    ['vlan', (v) => v !== undefined && v !== 0, 'VLANs are not supported'],
    ['vlanTrunk', (v) => v !== undefined, 'VLANs are not supported'],
    ['macspoofchk', (v) => v === true, 'not supported'],
    ['enabledad', (v) => v === true, 'nsnet adds IPv6 addresses without DAD'],
  ];
  for (const [key, refused, why] of cannot) {
    if (config[key] !== undefined && refused(config[key])) throw unsupportedField(key, why);
  }
  for (const key of ['isGateway', 'isDefaultGateway', 'hairpinMode', 'promiscMode', 'macspoofchk', 'enabledad']) {
    if (config[key] !== undefined) boolean(key, config[key]);
  }
}

function networkOptions(config: Record<string, unknown>): BridgeNetworkOptions & { name: string } {
  const options: BridgeNetworkOptions & { name: string } = { name: config.name as string };
  if (config.bridge !== undefined) options.bridge = string('bridge', config.bridge);
  if (config.subnet !== undefined) options.subnet = string('subnet', config.subnet);
  if (config.gateway !== undefined) options.gateway = string('gateway', config.gateway);
  if (config.ipv6Subnet !== undefined) options.ipv6 = { subnet: string('ipv6Subnet', config.ipv6Subnet) };
  if (config.mtu !== undefined) {
    if (!Number.isInteger(config.mtu)) throw invalidConfig('mtu', 'must be a whole number');
    options.mtu = config.mtu as number;
  }
  if (config.ipMasq !== undefined) options.masquerade = boolean('ipMasq', config.ipMasq);
  if (config.icc !== undefined) options.icc = boolean('icc', config.icc);
  if (config.internal !== undefined) options.internal = boolean('internal', config.internal);
  if (config.hostIp !== undefined) options.hostIp = string('hostIp', config.hostIp);
  if (config.firewall !== undefined) {
    if (!(FIREWALL_BACKENDS as readonly unknown[]).includes(config.firewall)) {
      throw invalidConfig('firewall', `must be one of ${FIREWALL_BACKENDS.join(', ')}`);
    }
    options.firewall = config.firewall as FirewallBackend;
  }
  return options;
}

function connectOptions(config: Record<string, unknown>): ConnectOptions {
  const runtime = object('runtimeConfig', config.runtimeConfig);
  const args = object('args.cni', object('args', config.args).cni);
  const options: ConnectOptions = {};
  const ipsKey = runtime.ips !== undefined ? 'runtimeConfig.ips' : 'args.cni.ips';
  const ips = runtime.ips ?? args.ips;
  if (ips !== undefined) {
    if (!Array.isArray(ips)) throw invalidConfig(ipsKey, 'must be a list of addresses');
    for (const entry of ips) {
      let cidr: Cidr;
      try {
        cidr = parseCidr(entry, 'address');
      } catch {
        throw invalidConfig(ipsKey, `not an IP address: ${JSON.stringify(entry)}`);
      }
      const slot = cidr.family === 4 ? 'ip' : 'ipv6';
      if (options[slot] !== undefined) throw invalidConfig(ipsKey, `one IPv${cidr.family} address at most`);
      options[slot] = cidr.address;
    }
  }
  const macKey = runtime.mac !== undefined ? 'runtimeConfig.mac' : 'args.cni.mac';
  const mac = runtime.mac ?? args.mac;
  if (mac !== undefined) {
    try {
      options.mac = checkMac(mac);
    } catch (error) {
      throw invalidConfig(macKey, (error as NsnetError).message);
    }
  }
  if (runtime.portMappings !== undefined) options.publish = portMappings(runtime.portMappings);
  return options;
}

function object(key: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidConfig(key, 'must be an object');
  return value as Record<string, unknown>;
}

/** runtimeConfig.portMappings, as the portmap plugin takes them: {hostPort, containerPort, protocol, hostIP}. */
function portMappings(value: unknown): PublishSpec[] {
  const key = 'runtimeConfig.portMappings';
  if (!Array.isArray(value)) throw invalidConfig(key, 'must be a list');
  return value.map((entry, i) => {
    const mapping = object(`${key}[${i}]`, entry);
    for (const field of ['hostPort', 'containerPort']) {
      if (!Number.isInteger(mapping[field])) throw invalidConfig(`${key}[${i}].${field}`, 'must be a port number');
    }
    const spec: PublishSpec = {
      hostPort: mapping.hostPort as number,
      containerPort: mapping.containerPort as number,
      protocol: (mapping.protocol === undefined ? 'tcp' : String(mapping.protocol).toLowerCase()) as 'tcp',
    };
    if (mapping.hostIP !== undefined && mapping.hostIP !== '') spec.hostIp = string(`${key}[${i}].hostIP`, mapping.hostIP);
    return spec;
  });
}

function dnsConfig(value: unknown): DnsConfig {
  const dns = object('dns', value);
  const list = (key: 'nameservers' | 'search' | 'options') => {
    const entries = dns[key];
    if (entries === undefined) return undefined;
    if (!Array.isArray(entries) || !entries.every((e) => typeof e === 'string')) throw invalidConfig(`dns.${key}`, 'must be a list of strings');
    return entries as string[];
  };
  const result: DnsConfig = {};
  const nameservers = list('nameservers');
  if (nameservers) {
    const bad = nameservers.find((server) => !isIP(server));
    if (bad !== undefined) throw invalidConfig('dns.nameservers', `not an IP address: ${bad}`);
    result.nameservers = nameservers;
  }
  if (dns.domain !== undefined) result.domain = string('dns.domain', dns.domain);
  const search = list('search');
  if (search) result.search = search;
  const options = list('options');
  if (options) result.options = options;
  return result;
}

function validAttachments(value: unknown): Set<string> {
  const key = 'cni.dev/valid-attachments';
  if (!Array.isArray(value)) throw invalidConfig(key, 'must be a list of {containerID, ifname}');
  return new Set(
    value.map((entry, i) => {
      const attachment = object(`${key}[${i}]`, entry);
      return `${string(`${key}[${i}].containerID`, attachment.containerID)}/${string(`${key}[${i}].ifname`, attachment.ifname)}`;
    }),
  );
}
