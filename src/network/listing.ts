/**
 * What the state directory says is there, for listings (`nsnet ps`, `network
 * ls|inspect`, `topology`): records only, each kind read once. Apart from
 * the modules that make or change networks, so that a command that lists
 * loads none of them.
 */
import { NsnetError } from '../errors';
import { currentStore } from '../state/store';
import type { ContainerMode, ContainerRecord } from '../types/container';
import { endpointKey } from '../types/endpoint';
import { checkNetworkName, type NetworkRecord } from '../types/network';
import { type Endpoint, toEndpoint } from './endpoint-record';

/** What is known about a container, as `listContainers` reports it. */
export interface ContainerInfo {
  id: string;
  mode: ContainerMode;
  network?: string;
  /** The container whose namespace this one joined ('container:<id>'). */
  joined?: string;
  joinedBy: string[];
  netnsPath?: string;
  status: ContainerRecord['status'];
  created: string;
  endpoint?: Endpoint;
}

/** The order of ids and names: localeCompare's, with its collator made once rather than on every comparison. */
const byText = new Intl.Collator().compare;

/** Every container in the state directory, by id. */
export async function listContainers(): Promise<ContainerInfo[]> {
  return (await listContainersAndEndpoints()).containers;
}

/** The endpoints of every network, read once. */
export async function listEndpoints(): Promise<Endpoint[]> {
  return (await currentStore().list('endpoints')).map((record) => toEndpoint(record));
}

/** listContainers() and listEndpoints() from one reading of the endpoint records. */
export async function listContainersAndEndpoints(): Promise<{ containers: ContainerInfo[]; endpoints: Endpoint[] }> {
  const store = currentStore();
  const [records, endpointRecords] = await Promise.all([store.list('containers'), store.list('endpoints')]);
  const endpoints = endpointRecords.map((record) => toEndpoint(record));
  const endpointsByKey = new Map(endpointRecords.map((e, i) => [endpointKey(e.network, e.netnsInode), endpoints[i]]));
  const containers = records
    .sort((a, b) => byText(a.id, b.id))
    .map((record) => {
      const info: ContainerInfo = {
        id: record.id,
        mode: record.mode,
        joinedBy: record.joinedBy ?? [],
        status: record.status,
        created: record.created,
      };
      if (record.network) info.network = record.network;
      if (record.joined) info.joined = record.joined;
      if (record.netnsPath) info.netnsPath = record.netnsPath;
      const endpoint = record.endpoint ? endpointsByKey.get(record.endpoint) : undefined;
      if (endpoint) info.endpoint = endpoint;
      return info;
    });
  return { containers, endpoints };
}

/** The record of the network of this name, or NETWORK_NOT_FOUND. */
export async function networkRecord(name: string): Promise<NetworkRecord> {
  checkNetworkName(name);
  const record = await currentStore().read('networks', name);
  if (!record) throw new NsnetError('NETWORK_NOT_FOUND', `no network named "${name}"`);
  return record;
}

/** Every network's record, by name. */
export async function networkRecords(): Promise<NetworkRecord[]> {
  return (await currentStore().list('networks')).sort((a, b) => byText(a.name, b.name));
}

