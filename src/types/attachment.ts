/** CNI attachments: what a runtime attached, as stored. */
import v = require('valibot');

import { Integer, jsonObject } from './schema';

export const AttachmentRecordSchema = jsonObject({
  network: v.string(),
  containerId: v.string(),
  ifname: v.string(),
  netnsPath: v.optional(v.string()),
  /** The endpoint's key, once connected. */
  endpoint: v.optional(v.string()),
  /** 'creating' while an ADD is at work, by process `pid`. */
  status: v.picklist(['creating', 'ready']),
  pid: Integer,
  created: v.string(),
});
export type AttachmentRecord = v.InferOutput<typeof AttachmentRecordSchema>;
