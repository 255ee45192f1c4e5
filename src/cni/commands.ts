/** ADD, DEL, CHECK, STATUS and GC on nsnet's bridge networks. */
import { disconnect, removeHostEnd } from '../network/endpoint';
import type { EndpointRecord } from '../network/endpoint-record';
import { createBridgeNetwork } from '../network/network';
import type { NetworkRecord } from '../network/options';
import { resolveFirewall } from '../firewall/firewall';
import { NetNamespace } from '../netns';
import { currentStore } from '../state/store';
import {
  type AttachmentRecord,
  attachmentsOf,
  createAttachment,
  inProgress,
  readAttachment,
  removeAttachment,
  writeAttachment,
} from './attachments';
import { attachmentProblems, checkFailed } from './check';
import type { CniConfig, CniEnvironment } from './config';
import { CNI_CODES, CniError, invalidConfig, nsnetCode } from './errors';
import { addResult, chainResult, type CniResult } from './result';
import { requireVersion } from './versions';

/**
 * How a command runs. In the long-running service, DEL answers once the
 * address, ports and firewall entries are released and removes the veth
 * (~16 ms of kernel time) just after; an ADD into the same namespace waits
 * for that removal first. Run once per process, DEL waits for it.
 */
export interface CniContext {
  deferLinkRemoval: boolean;
  /** Link removals still running, by namespace path. */
  pendingRemovals: Map<string, Promise<void>>;
}

const tryLater = (what: string) => new CniError(CNI_CODES.TRY_AGAIN_LATER, `${what}; try again later`);

export async function add(env: CniEnvironment, config: CniConfig, context: CniContext): Promise<CniResult> {
  const netnsPath = env.netns as string;
  const network = await createBridgeNetwork(config.network);
  await context.pendingRemovals.get(netnsPath);
  const record: AttachmentRecord = {
    network: network.name,
    containerId: env.containerId,
    ifname: env.ifname,
    netnsPath,
    status: 'creating',
    pid: process.pid,
    created: new Date().toISOString(),
  };
  if (!(await createAttachment(record))) {
    const existing = await readAttachment(network.name, env.containerId, env.ifname);
    if (existing && inProgress(existing)) throw tryLater(`an ADD of ${env.containerId} ${env.ifname} is in progress`);
    if (existing?.status === 'ready') {
      throw new CniError(nsnetCode('INTERFACE_EXISTS'), `container ${env.containerId} already has ${env.ifname} on network "${network.name}"`);
    }
    // Left by an ADD that died: that one's endpoint is reconcile's to remove.
    await writeAttachment(record);
  }
  try {
    const endpoint = await network.connect(netnsPath, { ...config.connect, ifname: env.ifname });
    const hostEnd = await NetNamespace.host().links.get(endpoint.hostIfname);
    await writeAttachment({ ...record, status: 'ready', endpoint: `${network.name}@${endpoint.netns.inode}` });
    const ours = addResult(config.cniVersion, network.options, endpoint, hostEnd.mac, config.dns);
    return config.prevResult ? chainResult(config.prevResult, ours) : ours;
  } catch (error) {
    await removeAttachment(record);
    throw error;
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
  const endpoint = record.endpoint ? await currentStore().read<EndpointRecord>('endpoints', record.endpoint) : undefined;
  if (endpoint) {
    await disconnect(endpoint, { keepLinks: context.deferLinkRemoval });
    if (context.deferLinkRemoval) removeLater(endpoint, context);
  }
  await removeAttachment(record);
}

function removeLater(endpoint: EndpointRecord, context: CniContext): void {
  const path = endpoint.netnsPath;
  const removal = removeHostEnd(endpoint)
    .catch(() => undefined) // gone with its namespace already, or reconcile's to finish
    .finally(() => {
      if (context.pendingRemovals.get(path) === removal) context.pendingRemovals.delete(path);
    });
  context.pendingRemovals.set(path, removal);
}

export async function check(env: CniEnvironment, config: CniConfig): Promise<void> {
  requireVersion('CHECK', config.cniVersion, '0.4.0');
  if (!config.prevResult) throw invalidConfig('prevResult', 'CHECK needs the result of the ADD');
  const record = await readAttachment(config.network.name, env.containerId, env.ifname);
  if (!record || record.status !== 'ready') {
    throw new CniError(CNI_CODES.UNKNOWN_CONTAINER, `no attachment of container ${env.containerId} ${env.ifname} on network "${config.network.name}"`);
  }
  const store = currentStore();
  const [network, endpoint] = await Promise.all([
    store.read<NetworkRecord>('networks', record.network),
    record.endpoint ? store.read<EndpointRecord>('endpoints', record.endpoint) : undefined,
  ]);
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
  if (!network) return;
  const [attachments, bridge] = await Promise.all([
    attachmentsOf(network.name),
    NetNamespace.host()
      .links.get(network.bridge)
      .catch(() => undefined),
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
