/** CNI attachments: what a runtime attached, as stored. */
import { type Static, Type } from '@sinclair/typebox';

export const AttachmentRecordSchema = Type.Object({
  network: Type.String(),
  containerId: Type.String(),
  ifname: Type.String(),
  netnsPath: Type.Optional(Type.String()),
  /** The endpoint's key, once connected. */
  endpoint: Type.Optional(Type.String()),
  /** 'creating' while an ADD is at work, by process `pid`. */
  status: Type.Union([Type.Literal('creating'), Type.Literal('ready')]),
  pid: Type.Integer(),
  created: Type.String(),
});
export type AttachmentRecord = Static<typeof AttachmentRecordSchema>;
