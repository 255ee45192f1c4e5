/** The address leases of a network, as stored: a table per address family. */
import { type Static, Type } from '@sinclair/typebox';

export const LeaseTableSchema = Type.Object({
  /** address -> owner (endpoint id) */
  addresses: Type.Record(Type.String(), Type.String()),
  /** Offset of the address handed out last, as a decimal string. */
  last: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
});
export type LeaseTable = Static<typeof LeaseTableSchema>;

export const NetworkLeasesSchema = Type.Object({
  ipv4: LeaseTableSchema,
  ipv6: Type.Optional(LeaseTableSchema),
});
export type NetworkLeases = Static<typeof NetworkLeasesSchema>;
