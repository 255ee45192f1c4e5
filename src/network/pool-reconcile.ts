/**
 * reconcile()'s part for warm pools: the records of an owner that died go
 * (its namespaces and veths went with it; those an older release mounted
 * are deleted first); a live owner's are left alone, their veths kept
 * although no endpoint record names them yet. Under the state lock.
 */
import { stat } from 'node:fs/promises';

import { NetNamespace } from '../netns';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import type { PoolEntryRecord } from '../types/pool';
import { heldByDescriptor } from './pool-entry';
import { attemptPart } from './teardown';

export interface PoolSweep {
  /** The waiting namespaces of dead owners' entries removed (their paths, as their records give them). */
  removed: string[];
  /** The endpoint ids of live owners' entries, whose veths stay. */
  live: string[];
}

export async function sweepPoolEntries(failures: string[]): Promise<PoolSweep> {
  const store = currentStore();
  const sweep: PoolSweep = { removed: [], live: [] };
  for (const entry of await store.list<PoolEntryRecord>('pool')) {
    if (processAlive(entry.pid)) {
      sweep.live.push(entry.id);
      continue;
    }
    if (!heldByDescriptor(entry) && !(await deleteMounted(entry, failures))) continue;
    if (await attemptPart(failures, `record of pool entry ${entry.id}`, () => store.remove('pool', entry.id))) sweep.removed.push(entry.netnsPath);
  }
  return sweep;
}

/** The namespace of an entry an older release mounted, deleted (with its veth); true once it is gone. */
async function deleteMounted(entry: PoolEntryRecord, failures: string[]): Promise<boolean> {
  // Not there once a setup took the entry (the container's namespace now, reconcile's as a container).
  const inode = (await stat(entry.netnsPath).catch(() => undefined))?.ino;
  const deleted = inode === undefined || (await attemptPart(failures, `netns of pool entry ${entry.id}`, () => NetNamespace.atPath(entry.netnsPath, inode).delete()));
  // A deletion killed between the unmount and the unlink leaves the file.
  if (deleted) await NetNamespace.removeLeftover(entry.netnsPath);
  return deleted;
}
