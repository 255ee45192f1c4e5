/** Published ports: what a caller asks for, what an endpoint gets, and the table of who holds each host port. */
import v = require('valibot');

import { IpText } from './record-text';
import { Integer, jsonObject, jsonRecord, strictJsonObject } from './schema';

/** The protocols a port can be published for, and their IP protocol numbers (nf_tables' inet_proto). */
export const PROTOCOL_NUMBERS = { tcp: 6, udp: 17, sctp: 132 } as const;
export type PortProtocol = keyof typeof PROTOCOL_NUMBERS;
export const PROTOCOLS = Object.keys(PROTOCOL_NUMBERS) as PortProtocol[];

const ProtocolSchema = v.picklist(PROTOCOLS);
const PortText = v.union([Integer, v.string()]);

/** A port spec as an object; the spec string is Docker's `-p` syntax (see parsePublish). */
export const PublishObjectSchema = strictJsonObject({
  hostIp: v.optional(v.string()),
  hostPort: v.optional(PortText),
  containerPort: PortText,
  protocol: v.optional(ProtocolSchema),
});
export const PublishSpecSchema = v.union([v.string(), PublishObjectSchema], 'a port spec string or { containerPort, hostPort?, hostIp?, protocol? }');
/** What a user asks for: a spec string or an object. */
export type PublishSpec = v.InferOutput<typeof PublishSpecSchema>;

/** One request after parsing: a host port range of the same length as the container range, or none. */
export interface PortRequest {
  hostIp?: string;
  /** Absent: any free port; with `hostPortEnd` and one container port: any free port of the range. */
  hostPort?: number;
  hostPortEnd?: number;
  containerPort: number;
  containerPortEnd: number;
  protocol: PortProtocol;
}

const Port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));

/** One published port of an endpoint. */
export const PublishedPortSchema = jsonObject({
  hostIp: IpText,
  hostPort: Port,
  containerPort: Port,
  protocol: ProtocolSchema,
});
export type PublishedPort = v.InferOutput<typeof PublishedPortSchema>;

/**
 * Who holds a host port: an address (or a wildcard) and the endpoint. Its
 * text reaches no kernel (the endpoint's record does), and a table holds an
 * entry per port: checked as a string only, for speed.
 */
const PortBindingSchema = jsonObject({ hostIp: v.string(), owner: v.string() });
export type PortBinding = v.InferOutput<typeof PortBindingSchema>;

/** The record of one protocol's host ports: port number -> who holds it. */
export const PortTableSchema = jsonRecord(v.pipe(v.string(), v.regex(/^(0|[1-9][0-9]*)$/)), v.array(PortBindingSchema));
export type PortTable = Record<string, PortBinding[]>;
