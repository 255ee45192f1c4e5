/**
 * Docker's network modes for a container id: 'bridge' (the default network),
 * a network's name, 'host', 'none' and 'container:<id>'.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { readHostResolvConf } from '../dns/host-resolv-conf';
import { invalid, NsnetError } from '../errors';
import { faultOperation } from '../fault';
import { NetNamespace, netnsDir } from '../netns';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import { type ContainerMode, type ContainerRecord, type SetupOptions, SetupOptionsSchema } from '../types/container';
import { CONNECT_OPTION_ENTRIES, type ConnectOptions, endpointKey, type EndpointRecord } from '../types/endpoint';
import { type NetworkRecord, resolvesNames } from '../types/network';
import { Validator } from '../types/schema';
import { checkConnectInput, type ConnectInput, connectOptionError } from './connect-options';
import { namespaceEndpoints } from './default-route';
import { checkDnsName, checkResolverOptions, type ResolverOptions } from './dns-options';
import { type Endpoint, toEndpoint } from './endpoint-record';
import { removeChildIn } from './lan-child';
import { checkHostAddresses } from './host-addresses';
import { type ContainerInfo, containersAndEndpoints } from './listing';
import { BridgeNetwork, createBridgeNetwork, getNetwork } from './network';
import { checkNetworkName } from './options';
import { setupFromPool } from './pool-claim';
import { removeContainerResolvConf, resolvConfDirMissing, resolvConfPath, resolvConfText, writeResolvConf } from './resolv-file';
import { attemptPart, removeNamesPart, teardownEndpoint, teardownEndpointLocked, teardownIncomplete } from './teardown';
import { writesSysctlsInside } from './plumbing';
import { Undo } from './undo';

export const DEFAULT_NETWORK = 'bridge';
export const DEFAULT_BRIDGE = 'nsnet0';
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

const setupOptions = new Validator(SetupOptionsSchema);
/** Connect options that need a network; a name (Docker's `--name`) is the container's in every mode. */
const CONNECT_KEYS = Object.keys(CONNECT_OPTION_ENTRIES).filter((key) => key !== 'name');
/** The options of a container's resolv.conf: for a namespace of its own. */
const RESOLVER_KEYS = ['dns', 'dnsSearch', 'dnsOptions'] as const;

export interface Container {
  id: string;
  mode: ContainerMode;
  netns: NetNamespace;
  endpoint?: Endpoint;
}

export function checkContainerId(id: unknown): string {
  if (typeof id !== 'string' || !CONTAINER_ID.test(id)) {
    throw invalid(`container id must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (64 characters at most): ${String(id)}`);
  }
  return id;
}

interface Plan {
  mode: ContainerMode;
  network?: string;
  joined?: string;
  /** On a network: the connect options, checked. */
  connect?: ConnectInput;
  /** With a namespace of its own: what its resolv.conf says besides its network's. */
  resolver?: ResolverOptions;
}

function connectOptionsOf(options: SetupOptions): ConnectOptions {
  const { network: _network, dns: _dns, dnsSearch: _dnsSearch, dnsOptions: _dnsOptions, ...connectOptions } = options;
  return connectOptions;
}

/** The options asked for among `keys`; an empty list asks for nothing. */
function asked(options: SetupOptions, keys: readonly string[]): string[] {
  return keys.filter((key) => {
    const value = (options as Record<string, unknown>)[key];
    return Array.isArray(value) ? value.length > 0 : value !== undefined;
  });
}

function planFor(id: string, options: SetupOptions): Plan {
  const network = options.network ?? DEFAULT_NETWORK;
  const connectOptions = asked(options, CONNECT_KEYS);
  let plan: Plan;
  if (network === 'host' || network === 'none') plan = { mode: network };
  else if (network.startsWith('container:')) plan = { mode: 'container', joined: checkContainerId(network.slice('container:'.length)) };
  else if (network === DEFAULT_NETWORK) plan = { mode: 'bridge', network };
  else plan = { mode: 'network', network: checkNetworkName(network) };
  if (!plan.network && connectOptions.length) {
    throw invalid(`${connectOptions.join(', ')} only apply to a container on a bridge network, not '${network}'`);
  }
  if (plan.mode === 'host' || plan.mode === 'container') {
    const resolverOptions = asked(options, RESOLVER_KEYS);
    if (resolverOptions.length) throw invalid(`${resolverOptions.join(', ')} only apply to a container with a network namespace of its own, not '${network}'`);
  } else {
    plan.resolver = checkResolverOptions(options);
  }
  if (options.name !== undefined) checkDnsName(options.name, 'name');
  // Before anything is made (the default network on first use, say).
  if (plan.network) {
    plan.connect = { ...checkConnectInput(connectOptionsOf(options)), owner: id };
    if (plan.resolver?.dns) plan.connect.upstreams = plan.resolver.dns;
  }
  return plan;
}

