/**
 * The plugin's input: CNI_* environment variables and the network config on
 * stdin, checked (the schema in types/cni-config.ts, then what it cannot
 * say) and turned into nsnet's network and connect options. Keys nsnet does
 * not know are ignored, as the specification says; a known key with a bad
 * value is refused (code 7) and named.
 */
import { isIP } from 'node:net';

import { NsnetError } from '../errors';
import { checkBandwidth } from '../network/bandwidth';
import type { BandwidthOptions } from '../types/bandwidth';
import { type CniNetworkConfig, CniNetworkConfigSchema } from '../types/cni-config';
import type { ConnectOptions } from '../types/endpoint';
import { canonicalAddress, type Cidr, parseCidr } from '../types/ip';
import type { BridgeNetworkOptions, IpvlanNetworkOptions, MacvlanNetworkOptions, NetworkDriver } from '../types/network';
import type { OverlayNetworkOptions } from '../types/overlay-network';
import type { PublishSpec } from '../types/ports';
import { Validator } from '../types/schema';
import { checkMac, checkNewInterfaceName } from '../validate';
import { CNI_CODES, CniError, invalidConfig, invalidEnvironment, unsupportedField } from './errors';
import { overlayNetwork, refuseOverlayKeys } from './overlay';
import { checkDriver } from './routed';
import { checkVersion } from './versions';

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
type CniCommand = (typeof COMMANDS)[number];
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface CniEnvironment {
  command: CniCommand;
  containerId: string;
  netns?: string;
  ifname: string;
  /** ADD: what CNI_ARGS asks for. */
  args?: CniArgs;
}

/** The keys of CNI_ARGS nsnet honours: `IP` as the reference host-local IPAM, `MAC` as the bridge plugin. */
export interface CniArgs {
  /** Addresses (or address/prefix) asked for, at most one per family. */
  ips: string[];
  mac?: string;
}

/**
 * CNI_ARGS as libcni's LoadArgs reads it: `KEY=VALUE` pairs joined by `;`,
 * each with exactly one `=`, keys as written; a key nsnet does not know is
 * refused unless `IgnoreUnknown` is 1 or true (runtimes send it, since every
 * plugin of a chain sees every key). An empty value asks for nothing.
 */
export function readCniArgs(text: string | undefined): CniArgs {
  const args: CniArgs = { ips: [] };
  if (!text) return args;
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of text.split(';')) {
    const parts = pair.split('=');
    if (parts.length !== 2) throw invalidEnvironment(`CNI_ARGS: invalid pair ${JSON.stringify(pair)}: expected KEY=VALUE pairs joined by ";"`);
    const [key, value] = parts;
    if (key === 'IgnoreUnknown') {
      const flag = value.toLowerCase();
      if (!['1', 'true', '0', 'false'].includes(flag)) throw invalidEnvironment(`CNI_ARGS: IgnoreUnknown must be 1, true, 0 or false, got ${JSON.stringify(value)}`);
      ignoreUnknown = flag === '1' || flag === 'true';
    } else if (key === 'IP') {
      args.ips = value === '' ? [] : value.split(',').map((entry) => entry.trim());
      for (const entry of args.ips) {
        try {
          parseCidr(entry, 'address');
        } catch {
          throw invalidEnvironment(`CNI_ARGS: IP ${JSON.stringify(entry)} is not an IP address`);
        }
      }
    } else if (key === 'MAC') {
      if (value === '') delete args.mac;
      else args.mac = value;
    } else {
      unknown.push(key);
    }
  }
  if (unknown.length && !ignoreUnknown) {
    throw invalidEnvironment(`CNI_ARGS: unknown key(s) ${unknown.join(', ')} (nsnet reads IP and MAC; IgnoreUnknown=1 lets it ignore the others)`);
  }
  if (args.mac !== undefined) {
    try {
      args.mac = checkMac(args.mac, 'CNI_ARGS MAC');
    } catch (error) {
      throw invalidEnvironment((error as Error).message);
    }
  }
  return args;
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
    result.ifname = checkNewInterfaceName(env.CNI_IFNAME ?? '', 'CNI_IFNAME');
  } catch (error) {
    throw invalidEnvironment((error as Error).message);
  }
  result.containerId = containerId;
  if (env.CNI_NETNS) result.netns = env.CNI_NETNS;
  else if (command !== 'DEL') throw invalidEnvironment(`CNI_NETNS is required for ${command}`);
  // Read for ADD only, the one command that uses it: a DEL must work whatever it is given.
  if (command === 'ADD') result.args = readCniArgs(env.CNI_ARGS);
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
  /** `"driver": "macvlan"` or `"ipvlan"`: the network's options, for createMacvlanNetwork or createIpvlanNetwork (`network` then holds its name only). */
  lan?: { driver: 'macvlan' | 'ipvlan'; options: MacvlanNetworkOptions & IpvlanNetworkOptions };
  /** `"driver": "overlay"`: the network's options, for createOverlayNetwork (`network` then holds its name only). */
  overlay?: OverlayNetworkOptions;
  /** The network's driver, as the config names it (absent: bridge); a macvlan or ipvlan network's is in `lan`, an overlay network's in `overlay`. */
  driver?: NetworkDriver;
  connect: ConnectOptions;
  dns?: DnsConfig;
  prevResult?: Record<string, unknown>;
  /** GC: the attachments that stay, as "containerId/ifname". */
  validAttachments?: Set<string>;
}

