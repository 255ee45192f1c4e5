/** Networks of every driver: create, look up, list, remove; connect and disconnect namespaces. */
import { join } from 'node:path';

import { invalid, NsnetError } from '../errors';
import { faultOperation } from '../fault';
import { firewallFor, resolveFirewall } from '../firewall/firewall';
import { Subnet } from '../ipam/subnet';
import { NetNamespace, netnsDir } from '../netns';
import { currentStore } from '../state/store';
import { type ConnectOptions, endpointKey, type EndpointRecord } from '../types/endpoint';
import { type BridgeNetworkOptions, type IpvlanNetworkOptions, type MacvlanNetworkOptions, type NetworkDriver, networkDriver, type NetworkRecord } from '../types/network';
import { createBridge, deleteBridge, findBridge } from './bridge';
import { checkConnectInput, type ConnectInput } from './connect-options';
import { connect, type ConnectPlace, disconnect } from './endpoint';
import { type Endpoint, toEndpoint } from './endpoint-record';
import { createLanNetworkRecord, isLanNetwork, removeLanLinks } from './lan-network';
import { checkLanOptions } from './lan-options';
import { networkRecord, networkRecords } from './listing';
import { removeOverlayParts } from './overlay-links';
import { installNetworkLocked } from './network-install';
import { checkHostAddresses } from './host-addresses';
import { randomLocalMac } from './mac';
import { checkNetworkName, checkNetworkOptions, differences } from './options';
import { drainPool, type NetworkPool, poolOf } from './pool';
import { checkSubnetFree, pickSubnet } from './subnets';
import { type ConnectTarget, openTarget } from './target';
import { teardownEndpointLocked, teardownIncomplete } from './teardown';
import { Undo } from './undo';

/**
 * A network of any driver (getNetwork and listNetworks return one for each).
 * On a macvlan or ipvlan network, `bridge` is the parent interface.
 */
export class BridgeNetwork {
  constructor(private readonly record: NetworkRecord) {}

  get name(): string {
    return this.record.name;
  }
  get driver(): NetworkDriver {
    return networkDriver(this.record);
  }
  /** The bridge device; a macvlan or ipvlan network's parent. */
  get bridge(): string {
    return this.record.bridge;
  }
  /** The IPv4 subnet; undefined on an IPv6-only network. */
  get subnet(): string | undefined {
    return this.record.subnet;
  }
  get gateway(): string | undefined {
    return this.record.gateway;
  }
  get ipv6(): { subnet: string; gateway: string } | undefined {
    return this.record.ipv6;
  }
  get mtu(): number {
    return this.record.mtu;
  }
  get internal(): boolean {
    return this.record.internal;
  }
  /** Everything stored about the network. */
  get options(): Readonly<NetworkRecord> {
    return this.record;
  }

  /** Connects a namespace: its interface (a veth, or a macvlan or ipvlan child), addresses, default route. */
  async connect(target: ConnectTarget, options: ConnectOptions = {}): Promise<Endpoint> {
    return this.connectChecked(target, checkConnectInput(options));
  }

  /**
   * @internal connectChecked() of a namespace setupContainer is making: the
   * endpoint is planned, and its addresses picked, while it is made.
   */
  async connectFresh(namespace: Promise<NetNamespace>, input: ConnectInput): Promise<Endpoint> {
    const record = await connect(this.record, namespace, input, { freshNamespace: true });
    return toEndpoint(record, await namespace);
  }

  /** @internal connect() with options checked already (setupContainer checks them before it makes anything). */
  async connectChecked(target: ConnectTarget, input: ConnectInput, place: ConnectPlace = {}): Promise<Endpoint> {
    const { ns, owned } = await openTarget(target);
    try {
      const record = await connect(this.record, ns, input, place);
      return toEndpoint(record, owned ? undefined : ns);
    } finally {
      if (owned) ns.close();
    }
  }

  /**
   * Removes the endpoint of a namespace on this network. Succeeds when the
   * namespace or its link is gone already; the addresses are released anyway.
   */
  async disconnect(target: ConnectTarget): Promise<void> {
    const record = await this.findEndpoint(target);
    if (record) await disconnect(record);
  }

  async endpoints(): Promise<Endpoint[]> {
    return (await this.endpointRecords()).map((record) => toEndpoint(record));
  }