function exists(id: string): NsnetError {
  return new NsnetError('CONTAINER_EXISTS', `container "${id}" already exists`);
}

/** Claims the id (CONTAINER_EXISTS if taken); a join also registers with its source. */
async function claimContainer(id: string, plan: Plan): Promise<{ record: ContainerRecord; joined?: ContainerRecord }> {
  const store = currentStore();
  const record: ContainerRecord = {
    id,
    mode: plan.mode,
    ownsNamespace: plan.mode !== 'host' && plan.mode !== 'container',
    status: 'creating',
    pid: process.pid,
    created: new Date().toISOString(),
  };
  if (plan.network) record.network = plan.network;
  // Known before the namespace exists, so reconcile can find it (and its resolv.conf) after a crash.
  if (record.ownsNamespace) {
    record.netnsPath = join(netnsDir(), id);
    record.resolvConf = resolvConfPath(id);
    record.resolvConfDirMade = await resolvConfDirMissing(record.resolvConf);
  }
  if (!plan.joined) {
    if (!(await store.create('containers', id, record))) throw exists(id);
    return { record };
  }
  const source = plan.joined;
  record.joined = source;
  return store.locked(async () => {
    const joined = await store.read<ContainerRecord>('containers', source);
    if (!joined || joined.status !== 'ready') throw new NsnetError('CONTAINER_NOT_FOUND', `no container "${source}" to join`);
    if (!(await store.create('containers', id, record))) throw exists(id);
    joined.joinedBy = [...(joined.joinedBy ?? []), id];
    await store.write('containers', source, joined);
    return { record, joined };
  });
}

/** The container's namespace was made for it, and is known enough to be deleted. */
function ownsNamespace(record: ContainerRecord): boolean {
  return record.ownsNamespace && record.netnsPath !== undefined && record.netnsInode !== undefined;
}

/** The namespace made for a container, if its mount still holds it. */
async function namespaceOf(record: ContainerRecord): Promise<NetNamespace | undefined> {
  const { netnsPath, netnsInode } = record as Required<Pick<ContainerRecord, 'netnsPath' | 'netnsInode'>>;
  return (await NetNamespace.exists(netnsPath, netnsInode)) ? NetNamespace.atPath(netnsPath, netnsInode, record.id) : undefined;
}

/**
 * A setup that died after making its namespace but before recording it (its
 * record has the path, no inode): the record as it would have been, with the
 * namespace's inode and the endpoint key, so that teardown removes both.
 */
async function withAbandonedNamespace(record: ContainerRecord): Promise<ContainerRecord> {
  if (record.status !== 'creating' || processAlive(record.pid)) return record;
  if (!record.ownsNamespace || record.netnsPath === undefined || record.netnsInode !== undefined) return record;
  const inode = (await stat(record.netnsPath).catch(() => undefined))?.ino;
  if (inode === undefined) return record;
  const completed: ContainerRecord = { ...record, netnsInode: inode };
  if (record.network !== undefined && completed.endpoint === undefined) completed.endpoint = endpointKey(record.network, inode);
  return completed;
}

function inUse(id: string, pids: number[]): NsnetError {
  return new NsnetError(
    'CONTAINER_IN_USE',
    `processes ${pids.join(', ')} still run in the network namespace of "${id}": end them, or remove it anyway (nsnet rm -f)`,
    { pids },
  );
}

/** Removes a container record; a joiner also leaves its source's list. */
async function forgetContainer(record: ContainerRecord): Promise<void> {
  if (record.joined) await currentStore().locked(() => forgetContainerLocked(record));
  else await currentStore().remove('containers', record.id);
}

