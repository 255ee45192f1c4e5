/** ADD, DEL, CHECK, STATUS and GC on nsnet's networks. */
import { messageOf, NsnetError, unlessGone } from '../errors';
import { resolveFirewall } from '../firewall/firewall';
import { checkConnectInput, type ConnectInput } from '../network/connect-options';
import { disconnect } from '../network/endpoint';
import type { Endpoint } from '../network/endpoint-record';
import { handOverDefaultRoutes } from '../network/default-route';
import { removeHostEnd } from '../network/plumbing';
import { Undo } from '../network/undo';
import { BridgeNetwork, createBridgeNetwork, createIpvlanNetwork, createMacvlanNetwork } from '../network/network';
import { createOverlayNetwork } from '../network/overlay-network';
import { createRoutedNetwork } from '../network/routed-network';
import { NetNamespace } from '../netns';
import { currentStore } from '../state/store';
import type { AttachmentRecord } from '../types/attachment';
import { endpointKey, type EndpointRecord } from '../types/endpoint';
import { type NetworkRecord, networkDriver } from '../types/network';
import {
  attachmentsOf,
  createAttachment,
  endpointOf,
  inProgress,
  readAttachment,
  removeAttachment,
  writeAttachment,
} from './attachments';
import { attachmentProblems, checkFailed } from './check';
import { routedNetworkOptions } from './routed';
import type { CniConfig, CniEnvironment } from './config';
import { CNI_CODES, CniError, invalidConfig, nsnetCode } from './errors';
import { addResult, chainResult, type CniResult, resolverDns } from './result';
import { requireVersion } from './versions';

/**
 * How a command runs. Deleting a veth costs ~16 ms of kernel time under the
 * rtnl lock, while deleting its namespace, which a runtime does right after
 * DEL, removes it in the kernel's batched cleanup for much less. So the
 * long-running service answers a DEL once the address, ports and firewall
 * entries are released, and removes the veth only if it is still there a
 * moment later; an ADD into the same namespace removes it at once first.
 * Run once per process, DEL removes the veth before answering.
 */
export interface CniContext {
  deferLinkRemoval: boolean;
  /** Networks already made or checked (or being so), by their options (the service keeps them). */
  networks: Map<string, Promise<BridgeNetwork>>;
  /** Veth removals still to come, by namespace path and interface: each runs its removal now. */
  pendingRemovals: Map<string, () => Promise<void>>;
}

/** How long a deferred veth removal waits for the namespace to go. */
const REMOVAL_GRACE_MS = 2000;

/** Pending veth removals are found by the namespace and the interface name inside it. */
const removalKey = (netnsPath: string, ifname: string) => `${netnsPath}\0${ifname}`;

const tryLater = (what: string) => new CniError(CNI_CODES.TRY_AGAIN_LATER, `${what}; try again later`);

export async function add(env: CniEnvironment, config: CniConfig, context: CniContext): Promise<CniResult> {
  const netnsPath = env.netns as string;
  const record: AttachmentRecord = {
    network: config.network.name,
    containerId: env.containerId,
    ifname: env.ifname,
    netnsPath,
    status: 'creating',
    pid: process.pid,
    created: new Date().toISOString(),
  };
  const networkKey = JSON.stringify([config.driver ?? 'bridge', config.network, config.lan, config.overlay]);
  // The namespace opens, and then its rtnetlink socket on a thread inside it, while the
  // attachment is claimed and the options checked: neither waits for the other.
  const opening = NetNamespace.open(netnsPath);
  opening.then((ns) => ns.connection().catch(() => undefined), () => undefined);
  const [created, network, opened] = await Promise.allSettled([claimAttachment(record), networkFor(config, networkKey, context), opening]);
  if (created.status === 'rejected') {
    if (opened.status === 'fulfilled') opened.value.close();
    throw created.reason;
  }
  try {
    if (network.status === 'rejected') throw network.reason;
    await context.pendingRemovals.get(removalKey(netnsPath, env.ifname))?.();
    // The container's names on the network end with its id (and short id), as Podman's. CNI has no
    // gateway priority: a container's first attachment gives its default routes, as with the reference plugins.
    const input = { ...checkConnectInput({ ...config.connect, ifname: env.ifname }), owner: env.containerId, keepDefaultRoute: true };
    if (opened.status === 'rejected') throw opened.reason;
    const [connected, endpoint] = await connectOnce(network.value, opened.value, input, config, networkKey, context);
    try {
      await writeAttachment({ ...record, status: 'ready', endpoint: endpointKey(endpoint.network, endpoint.netns.inode) });
    } catch (error) {
      // Not recorded, the endpoint would be nobody's to remove: it goes, or the error says it stays.
      const undo = new Undo();
      undo.push(`endpoint of ${env.containerId} ${env.ifname}`, () => connected.disconnect(netnsPath));
      throw await undo.fail(error);
    }
    const ours = addResult(config.cniVersion, connected.options, endpoint, config.dns ?? resolverDns(connected.options));
    return config.prevResult ? chainResult(config.prevResult, ours) : ours;
  } catch (error) {
    await removeAttachment(record);
    throw error;
  } finally {
    if (opened.status === 'fulfilled') opened.value.close();
  }
}

