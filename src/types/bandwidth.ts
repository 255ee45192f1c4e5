/** Bandwidth limits of an endpoint: as a connect asks for them, and as its record keeps them. */
import v = require('valibot');

import { FirewallInterfaceName } from './record-text';
import { Integer, strictJsonObject } from './schema';

/** Bits per second, or tc's text (`'10mbit'`, `'1.5gbit'`); bytes, or tc's text (`'32kb'`). */
const Amount = v.union([v.number(), v.string()]);

/** One direction's limit as asked for; a missing rate is INVALID_BANDWIDTH, not a schema problem. */
const LimitOptionSchema = strictJsonObject({ rate: v.optional(Amount), burst: v.optional(Amount) });

export const BandwidthOptionsSchema = strictJsonObject({
  /** What the container receives. */
  ingress: v.optional(LimitOptionSchema),
  /** What the container sends. */
  egress: v.optional(LimitOptionSchema),
});
export type BandwidthOptions = v.InferOutput<typeof BandwidthOptionsSchema>;

const LimitSchema = strictJsonObject({
  /** Bits per second. */
  rate: Integer,
  /** Bytes. */
  burst: Integer,
});
export type BandwidthLimit = v.InferOutput<typeof LimitSchema>;

/** The limits of an endpoint, checked; `ifb`: the device its egress is shaped on (named before it is made). */
export const BandwidthRecordSchema = strictJsonObject({
  ingress: v.optional(LimitSchema),
  egress: v.optional(LimitSchema),
  ifb: v.optional(FirewallInterfaceName),
});
export type BandwidthRecord = v.InferOutput<typeof BandwidthRecordSchema>;