/** forgetContainer(), for a caller that holds the state lock. */
export async function forgetContainerLocked(record: ContainerRecord): Promise<void> {
  const store = currentStore();
  if (record.joined) {
    const source = record.joined;
    const joined = await store.read<ContainerRecord>('containers', source);
    if (joined?.joinedBy?.includes(record.id)) {
      await store.write('containers', source, { ...joined, joinedBy: joined.joinedBy.filter((other) => other !== record.id) });
    }
  }
  await store.remove('containers', record.id);
}

async function defaultNetwork(): Promise<BridgeNetwork> {
  try {
    return await getNetwork(DEFAULT_NETWORK);
  } catch (error) {
    if (!(error instanceof NsnetError && error.code === 'NETWORK_NOT_FOUND')) throw error;
    return createBridgeNetwork({ name: DEFAULT_NETWORK, bridge: DEFAULT_BRIDGE });
  }
}

/** A container set up, and the record of the network its endpoint was made on. */
interface Attached {
  container: Container;
  network?: NetworkRecord;
}

/**
 * The networks (by mode and name) whose connects, as this process last saw
 * them, write no sysctl inside the namespace (writesSysctlsInside): the
 * namespace of a container on one is made without its sysctl directories
 * open. Only a guess, made before the network is read: one made again since
 * with other options has its writes done the slower way, through a thread
 * inside.
 */
const noSysctlsInside = new Set<string>();

/** The namespace a container gets, and its endpoint when on a network. */
async function attach(record: ContainerRecord, joined: ContainerRecord | undefined, connect: ConnectInput | undefined): Promise<Attached> {
  if (record.mode === 'host') return { container: { id: record.id, mode: 'host', netns: NetNamespace.host() } };
  if (record.mode === 'container') {
    const source = joined as ContainerRecord;
    const netns = source.netnsPath ? await NetNamespace.open(source.netnsPath) : NetNamespace.host();
    if (source.netnsInode !== undefined && netns.inode !== source.netnsInode) {
      netns.close();
      throw new NsnetError('CONTAINER_NOT_FOUND', `the namespace of container "${source.id}" is gone`);
    }
    return { container: { id: record.id, mode: 'container', netns } };
  }
  if (record.mode !== 'none') {
    const pooled = await setupFromPool(record.id, record.network as string, connect as ConnectInput);
    if (pooled) return { container: { id: record.id, mode: record.mode, netns: pooled.netns, endpoint: pooled.endpoint }, network: pooled.network };
  }
  // The namespace is made while the network is looked up and the endpoint
  // planned: its job first, as the rest reads and writes on the JS thread.
  const networkKey = `${record.mode}:${record.network ?? ''}`;
  const withoutDirs = noSysctlsInside.has(networkKey);
  const creating = NetNamespace.create(record.id, { sysctlDirs: !withoutDirs });
  creating.catch(() => undefined); // awaited below, or by the undo
  const undo = new Undo();
  // Once made (one that could not be made left nothing).
  undo.push(`netns ${record.id}`, async () => (await creating.catch(() => undefined))?.delete());
  try {
    const network = record.mode === 'none' ? undefined : record.mode === 'bridge' ? await defaultNetwork() : await getNetwork(record.network as string);
    const writes = network ? writesSysctlsInside(network.options) : undefined;
    if (writes) noSysctlsInside.delete(networkKey);
    else if (writes === false) noSysctlsInside.add(networkKey);
    if (!network) {
      const netns = await creating;
      await netns.links.set('lo', { up: true });
      return { container: { id: record.id, mode: 'none', netns } };
    }
    // A wrong guess: the directories after all, so that the writes go in before the interface is up, as they would have.
    const namespace = withoutDirs && writes ? creating.then(async (netns) => (await netns.openSysctlDirs(), netns)) : creating;
    const endpoint = await network.connectFresh(namespace, connect as ConnectInput); // brings lo up too
    return { container: { id: record.id, mode: record.mode, netns: await creating, endpoint }, network: network.options };
  } catch (error) {
    throw await undo.fail(error);
  }
}

