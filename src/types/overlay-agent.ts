/**
 * What a running overlay agent tells of itself in
 * `<state dir>/overlay/<network>.json`: its pid and the lease its host's
 * keys are on (connects claim addresses on that lease).
 */
import v = require('valibot');

import { IpText } from './record-text';
import { jsonObject } from './schema';

export const OverlayAgentInfoSchema = jsonObject({
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** An etcd lease id, decimal text. */
  leaseId: v.pipe(v.string(), v.regex(/^\d+$/)),
  network: v.string(),
  /** This host's underlay address: its name in the store. */
  underlay: IpText,
  /** When the agent took the lease (ISO time). */
  since: v.pipe(v.string(), v.isoTimestamp()),
});
export type OverlayAgentInfo = v.InferOutput<typeof OverlayAgentInfoSchema>;
