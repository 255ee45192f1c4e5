/**
 * What the state directory says is there, for listings (`nsnet ps`, `network
 * ls|inspect`, `topology`): records only, each kind read once. Apart from
 * the modules that make or change networks, and from namespaces (a listing
 * prints their paths), so that a command that lists loads none of them.
 */
import { NsnetError } from '../errors';
import { currentStore } from '../state/store';
import type { ContainerMode, ContainerRecord } from '../types/container';
import { endpointKey, type EndpointRecord, endpointView, type EndpointView } from '../types/endpoint';
import { checkNetworkName, type NetworkRecord } from '../types/network';
import type { Endpoint } from './endpoint-record';

/** What is known about a container, as `listContainers` reports it; `E`, its endpoint, as the listing makes endpoints. */
export interface ContainerInfo<E = Endpoint> {
  id: string;
  mode: ContainerMode;
  network?: string;
  /** The container whose namespace this one joined ('container:<id>'). */
  joined?: string;
  joinedBy: string[];
  netnsPath?: string;
  status: ContainerRecord['status'];
  created: string;
  endpoint?: E;
}

/** An endpoint with its namespace as the path that opens it: what the nsnet command prints of a NetNamespace. */
export type ListedEndpoint = EndpointView<string>;

export function listedEndpoint(record: EndpointRecord): ListedEndpoint {
  return endpointView(record, record.netnsPath);
}

let collator: Intl.Collator | undefined;

/**
 * The order of ids and names: localeCompare's. Making its collator takes
 * milliseconds, so strings of the id alphabet are ordered without one where
 * the locale is one whose order of them is the root collation's (C, POSIX,
 * English, none), as ICU picks the locale: LC_ALL, else LC_MESSAGES, else LANG.
 */
function byText(a: string, b: string): number {
  if (rootLocale && ID_TEXT.test(a) && ID_TEXT.test(b)) return rootOrder(a, b);
  collator ??= new Intl.Collator();
  return collator.compare(a, b);
}

const ID_TEXT = /^[a-zA-Z0-9_.-]*$/;
const rootLocale = /^(|C|POSIX|en)([._@-]|$)/.test(process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '');

/** The root collation's rank of each character of the id alphabet, case aside: '_' '-' '.', digits, then letters. */
const RANK = new Uint8Array(128);
[...'_-.0123456789abcdefghijklmnopqrstuvwxyz'].forEach((c, i) => {
  RANK[c.charCodeAt(0)] = RANK[c.toUpperCase().charCodeAt(0)] = i + 1;
});

/**
 * The root collation of two strings of the id alphabet: by character rank,
 * case aside, a prefix first; then by case, lowercase first.
 */
export function rootOrder(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = RANK[a.charCodeAt(i)] - RANK[b.charCodeAt(i)];
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < length; i++) {
    const [upperA, upperB] = [isUpper(a.charCodeAt(i)), isUpper(b.charCodeAt(i))];
    if (upperA !== upperB) return upperA ? 1 : -1;
  }
  return 0;
}

const isUpper = (code: number) => code >= 65 && code <= 90;

/** The endpoints of every network, read once. */
export async function listedEndpoints(): Promise<ListedEndpoint[]> {
  return (await currentStore().list('endpoints')).map(listedEndpoint);
}

/**
 * Every container in the state directory, by id, and the endpoints of every
 * network, from one reading of each kind of record; `endpointOf` makes each
 * endpoint, once (a container's is one of the list).
 */
export async function containersAndEndpoints<E>(endpointOf: (record: EndpointRecord) => E): Promise<{ containers: ContainerInfo<E>[]; endpoints: E[] }> {
  const store = currentStore();
  const [records, endpointRecords] = await Promise.all([store.list('containers'), store.list('endpoints')]);
  const endpoints = endpointRecords.map((record) => endpointOf(record));
  const endpointsByKey = new Map(endpointRecords.map((e, i) => [endpointKey(e.network, e.netnsInode), endpoints[i]]));
  const containers = records
    .sort((a, b) => byText(a.id, b.id))
    .map((record) => {
      const info: ContainerInfo<E> = {
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

