/** The address leases of a network, as stored: a table per address family. */
import v = require('valibot');

import { jsonObject, jsonRecord } from './schema';

export const LeaseTableSchema = jsonObject({
  /**
   * address -> owner (endpoint id). Strings only: a table holds an entry per
   * address, and addresses reach the kernel from the endpoint records.
   */
  addresses: jsonRecord(v.string(), v.string()),
  /** Offset of the address handed out last, as a decimal string. */
  last: v.optional(v.pipe(v.string(), v.regex(/^[0-9]+$/))),
});
export type LeaseTable = v.InferOutput<typeof LeaseTableSchema>;

export const NetworkLeasesSchema = jsonObject({
  ipv4: LeaseTableSchema,
  ipv6: v.optional(LeaseTableSchema),
});
export type NetworkLeases = v.InferOutput<typeof NetworkLeasesSchema>;