/** Sets up the network of container `id` in one of Docker's modes. */
export async function setupContainer(id: string, options: SetupOptions = {}): Promise<Container> {
  faultOperation('setupContainer');
  checkContainerId(id);
  setupOptions.valid(options, (problem) => connectOptionError(problem, 'setup option'));
  const plan = planFor(id, options);
  // Before the namespace is made: the host addresses asked for (a network's own default is checked at connect).
  if (plan.connect) await checkHostAddresses(plan.connect.publish.flatMap((request) => request.hostIp ?? []), 'hostIp of a published port');
  const { record, joined } = await claimContainer(id, plan);
  const undo = new Undo();
  undo.push(`record of container "${id}"`, () => forgetContainer(record));
  // Written while the network is set up, for the network as recorded now; again if the connect found it made anew since.
  const resolvConf = record.resolvConf === undefined ? undefined : writeContainerResolvConf(record.resolvConf, plan);
  resolvConf?.catch(() => undefined); // awaited below, or before the undo
  if (resolvConf) undo.push(`resolv.conf of container "${id}"`, () => removeContainerResolvConf(record));
  try {
    const attached = await attach(record, joined, plan.connect).catch(async (error: unknown) => {
      await resolvConf?.catch(() => undefined);
      throw error;
    });
    const { container } = attached;
    undo.push(`network of container "${id}"`, () => detach(container));
    if (resolvConf && !sameResolver(await resolvConf, attached.network)) await writeContainerResolvConf(record.resolvConf as string, plan, attached.network);
    if (container.mode !== 'host') {
      record.netnsPath = container.netns.path;
      record.netnsInode = container.netns.inode;
    }
    if (container.endpoint) record.endpoint = endpointKey(container.endpoint.network, container.netns.inode);
    record.status = 'ready';
    await currentStore().write('containers', id, record);
    // At rest a container holds no descriptor in this process: its handle opens again on use.
    container.netns.release();
    return container;
  } catch (error) {
    throw await undo.fail(error);
  }
}

/** A container's resolv.conf, for `network` (else its network as recorded now); returns the network it was written for. */
async function writeContainerResolvConf(path: string, plan: Plan, network?: NetworkRecord): Promise<NetworkRecord | undefined> {
  const host = readHostResolvConf();
  const given = network ?? (plan.network === undefined ? undefined : await currentStore().read<NetworkRecord>('networks', plan.network));
  await writeResolvConf(path, await resolvConfText(given, plan.resolver ?? {}, host));
  return given;
}

/** Two records of a network (or none) give the same resolv.conf: the same resolver addresses, or none. */
function sameResolver(a: NetworkRecord | undefined, b: NetworkRecord | undefined): boolean {
  const resolver = (network: NetworkRecord | undefined) => (network && resolvesNames(network) ? `${network.gateway} ${network.ipv6?.gateway}` : '');
  return resolver(a) === resolver(b);
}

/** Undoes attach(): the namespace made for the container (and so its veth), and its endpoint's records. */
async function detach(container: Container): Promise<void> {
  if (container.mode === 'host') return;
  if (container.mode === 'container') return container.netns.close();
  await container.netns.delete();
  if (!container.endpoint) return;
  const endpoint = await currentStore().read<EndpointRecord>('endpoints', endpointKey(container.endpoint.network, container.netns.inode));
  const failures = endpoint ? await teardownEndpoint(endpoint, { keepLinks: true }) : [];
  if (failures.length) throw teardownIncomplete(`endpoint ${endpoint?.id}`, failures);
}

/**
 * The processes left in a namespace being deleted; with some left, its
 * macvlan and ipvlan children (the container's own network's, and those of
 * networks connected since) go at once, while the namespace is still at hand
 * (they have no host end to delete them by later, and must not keep their
 * addresses).
 */
async function countAndCut(netns: NetNamespace, endpoints: EndpointRecord[]): Promise<number[]> {
  const pids = await netns.pids();
  if (pids.length) for (const child of endpoints.filter((e) => e.link)) await removeChildIn(netns, child);
  return pids;
}

export interface ContainerTeardownOptions {
  /**
   * While processes run in the container's namespace (which they keep alive
   * past the deletion of its mount): 'remove' (the default) deletes its veth
   * explicitly, so that its address is free for good, and reports the
   * processes, left running without a network; 'refuse' throws
   * CONTAINER_IN_USE with their pids and changes nothing (`nsnet rm`
   * without `-f`).
   */
  ifRunning?: 'remove' | 'refuse';
}

export interface ContainerTeardownReport {
  /** Processes that still run in the container's former namespace, without a network. */
  leftRunning: number[];
}

/**
 * Tears down container `id`: its endpoint (addresses released), and the
 * namespace made for it. Succeeds when the container or parts of it are gone
 * already; refused with CONTAINER_IN_USE while other containers joined it, or
 * (with `ifRunning: 'refuse'`) while processes run in its namespace.
 */
