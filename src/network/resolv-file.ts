/**
 * A container's resolv.conf: written for a namespace of its own at
 * `<netnsEtcDir>/<namespace name>/resolv.conf`, where `ip netns exec` and
 * nsnet's own spawn find it, and removed with the container. On a network
 * that resolves names it points at the resolver on the gateway; elsewhere at
 * the caller's servers, or the host's that a container can reach.
 */
import { mkdirSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { readHostResolvConf, reachableHostNameservers, type ResolvConf } from '../dns/host-resolv-conf';
import { containerResolvConf } from '../dns/resolv-conf';
import { faultPoint } from '../fault';
import { netnsEtcDir } from '../netns-etc';
import type { ContainerRecord } from '../types/container';
import { resolverAddresses } from '../types/dns';
import { type NetworkRecord, resolvesNames } from '../types/network';
import type { ResolverOptions } from './dns-options';

/** Where the resolv.conf of the namespace named `name` goes. */
export function resolvConfPath(name: string): string {
  return join(netnsEtcDir(), name, 'resolv.conf');
}

/** The file's text: for a container on `network` (none in mode 'none'), with the caller's options. */
export async function resolvConfText(network: NetworkRecord | undefined, options: ResolverOptions, host?: Promise<ResolvConf>): Promise<string> {
  const hostConf = await (host ?? readHostResolvConf());
  const resolver = network !== undefined && resolvesNames(network);
  let nameservers: string[];
  if (resolver) nameservers = resolverAddresses(network);
  else nameservers = options.dns?.length ? options.dns : await reachableHostNameservers(hostConf);
  return containerResolvConf({
    nameservers,
    host: hostConf,
    ...(options.dnsSearch ? { search: options.dnsSearch } : {}),
    ...(options.dnsOptions ? { options: options.dnsOptions } : {}),
    defaultNdots0: resolver,
  });
}

/** Whether the file's directory is to be made (and so removed with it): known, and recorded, before anything is made. */
export async function resolvConfDirMissing(path: string): Promise<boolean> {
  return statSync(dirname(path), { throwIfNoEntry: false }) === undefined;
}

/** The file a write goes to first; one name, as one setup at a time writes a container's file, so that a removal after a crash finds it. */
const temporaryOf = (path: string) => `${path}.nsnet-tmp`;

/**
 * Writes the file whole: a temporary file renamed over it, so that a reader
 * never sees half of it. Synchronously: these few calls on a small file cost
 * less than their trips through libuv's thread pool, where they would queue
 * behind the setup's own state I/O (setupContainer was ~0.5 ms slower so).
 */
export async function writeResolvConf(path: string, text: string): Promise<void> {
  faultPoint('write resolv.conf', path);
  mkdirSync(dirname(path), { recursive: true });
  const temporary = temporaryOf(path);
  try {
    writeFileSync(temporary, text, { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Removes a file; gone already is fine. */
function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Removes the file, and its directory if it was made for it and holds
 * nothing else; gone already is fine. Synchronously, as the write.
 */
export async function removeResolvConf(path: string, dirMade: boolean | undefined): Promise<void> {
  faultPoint('remove resolv.conf', path);
  removeFile(path);
  if (dirMade && removeDirIfEmpty(dirname(path))) return;
  // What else the directory holds may be a write's temporary file, left by a crash.
  removeFile(temporaryOf(path));
  if (dirMade) removeDirIfEmpty(dirname(path));
}

/** Removes a directory unless something is in it (false then); gone already is fine. */
function removeDirIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** removeResolvConf() for the file a container's record names, if any. */
export async function removeContainerResolvConf(record: ContainerRecord): Promise<void> {
  if (record.resolvConf !== undefined) await removeResolvConf(record.resolvConf, record.resolvConfDirMade);
}
