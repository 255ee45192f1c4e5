/** Endpoints: the options of a connect, and the record stored for an endpoint. */
import { type Static, Type } from '@sinclair/typebox';

import { PublishedPortSchema, PublishSpecSchema } from './ports';

export const ConnectOptionsSchema = Type.Object(
  {
    /** Interface name inside the namespace; eth0 when omitted. */
    ifname: Type.Optional(Type.String()),
    /** Static IPv4 address; else the next free one. */
    ip: Type.Optional(Type.String()),
    /** Static IPv6 address (dual-stack networks); else the next free one. */
    ipv6: Type.Optional(Type.String()),
    /** MAC address inside the namespace; random locally administered when omitted. */
    mac: Type.Optional(Type.String()),
    /** Ports to publish: Docker's `-p` specs or objects (see parsePublish). */
    publish: Type.Optional(Type.Array(PublishSpecSchema)),
  },
  { additionalProperties: false },
);
export type ConnectOptions = Static<typeof ConnectOptionsSchema>;

export const EndpointRecordSchema = Type.Object({
  id: Type.String(),
  network: Type.String(),
  netnsPath: Type.String(),
  netnsInode: Type.Integer(),
  ifname: Type.String(),
  hostIfname: Type.String(),
  /** The host end's MAC address, once it exists. */
  hostMac: Type.Optional(Type.String()),
  mac: Type.String(),
  ipv4: Type.String(),
  prefixLength: Type.Integer(),
  ipv6: Type.Optional(Type.String()),
  prefixLength6: Type.Optional(Type.Integer()),
  gateway: Type.Optional(Type.String()),
  gateway6: Type.Optional(Type.String()),
  ports: Type.Array(PublishedPortSchema),
  /** 'creating' until every step is done, by process `pid`. */
  status: Type.Union([Type.Literal('creating'), Type.Literal('ready')]),
  pid: Type.Integer(),
  created: Type.String(),
});
export type EndpointRecord = Static<typeof EndpointRecordSchema>;

/** Endpoint records are keyed by network and namespace: one endpoint per pair. */
export function endpointKey(network: string, netnsInode: number): string {
  return `${network}@${netnsInode}`;
}
