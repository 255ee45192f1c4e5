/**
 * Warm pools: the record of a prepared namespace waiting in a process's pool.
 * Written before the namespace is made; removed once a setup has taken the
 * entry (its endpoint recorded) or the pool has deleted it. A record whose
 * owner is dead is reconcile's to remove, with its namespace and veth.
 */
import v = require('valibot');

import { FirewallInterfaceName } from './record-text';
import { Integer, jsonObject } from './schema';

export const PoolEntryRecordSchema = jsonObject({
  /** The id of the endpoint the entry becomes, from which its host veth's name and tag derive. */
  id: v.string(),
  network: v.string(),
  /** Where the namespace is mounted while it waits. */
  netnsPath: v.string(),
  hostIfname: FirewallInterfaceName,
  /** The process whose pool holds the entry. */
  pid: Integer,
  created: v.string(),
});
export type PoolEntryRecord = v.InferOutput<typeof PoolEntryRecordSchema>;