const networkConfig = new Validator(CniNetworkConfigSchema);

/** Parses stdin (code 6 if not a JSON object) and checks the keys nsnet uses; `args`: CNI_ARGS, read by readEnvironment. */
export function readConfig(stdin: string, args: CniArgs = { ips: [] }): CniConfig {
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
  refuseOverlayKeys(config);
  const lan = config.driver === 'macvlan' || config.driver === 'ipvlan' ? lanNetwork(config) : undefined;
  const overlay = config.driver === 'overlay' ? overlayNetwork(config, networkOptions(config)) : undefined;
  const result: CniConfig = { cniVersion, network: lan || overlay ? { name: config.name } : networkOptions(config), connect: connectOptions(config, args) };
  if (lan) result.lan = lan;
  else if (overlay) result.overlay = overlay;
  else if (config.driver !== undefined) result.driver = checkDriver(config);
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

/** The keys of a macvlan or ipvlan network; the bridge's own are refused (code 2). */
function lanNetwork(config: CniNetworkConfig): NonNullable<CniConfig['lan']> {
  const driver = config.driver as 'macvlan' | 'ipvlan';
  for (const key of ['bridge', 'ipMasq', 'icc', 'hostIp', 'firewall', 'gatewayMode', 'trustedHostInterfaces', 'ipv4'] as const) {
    if (config[key] !== undefined) throw unsupportedField(key, `an option of the bridge driver, not ${driver}`);
  }
  if (config.subnet === undefined) throw invalidConfig('subnet', `a ${driver} network needs its LAN's subnet`);
  if (config.parent !== undefined && config.master !== undefined && config.parent !== config.master) throw invalidConfig('master', `names another parent than "parent" (${config.parent})`);
  const options: Record<string, unknown> = { name: config.name, subnet: config.subnet };
  const parent = config.parent ?? config.master;
  if (parent !== undefined) options.parent = parent;
  const keys: (keyof CniNetworkConfig)[] = ['gateway', 'mtu', 'internal', 'mode', 'ipRange', 'auxAddresses', ...(driver === 'ipvlan' ? (['flag'] as const) : [])];
  for (const key of keys) if (config[key] !== undefined) options[key] = config[key];
  if (config.flag !== undefined && driver !== 'ipvlan') throw unsupportedField('flag', 'an option of the ipvlan driver');
  if (config.ipv6Subnet !== undefined) options.ipv6 = { subnet: config.ipv6Subnet };
  // The driver checks the values (mode, addresses), with its own codes.
  return { driver, options: options as unknown as MacvlanNetworkOptions & IpvlanNetworkOptions };
}

function networkOptions(config: CniNetworkConfig): BridgeNetworkOptions & { name: string } {
  const options: BridgeNetworkOptions & { name: string } = { name: config.name };
  if (config.ipRange !== undefined) options.ipRange = config.ipRange;
  if (config.auxAddresses !== undefined) options.auxAddresses = config.auxAddresses;
  for (const key of ['parent', 'master', 'mode', 'flag'] as const) {
    if (config[key] !== undefined) throw unsupportedField(key, 'an option of the macvlan and ipvlan drivers ("driver": "macvlan")');
  }
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
  if (config.gatewayMode !== undefined) options.gatewayMode = config.gatewayMode;
  if (config.trustedHostInterfaces !== undefined) options.trustedHostInterfaces = config.trustedHostInterfaces;
  if (config.ipv4 !== undefined) options.ipv4 = config.ipv4;
  return options;
}

/**
 * The static addresses and MAC a runtime asks for. Addresses may come from
 * runtimeConfig.ips, args.cni.ips and CNI_ARGS IP at once (Podman sends the
 * same ones twice), as with host-local: one address per family, the same one
 * any number of times. The MAC, as the bridge plugin takes it:
 * runtimeConfig.mac before args.cni.mac before CNI_ARGS MAC.
 */
function connectOptions(config: CniNetworkConfig, cniArgs: CniArgs): ConnectOptions {
  const runtime = config.runtimeConfig ?? {};
  const args = config.args?.cni ?? {};
  const options: ConnectOptions = {};
  const from: Partial<Record<'ip' | 'ipv6', string>> = {};
  const sources: [string, string[] | undefined][] = [
    ['runtimeConfig.ips', runtime.ips],
    ['args.cni.ips', args.ips],
    ['CNI_ARGS IP', cniArgs.ips],
  ];
  for (const [key, entries] of sources) {
    for (const entry of entries ?? []) {
      let cidr: Cidr;
      try {
        cidr = parseCidr(entry, 'address');
      } catch {
        throw invalidConfig(key, `not an IP address: ${JSON.stringify(entry)}`);
      }
      const slot = cidr.family === 4 ? 'ip' : 'ipv6';
      const address = canonicalAddress(cidr.address);
      const earlier = options[slot];
      if (earlier === undefined) {
        options[slot] = address;
        from[slot] = key;
      } else if (earlier !== address) {
        const where = from[slot] === key ? `"${key}" asks for ${earlier} and ${address}` : `"${from[slot]}" asks for ${earlier}, "${key}" for ${address}`;
        throw invalidConfig(key, `one IPv${cidr.family} address at most: ${where}`);
      }
    }
  }
  const macs: [string, string | undefined][] = [
    ['runtimeConfig.mac', runtime.mac],
    ['args.cni.mac', args.mac],
    ['CNI_ARGS MAC', cniArgs.mac],
  ];
  const given = macs.find(([, mac]) => mac !== undefined);
  if (given) {
    const [key, mac] = given;
    try {
      options.mac = checkMac(mac);
    } catch (error) {
      throw invalidConfig(key, (error as Error).message);
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
  const bandwidth = runtime.bandwidth && bandwidthOptions(runtime.bandwidth);
  if (bandwidth) options.bandwidth = bandwidth;
  // Names on this network only: a runtime passes every network's aliases to each.
  const aliases = runtime.aliases?.[config.name];
  if (aliases?.length) options.aliases = aliases;
  return options;
}

/**
 * runtimeConfig.bandwidth as connect options: a rate of 0 (or none) is no
 * limit; a burst, in bits, becomes bytes, and needs a rate; a rate without
 * a burst gets nsnet's default burst. Checked here, so that a bad one names
 * its key.
 */
function bandwidthOptions(given: NonNullable<NonNullable<CniNetworkConfig['runtimeConfig']>['bandwidth']>): BandwidthOptions | undefined {
  const options: BandwidthOptions = {};
  for (const direction of ['ingress', 'egress'] as const) {
    const rate = given[`${direction}Rate`] || undefined;
    const burst = given[`${direction}Burst`] || undefined;
    if (burst !== undefined && rate === undefined) throw invalidConfig(`runtimeConfig.bandwidth.${direction}Burst`, `a burst needs ${direction}Rate`);
    if (rate !== undefined) options[direction] = burst === undefined ? { rate } : { rate, burst: Math.floor(burst / 8) };
  }
  try {
    checkBandwidth(options);
  } catch (error) {
    throw error instanceof NsnetError ? invalidConfig('runtimeConfig.bandwidth', error.message) : error;
  }
  return options.ingress || options.egress ? options : undefined;
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
