/**
 * createMacvlanNetwork and createIpvlanNetwork options: checked (the schemas
 * in types/network.ts, then what they cannot say), with Docker's defaults.
 * Nothing here looks at the host: the parent is resolved at creation.
 */
import { invalid, NsnetError } from '../errors';
import { Subnet } from '../ipam/subnet';
import { canonicalAddress } from '../types/ip';
import {
  IpvlanNetworkOptionsSchema,
  type IpvlanNetworkOptions,
  MacvlanNetworkOptionsSchema,
  type MacvlanNetworkOptions,
  type NetworkRecord,
} from '../types/network';
import { describeProblem, Validator } from '../types/schema';
import { checkNewInterfaceName } from '../validate';
import { addressingDifferences, checkAddressing, checkGateway, checkSubnets, networkLinkName, refuseModeName, refusePool } from './options';

export type LanDriver = 'macvlan' | 'ipvlan';

const macvlanOptions = new Validator(MacvlanNetworkOptionsSchema);
const ipvlanOptions = new Validator(IpvlanNetworkOptionsSchema);

/** A macvlan or ipvlan network as asked for: its record but for what creation settles (MTU when not given, identity, time). */
export type LanWanted = Omit<NetworkRecord, 'bridgeMac' | 'created' | 'mtu' | 'parent'> & { parent: string; mtu?: number };

/** A parent's name goes into the record as an interface name of firewall-safe characters, as a bridge's does. */
function checkParentName(name: string, what: string): string {
  const checked = checkNewInterfaceName(name, what);
  if (!/^[a-zA-Z0-9_.-]+$/.test(checked)) throw invalid(`${what} may hold only letters, digits, '_', '.' and '-': ${checked}`);
  return checked;
}

export function checkLanOptions(driver: LanDriver, given: MacvlanNetworkOptions | IpvlanNetworkOptions): LanWanted {
  refusePool(driver, given);
  const validator = driver === 'macvlan' ? macvlanOptions : ipvlanOptions;
  const options = (validator as Validator<typeof MacvlanNetworkOptionsSchema | typeof IpvlanNetworkOptionsSchema>).valid(given, (problem) =>
    invalid(describeProblem(problem, `${driver} network option`)),
  ) as MacvlanNetworkOptions & IpvlanNetworkOptions;
  refuseModeName(options.name);
  if (options.dns === true) {
    throw new NsnetError('NOT_SUPPORTED_BY_DRIVER', `a ${driver} network resolves no names: the host has no address on it for a resolver to listen on (dns: true)`);
  }
  const internal = options.internal ?? false;
  if (internal && options.parent !== undefined) throw invalid(`an internal ${driver} network has a dummy parent of its own: give no parent`);
  if (!internal && options.parent === undefined) throw invalid(`a ${driver} network needs a parent interface (or internal: true)`);
  const parent = options.parent === undefined ? networkLinkName('nsdm-', options.name) : checkParentName(options.parent, 'parent');
  const subnets = checkSubnets(options);
  const subnet = subnets.subnet as string;
  const gateway = subnets.gateway as string;
  const wanted: LanWanted = {
    name: options.name,
    driver,
    bridge: parent,
    parent,
    subnet,
    gateway,
    subnetAuto: false,
    masquerade: false,
    icc: true,
    internal,
    hostIp: '0.0.0.0',
    firewall: 'none',
    activeFirewall: 'none',
    dns: false,
    ...checkAddressing(options, subnet, gateway, subnets.ipv6),
  };
  if (subnets.ipv6) wanted.ipv6 = subnets.ipv6;
  if (options.mtu !== undefined) wanted.mtu = options.mtu;
  if (driver === 'macvlan') {
    wanted.macvlanMode = options.mode ?? 'bridge';
    if (options.hostInterface) wanted.hostInterface = checkHostInterface(wanted, options.hostInterface);
  } else {
    wanted.ipvlanMode = (options.mode as IpvlanNetworkOptions['mode']) ?? 'l2';
    wanted.ipvlanFlag = options.flag ?? 'bridge';
  }
  return wanted;
}

/** The host's own macvlan: bridge mode (the only one where siblings meet), an unused address of the subnet. */
function checkHostInterface(wanted: LanWanted, asked: { name: string; address: string }): { name: string; address: string } {
  if (wanted.macvlanMode !== 'bridge') throw invalid(`a host interface reaches the children only in macvlan mode bridge, not ${wanted.macvlanMode}`);
  if (wanted.internal) throw invalid('an internal network has no parent traffic for a host interface to take part in');
  const name = checkParentName(asked.name, 'hostInterface.name');
  if (name === wanted.parent) throw invalid(`hostInterface.name ${name} is the parent`);
  const address = checkGateway(Subnet.parse(wanted.subnet), canonicalAddress(asked.address), 'hostInterface.address');
  if (address === wanted.gateway) throw invalid(`hostInterface.address ${address} is the gateway`);
  const aux = Object.entries(wanted.auxAddresses ?? {}).find(([, taken]) => taken === address);
  if (aux) throw invalid(`hostInterface.address ${address} is aux address ${aux[0]}`);
  return { name, address };
}

/** Where an existing macvlan or ipvlan network and a new request disagree. */
export function lanDifferences(record: NetworkRecord, wanted: LanWanted): string[] {
  const fields = ['driver', 'parent', 'subnet', 'gateway', 'internal', 'macvlanMode', 'ipvlanMode', 'ipvlanFlag'] as const;
  const differing: string[] = fields.filter((field) => record[field] !== wanted[field]);
  if (wanted.mtu !== undefined && wanted.mtu !== record.mtu) differing.push('mtu');
  if (JSON.stringify(wanted.ipv6) !== JSON.stringify(record.ipv6)) differing.push('ipv6');
  if (JSON.stringify(wanted.hostInterface) !== JSON.stringify(record.hostInterface)) differing.push('hostInterface');
  differing.push(...addressingDifferences(record, wanted));
  return differing;
}