/** Records a new attachment: 11 while another ADD of it is at work, 109 when it exists. */
async function claimAttachment(record: AttachmentRecord): Promise<void> {
  if (await createAttachment(record)) return;
  const existing = await readAttachment(record.network, record.containerId, record.ifname);
  if (existing && inProgress(existing)) throw tryLater(`an ADD of ${record.containerId} ${record.ifname} is in progress`);
  // A ready attachment whose endpoint is gone, or whose namespace is (deleted without a DEL), is stale.
  const endpoint = existing && (await endpointOf(existing));
  const live = endpoint !== undefined && (await NetNamespace.exists(endpoint.netnsPath, endpoint.netnsInode));
  if (existing?.status === 'ready' && live) {
    throw new CniError(nsnetCode('INTERFACE_EXISTS'), `container ${record.containerId} already has ${record.ifname} on network "${record.network}"`);
  }
  // Left by an ADD that died, or stale: the endpoint it may have made goes first.
  if (endpoint) await disconnect(endpoint);
  await writeAttachment(record);
}

/**
 * The network of a config: made (or checked) once, then remembered by the
 * service. A connect re-checks under the state lock that the network is
 * still the same, so a stale copy costs one retry, never a wrong result.
 */
function networkFor(config: CniConfig, key: string, context: CniContext): Promise<BridgeNetwork> {
  let network = context.networks.get(key);
  if (!network) {
    // Remembered while it is made, so that a burst of ADDs makes it once.
    const { lan } = config;
    if (lan) network = lan.driver === 'macvlan' ? createMacvlanNetwork(lan.options) : createIpvlanNetwork(lan.options);
    else if (config.overlay) network = createOverlayNetwork(config.overlay);
    else network = config.driver === 'routed' ? createRoutedNetwork(routedNetworkOptions(config.network)) : createBridgeNetwork(config.network);
    context.networks.set(key, network);
    network.catch(() => context.networks.delete(key));
  }
  return network;
}

/** Connects through a remembered network, and through a fresh look-up if that one went stale. */
async function connectOnce(
  network: BridgeNetwork,
  ns: NetNamespace,
  input: ConnectInput,
  config: CniConfig,
  key: string,
  context: CniContext,
): Promise<[BridgeNetwork, Endpoint]> {
  try {
    return [network, await network.connectChecked(ns, input)];
  } catch (error) {
    // Removed and made again, or its bridge deleted, since it was remembered.
    const stale = error instanceof NsnetError && (error.code === 'NETWORK_NOT_FOUND' || error.code === 'ENODEV');
    if (!stale || !context.networks.delete(key)) throw error;
    const fresh = await networkFor(config, key, context);
    return [fresh, await fresh.connectChecked(ns, input)];
  }
}

/** Removes an attachment; gone already (or never made) is fine. */
export async function del(env: CniEnvironment, config: CniConfig, context: CniContext): Promise<void> {
  const record = await readAttachment(config.network.name, env.containerId, env.ifname);
  if (!record) return;
  if (inProgress(record)) throw tryLater(`an ADD of ${env.containerId} ${env.ifname} is in progress`);
  await detach(record, context);
}

