/**
 * `nsnet overlay serve NAME`: the overlay agent of one network on this
 * host, built from the network's record: the store it names, this host's
 * underlay address, the lease TTL, and the VXLAN device the other hosts'
 * containers are programmed on. Runs until SIGTERM or SIGINT (the lease is
 * revoked only when this host has no endpoint on the network: running
 * containers keep their addresses through a restart within the TTL), or
 * until REMOVE_SIGNAL or the network's record is gone (the network is
 * being removed: the lease is revoked, this host's keys go at once).
 */
import { hostname } from 'node:os';

import { ClusterStore } from '../cluster/store';
import { NsnetError } from '../errors';
import { tellStarter } from '../service-socket';
import { currentStore } from '../state/store';
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import type { AddressEntry, OverlayRecord } from '../types/overlay';
import { OverlayAgent } from './overlay-agent';
import { removeOverlayAgentInfo, writeOverlayAgentInfo } from './overlay-agent-file';
import { OVERLAY_READY_FD_VARIABLE, OVERLAY_REMOVE_SIGNAL } from './overlay-agent-process';
import { addressEntry } from './overlay-claim';
import { applyRemotes, listRemotes } from './overlay-dataplane';
import { RemoteNames } from './overlay-names';

/** How often the agent looks whether its network's record is still there, and whether the resolver was started anew. */
const RECORD_CHECK_MS = 2000;

async function overlayRecord(name: string): Promise<(NetworkRecord & { overlay: OverlayRecord }) | undefined> {
  const record = (await currentStore().read('networks', name)) as NetworkRecord | undefined;
  return record?.overlay ? (record as NetworkRecord & { overlay: OverlayRecord }) : undefined;
}

/** This host's endpoints on the network, as the store holds them. */
async function ownEntries(name: string, overlay: OverlayRecord): Promise<AddressEntry[]> {
  const endpoints = (await currentStore().list('endpoints')) as EndpointRecord[];
  return endpoints.filter((endpoint) => endpoint.network === name && endpoint.ipv4 !== undefined).map((endpoint) => addressEntry(overlay, endpoint));
}

export async function runOverlayAgent(name: string): Promise<void> {
  const record = await overlayRecord(name);
  if (!record) throw new NsnetError('NETWORK_NOT_FOUND', `no overlay network "${name}" on this host`, { network: name });
  const { overlay } = record;
  let release = false;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const remove = () => {
    release = true;
    stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once(OVERLAY_REMOVE_SIGNAL, remove);
  const store = ClusterStore.open(overlay.store);
  const since = new Date().toISOString();
  const names = new RemoteNames(record);
  const agent = new OverlayAgent({
    store,
    network: name,
    host: { underlay: overlay.underlay, hostname: hostname(), since },
    leaseTtl: overlay.leaseTtl,
    apply: async (change) => {
      await applyRemotes(overlay.vxlan, change);
      await names.apply(change);
    },
    installed: () => listRemotes(overlay.vxlan),
    ownEntries: () => ownEntries(name, overlay),
    onLease: (leaseId) => writeOverlayAgentInfo({ pid: process.pid, leaseId, network: name, underlay: overlay.underlay, since }),
  });
  try {
    await agent.start();
    process.stderr.write(`nsnet overlay ${name}: on lease ${agent.lease} as host ${overlay.underlay}\n`);
    tellStarter(OVERLAY_READY_FD_VARIABLE);
    const check = setInterval(() => {
      overlayRecord(name).then(
        (still) => still || remove(),
        () => undefined, // unreadable for a moment: looked at again
      );
      void names.refresh();
    }, RECORD_CHECK_MS);
    await stopped;
    clearInterval(check);
  } finally {
    await agent.stop({ release });
    await names.removeAll();
    removeOverlayAgentInfo(name, process.pid);
    await store.close();
  }
}