export async function teardownContainer(id: string, options: ContainerTeardownOptions = {}): Promise<ContainerTeardownReport> {
  faultOperation('teardownContainer');
  checkContainerId(id);
  const store = currentStore();
  const failures: string[] = [];
  let leftRunning: number[] = [];
  // Checked and marked 'removing' under the lock, so that no join slips in
  // between (a join needs its source ready).
  const marked = await store.locked(async () => {
    const stored = await store.read<ContainerRecord>('containers', id);
    if (!stored) return undefined;
    const current = await withAbandonedNamespace(stored);
    if (current.joinedBy?.length) {
      throw new NsnetError('CONTAINER_IN_USE', `containers ${current.joinedBy.join(', ')} share the network of "${id}"`, {
        joinedBy: current.joinedBy,
      });
    }
    if (current.status === 'creating' && processAlive(current.pid)) {
      throw new NsnetError('CONTAINER_IN_USE', `container "${id}" is still being set up (process ${current.pid})`);
    }
    const [netns, endpoint] = await Promise.all([
      ownsNamespace(current) ? namespaceOf(current) : undefined,
      current.endpoint ? store.read<EndpointRecord>('endpoints', current.endpoint) : undefined,
    ]);
    if (netns && options.ifRunning === 'refuse') {
      const running = await netns.pids();
      if (running.length) throw inUse(id, running);
    }
    if (current.status === 'ready') await store.write('containers', id, { ...current, status: 'removing', pid: process.pid });
    // The networks connected to its namespace since (net.connect) go with it, as `docker rm` disconnects them.
    const others = netns ? (await namespaceEndpoints(netns.inode)).filter((other) => other.id !== endpoint?.id) : [];
    return { current, netns, endpoint, others };
  });
  if (!marked) return { leftRunning: [] };
  const { current: record, netns, endpoint, others } = marked;
  // The file, and the names in the resolver, go while the rest does (the names before the address is released).
  const resolvConfGone = attemptPart(failures, `resolv.conf of "${id}"`, () => removeContainerResolvConf(record));
  const namesGone = endpoint && removeNamesPart(endpoint, failures);
  // The namespace goes outside the lock (the count of its processes is the
  // slow part, and teardowns meanwhile share it). The processes are counted
  // once the mount is gone, so that none can enter after the count. A
  // namespace nothing else holds takes its veth with it, in bulk, in the
  // kernel; one a process keeps alive keeps its veth too, which is deleted
  // explicitly, so that its addresses are free for good (a veth that stays
  // keeps them leased).
  // A deletion killed between the unmount and the unlink left the file.
  if (!netns && ownsNamespace(record)) await NetNamespace.removeLeftover(record.netnsPath as string);
  const counted = netns && (await attemptPart(failures, `netns of "${id}"`, async () => (leftRunning = await netns.deleteHolding(() => countAndCut(netns, endpoint ? [endpoint, ...others] : others)))));
  if (netns && !counted) {
    await Promise.all([resolvConfGone, namesGone]);
    throw teardownIncomplete(`"${id}"`, failures);
  }
  if (endpoint || others.length) {
    await store.locked(async () => {
      const keepLinks = netns !== undefined && leftRunning.length === 0;
      for (const other of others) {
        const stored = await store.read<EndpointRecord>('endpoints', endpointKey(other.network, other.netnsInode));
        if (stored?.id === other.id) failures.push(...(await teardownEndpointLocked(stored, await store.read<NetworkRecord>('networks', stored.network), { keepLinks })));
      }
      if (!endpoint) return;
      // Still this one: the key holds the namespace's inode number, which the kernel reuses once it is freed.
      const stored = await store.read<EndpointRecord>('endpoints', record.endpoint as string);
      if (stored?.id !== endpoint.id) return void (await namesGone);
      const network = await store.read<NetworkRecord>('networks', stored.network);
      failures.push(...(await teardownEndpointLocked(stored, network, { keepLinks, namesGone })));
    });
  }
  await resolvConfGone;
  if (failures.length) throw teardownIncomplete(`"${id}"`, failures);
  await forgetContainer(record);
  return { leftRunning };
}

export type { ContainerInfo } from './listing';

/** Every container in the state directory, by id. */
export async function listContainers(): Promise<ContainerInfo[]> {
  return (await containersAndEndpoints(toEndpoint)).containers;
}