async function detach(record: AttachmentRecord, context: CniContext): Promise<void> {
  const endpoint = await endpointOf(record);
  // A macvlan or ipvlan child has no host end to cut off: it goes at once, in its namespace.
  if (endpoint?.link) await disconnect(endpoint);
  else if (endpoint) {
    // The veth outlives its address for a moment: it goes down, so that nothing reaches it
    // through an address that may be another container's next (its name, veth and the
    // endpoint's random id, is its own). Alongside the release: a link going down waits out
    // an RCU grace period (~1 ms), and a new ADD takes a static address in more than that.
    // A veth whose removal waits still loses its routes as it goes down: a default route it gives goes to the next attachment first.
    if (context.deferLinkRemoval) await unlessGone(() => handOverDefaultRoutes(endpoint));
    const cutOff = context.deferLinkRemoval ? unlessGone(() => NetNamespace.host().links.set(endpoint.hostIfname, { up: false })) : undefined;
    const [cut, disconnected] = await Promise.allSettled([cutOff, disconnect(endpoint, { keepLinks: context.deferLinkRemoval })]);
    if (disconnected.status === 'rejected') throw disconnected.reason;
    // A veth that would not go down must not outlive its released address: it goes now.
    if (cut.status === 'rejected') await removeHostEnd(endpoint);
    else if (context.deferLinkRemoval) removeLater(endpoint, context);
  }
  await removeAttachment(record);
}

function removeLater(endpoint: EndpointRecord, context: CniContext): void {
  const key = removalKey(endpoint.netnsPath, endpoint.ifname);
  let removal: Promise<void> | undefined;
  const removeNow = () => {
    clearTimeout(timer);
    if (context.pendingRemovals.get(key) === removeNow) context.pendingRemovals.delete(key);
    // Gone with its namespace already is the usual case; anything else is
    // logged (the DEL has been answered) and left to reconcile.
    removal ??= removeHostEnd(endpoint).catch((error: unknown) => {
      process.stderr.write(`nsnet cni: could not remove ${endpoint.hostIfname} after DEL: ${messageOf(error)}\n`);
    });
    return removal;
  };
  const timer = setTimeout(removeNow, REMOVAL_GRACE_MS);
  context.pendingRemovals.set(key, removeNow);
}

export async function check(env: CniEnvironment, config: CniConfig): Promise<void> {
  requireVersion('CHECK', config.cniVersion, '0.4.0');
  if (!config.prevResult) throw invalidConfig('prevResult', 'CHECK needs the result of the ADD');
  const record = await readAttachment(config.network.name, env.containerId, env.ifname);
  if (!record || record.status !== 'ready') {
    throw new CniError(CNI_CODES.UNKNOWN_CONTAINER, `no attachment of container ${env.containerId} ${env.ifname} on network "${config.network.name}"`);
  }
  const [network, endpoint] = await Promise.all([currentStore().read<NetworkRecord>('networks', record.network), endpointOf(record)]);
  if (!network) throw checkFailed([`network "${record.network}" is gone`]);
  if (!endpoint) throw checkFailed([`the endpoint of ${env.containerId} ${env.ifname} is gone`]);
  const problems = await attachmentProblems(network, endpoint, env.netns as string, config.prevResult);
  if (problems.length) throw checkFailed(problems);
}

/** Whether an ADD can work: 50 when it cannot, 51 when existing attachments are damaged too. */
export async function status(config: CniConfig): Promise<void> {
  requireVersion('STATUS', config.cniVersion, '1.1.0');
  let network: NetworkRecord | undefined;
  try {
    network = await currentStore().read<NetworkRecord>('networks', config.network.name);
    resolveFirewall(config.network.firewall ?? network?.firewall ?? 'auto');
  } catch (error) {
    throw new CniError(CNI_CODES.NOT_AVAILABLE, `nsnet cannot add containers: ${(error as Error).message}`);
  }
  // A routed network has no bridge to be missing.
  if (!network || networkDriver(network) === 'routed') return;
  const [attachments, bridge] = await Promise.all([
    attachmentsOf(network.name),
    unlessGone(() => NetNamespace.host().links.get(network.bridge)),
  ]);
  if (!bridge && attachments.length) {
    throw new CniError(
      CNI_CODES.NOT_AVAILABLE_DAMAGED,
      `bridge ${network.bridge} of network "${network.name}" is missing, ${attachments.length} attachment(s) cut off; run nsnet reconcile`,
    );
  }
}

/** Removes the attachments of this network that the runtime no longer knows of. */
export async function gc(config: CniConfig, context: CniContext): Promise<void> {
  requireVersion('GC', config.cniVersion, '1.1.0');
  const valid = config.validAttachments;
  if (!valid) throw invalidConfig('cni.dev/valid-attachments', 'GC needs the list of attachments that stay');
  const stale = (await attachmentsOf(config.network.name)).filter((a) => !valid.has(`${a.containerId}/${a.ifname}`) && !inProgress(a));
  const failures: string[] = [];
  for (const record of stale) await detach(record, context).catch((error: Error) => failures.push(error.message));
  if (failures.length) throw new CniError(nsnetCode('INTERNAL'), `GC left attachments behind: ${failures.join('; ')}`);
}
