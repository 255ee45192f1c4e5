/**
 * The plugin's input: CNI_* environment variables and the network config on
 * stdin, checked (the schema in types/cni-config.ts, then what it cannot
 * say) and turned into nsnet's network and connect options. Keys nsnet does
 * not know are ignored, as the specification says; a known key with a bad
 * value is refused (code 7) and named.
 */
import { isIP } from 'node:net';

import { type CniNetworkConfig, CniNetworkConfigSchema } from '../types/cni-config';
import type { ConnectOptions } from '../types/endpoint';
import { type Cidr, parseCidr } from '../types/ip';
import type { BridgeNetworkOptions } from '../types/network';
import type { PublishSpec } from '../types/ports';
import { Validator } from '../types/schema';
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

const networkConfig = new Validator(CniNetworkConfigSchema);

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
  const cniVersion = checkVersion((raw as { cniVersion?: unknown }).cniVersion);
  const config = networkConfig.valid(raw, (problem) => invalidConfig(problem.path, `must be ${problem.expected}`));
  refuseUnsupported(config);
  const result: CniConfig = { cniVersion, network: networkOptions(config), connect: connectOptions(config) };
  if (config.dns !== undefined) result.dns = dnsConfig(config.dns);
  if (config.prevResult !== undefined) result.prevResult = config.prevResult as Record<string, unknown>;
  const attachments = config['cni.dev/valid-attachments'] ?? config['cni.dev/attachments'];
  if (attachments !== undefined) result.validAttachments = new Set(attachments.map((a) => `${a.containerID}/${a.ifname}`));
  return result;
}

/** Options of the reference bridge plugin that nsnet does not offer, when set to what nsnet cannot do. */
function refuseUnsupported(config: CniNetworkConfig): void {
  const cannot: [keyof CniNetworkConfig, (value: unknown) => boolean, string][] = [
    ['ipam', () => true, 'nsnet manages addresses itself: give "subnet" (and "ipv6Subnet") instead'],
    ['isGateway', (v) => v === false, 'the bridge is always the gateway of an nsnet network'],
    ['isDefaultGateway', (v) => v === false, 'containers always route through the bridge (use "internal": true for no route out)'],
    ['hairpinMode', (v) => v === false, 'hairpin mode is always on (published ports reach their own network)'],
    ['promiscMode', (v) => v === true, 'not supported'],
    ['vlan', (v) => v !== 0, 'VLANs are not supported'],
    ['vlanTrunk', () => true, 'VLANs are not supported'],
    ['macspoofchk', (v) => v === true, 'not supported'],
    ['enabledad', (v) => v === true, 'nsnet adds IPv6 addresses without DAD'],
  ];
  for (const [key, refused, why] of cannot) {
    if (config[key] !== undefined && refused(config[key])) throw unsupportedField(key, why);
  }
}

function networkOptions(config: CniNetworkConfig): BridgeNetworkOptions & { name: string } {
  const options: BridgeNetworkOptions & { name: string } = { name: config.name };
  if (config.bridge !== undefined) options.bridge = config.bridge;
  if (config.subnet !== undefined) options.subnet = config.subnet;
  if (config.gateway !== undefined) options.gateway = config.gateway;
  if (config.ipv6Subnet !== undefined) options.ipv6 = { subnet: config.ipv6Subnet };
  if (config.mtu !== undefined) options.mtu = config.mtu;
  if (config.ipMasq !== undefined) options.masquerade = config.ipMasq;
  if (config.icc !== undefined) options.icc = config.icc;
  if (config.internal !== undefined) options.internal = config.internal;
  if (config.hostIp !== undefined) options.hostIp = config.hostIp;
  if (config.firewall !== undefined) options.firewall = config.firewall;
  return options;
}

function connectOptions(config: CniNetworkConfig): ConnectOptions {
  const runtime = config.runtimeConfig ?? {};
  const args = config.args?.cni ?? {};
  const options: ConnectOptions = {};
  const ipsKey = runtime.ips !== undefined ? 'runtimeConfig.ips' : 'args.cni.ips';
  for (const entry of runtime.ips ?? args.ips ?? []) {
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
  const macKey = runtime.mac !== undefined ? 'runtimeConfig.mac' : 'args.cni.mac';
  const mac = runtime.mac ?? args.mac;
  if (mac !== undefined) {
    try {
      options.mac = checkMac(mac);
    } catch (error) {
      throw invalidConfig(macKey, (error as Error).message);
    }
  }
  if (runtime.portMappings !== undefined) {
    options.publish = runtime.portMappings.map((mapping): PublishSpec => {
      const spec: PublishSpec = {
        hostPort: mapping.hostPort,
        containerPort: mapping.containerPort,
        protocol: (mapping.protocol ?? 'tcp').toLowerCase() as 'tcp',
      };
      if (mapping.hostIP) spec.hostIp = mapping.hostIP;
      return spec;
    });
  }
  return options;
}

function dnsConfig(dns: NonNullable<CniNetworkConfig['dns']>): DnsConfig {
  const bad = dns.nameservers?.find((server) => !isIP(server));
  if (bad !== undefined) throw invalidConfig('dns.nameservers', `not an IP address: ${bad}`);
  const result: DnsConfig = {};
  if (dns.nameservers) result.nameservers = dns.nameservers;
  if (dns.domain !== undefined) result.domain = dns.domain;
  if (dns.search) result.search = dns.search;
  if (dns.options) result.options = dns.options;
  return result;
}