  /**
   * This process's warm pool of prepared namespaces on this network, resized
   * to `size` when given (0 empties it): setupContainer on this network then
   * takes one when it can, and the pool tops up in the background. See the
   * README's section on the pool for what it costs at rest.
   */
  pool(size?: number): NetworkPool {
    if (isLanNetwork(this.record)) {
      // A pooled namespace waits with its veth made; a child of a LAN's parent would be a machine on the LAN meanwhile.
      throw new NsnetError('NOT_SUPPORTED_BY_DRIVER', `${this.driver} network "${this.name}" has no warm pool: its children are made at setup`, { driver: this.driver });
    }
    const pool = poolOf(this.record);
    return size === undefined ? pool : pool.resize(size);
  }

  /** Removes the network; refused with NETWORK_IN_USE while endpoints exist, unless forced. */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    await removeNetwork(this.name, options);
  }

  /** @internal */
  async endpointRecords(): Promise<EndpointRecord[]> {
    return (await currentStore().list<EndpointRecord>('endpoints')).filter((e) => e.network === this.name);
  }

  private async findEndpoint(target: ConnectTarget): Promise<EndpointRecord | undefined> {
    const store = currentStore();
    let opened: { ns: NetNamespace; owned: boolean } | undefined;
    try {
      opened = await openTarget(target);
    } catch (error) {
      if (!(error instanceof NsnetError && error.code === 'NETNS_NOT_FOUND')) throw error;
    }
    if (opened) {
      const { ns, owned } = opened;
      if (owned) ns.close();
      return store.read<EndpointRecord>('endpoints', endpointKey(this.name, ns.inode));
    }
    // The namespace is gone: find the endpoint by the path it had.
    if (typeof target !== 'string') return undefined;
    const path = target.includes('/') ? target : join(netnsDir(), target);
    return (await this.endpointRecords()).find((e) => e.netnsPath === path);
  }
}

/** The endpoints of every network, read once. */
export async function listEndpoints(): Promise<Endpoint[]> {
  return (await currentStore().list<EndpointRecord>('endpoints')).map((record) => toEndpoint(record));
}

/**
 * Creates a bridge network, or returns the existing one when the options
 * agree (NETWORK_CONFLICT when they do not). With `pool: { size }`, this
 * process keeps a warm pool of `size` prepared namespaces on it (see
 * BridgeNetwork.pool); the pool is no option of the network's.
 */
export async function createBridgeNetwork(options: BridgeNetworkOptions): Promise<BridgeNetwork> {
  const network = await createOrFindBridgeNetwork(options);
  if (options.pool) network.pool(options.pool.size);
  return network;
}

async function createOrFindBridgeNetwork(options: BridgeNetworkOptions): Promise<BridgeNetwork> {
  faultOperation('createBridgeNetwork');
  const wanted = checkNetworkOptions(options);
  const store = currentStore();
  // The common case, a network that is there as asked, needs no lock: a
  // connect checks under the lock that the network is still the same.
  const known = await store.read<NetworkRecord>('networks', wanted.name);
  if (known && differences(known, wanted).length === 0 && (await findBridge(known))) return new BridgeNetwork(known);
  return store.locked(async () => {
    const existing = await store.read<NetworkRecord>('networks', wanted.name);
    if (existing) {
      const differing = differences(existing, wanted);
      if (differing.length) {
        throw new NsnetError(
          'NETWORK_CONFLICT',
          `network "${wanted.name}" exists with different ${differing.join(', ')}`,
          { differing },
        );
      }
      if (!(await findBridge(existing))) await createBridge(existing); // gone since: make it again
      return new BridgeNetwork(existing);
    }
    const networks = await store.list<NetworkRecord>('networks');
    const sameBridge = networks.find((n) => n.bridge === wanted.bridge);
    if (sameBridge) {
      throw new NsnetError('BRIDGE_NAME_TAKEN', `bridge ${wanted.bridge} belongs to network "${sameBridge.name}"`);
    }
    if (await findBridge({ name: wanted.name, bridge: wanted.bridge })) {
      throw new NsnetError('BRIDGE_NAME_TAKEN', `bridge ${wanted.bridge} exists without a network record`);
    }
    const { ipv4, ...fields } = wanted;
    let subnet = wanted.subnet;
    if (subnet === undefined && ipv4) subnet = await pickSubnet(networks);
    else if (subnet !== undefined) await checkSubnetFree(subnet, networks);
    if (wanted.ipv6) await checkSubnetFree(wanted.ipv6.subnet, networks);
    // The network's own gateway is the host's once its bridge is made.
    if (wanted.hostIp !== wanted.gateway && wanted.hostIp !== wanted.ipv6?.gateway) await checkHostAddresses([wanted.hostIp], 'hostIp');
    const record: NetworkRecord = {
      ...fields,
      ...(subnet === undefined ? {} : { subnet, gateway: wanted.gateway ?? Subnet.parse(subnet).firstHost }),
      subnetAuto: ipv4 && wanted.subnet === undefined,
      bridgeMac: randomLocalMac(),
      activeFirewall: resolveFirewall(wanted.firewall),
      created: new Date().toISOString(),
    };
    await createBridge(record);
    const undo = new Undo();
    undo.push(`bridge ${record.bridge}`, () => deleteBridge(record));
    await installNetworkLocked(record, undo);
    return new BridgeNetwork(record);
  });
}

