/**
 * Warm pools: the record of a prepared namespace waiting in a process's pool.
 * Written before its veth is made; removed once a setup has taken the entry
 * (its endpoint recorded) or the pool has deleted it. A record whose owner is
 * dead is reconcile's to remove (with the namespace and veth, where a mount
 * of an older release's kept them).
 */
import v = require('valibot');

import { FirewallInterfaceName } from './record-text';
import { Integer, jsonObject } from './schema';

export const PoolEntryRecordSchema = jsonObject({
  /** The id of the endpoint the entry becomes, from which its host veth's name and tag derive. */
  id: v.string(),
  network: v.string(),
  /**
   * The owner's descriptor of the namespace while it waits
   * (`/proc/<pid>/fd/<n>`: gone, with the namespace and its veth, when the
   * owner dies); in records of older releases, its mount under the netns directory.
   */
  netnsPath: v.string(),
  hostIfname: FirewallInterfaceName,
  /** The process whose pool holds the entry. */
  pid: Integer,
  created: v.string(),
});
export type PoolEntryRecord = v.InferOutput<typeof PoolEntryRecordSchema>;