/** A network of any driver. */
export type Network = BridgeNetwork;

/**
 * Creates a macvlan network (Docker's `--driver macvlan`): each container a
 * machine of the parent's LAN with a MAC of its own; or returns the existing
 * one when the options agree (NETWORK_CONFLICT when they do not). See the
 * README's section on macvlan networks.
 */
export async function createMacvlanNetwork(options: MacvlanNetworkOptions): Promise<Network> {
  return new BridgeNetwork(await createLanNetworkRecord(checkLanOptions('macvlan', options)));
}

/** Creates an ipvlan network (Docker's `--driver ipvlan`): children share the parent's MAC; l2, l3 or l3s. */
export async function createIpvlanNetwork(options: IpvlanNetworkOptions): Promise<Network> {
  return new BridgeNetwork(await createLanNetworkRecord(checkLanOptions('ipvlan', options)));
}

/** The network of this name, or NETWORK_NOT_FOUND. */
export async function getNetwork(name: string): Promise<BridgeNetwork> {
  return new BridgeNetwork(await networkRecord(name));
}

export async function listNetworks(): Promise<BridgeNetwork[]> {
  return (await networkRecords()).map((record) => new BridgeNetwork(record));
}

/**
 * Removes a network: its bridge (an overlay network's agent and VXLAN
 * device too, and its definition in the store once no host uses it) and
 * records. Refused with NETWORK_IN_USE while endpoints exist, unless
 * `force`, which disconnects them first.
 */
export async function removeNetwork(name: string, options: { force?: boolean } = {}): Promise<void> {
  faultOperation('removeNetwork');
  checkNetworkName(name);
  if (typeof options !== 'object' || options === null) throw invalid('remove options must be an object');
  const store = currentStore();
  await store.locked(async () => {
    const record = await store.read<NetworkRecord>('networks', name);
    if (!record) throw new NsnetError('NETWORK_NOT_FOUND', `no network named "${name}"`);
    const endpoints = (await store.list<EndpointRecord>('endpoints')).filter((e) => e.network === name);
    if (endpoints.length && !options.force) {
      throw new NsnetError('NETWORK_IN_USE', `network "${name}" has ${endpoints.length} endpoint(s); disconnect them or use force`, {
        endpoints: endpoints.map((e) => e.id),
      });
    }
    await drainPool(name);
    // The same teardown as disconnect's; the network stays while an endpoint could not go, so that a retry finishes.
    const failures: string[] = [];
    for (const endpoint of endpoints) failures.push(...(await teardownEndpointLocked(endpoint, record)));
    if (failures.length) throw teardownIncomplete(`network "${name}"`, failures);
    await firewallFor(record.activeFirewall)?.removeNetwork(record);
    // A routed network has no link of its own: its host ends went with its endpoints.
    if (isLanNetwork(record)) await removeLanLinks(record);
    else if (networkDriver(record) === 'overlay') await removeOverlayParts(record);
    else if (networkDriver(record) === 'bridge') await deleteBridge(record);
    await store.remove('leases', name);
    await store.remove('networks', name);
  });
}
