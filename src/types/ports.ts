/** Published ports: what a caller asks for, what an endpoint gets, and the table of who holds each host port. */
import { type Static, Type } from '@sinclair/typebox';

/** The protocols a port can be published for, and their IP protocol numbers (nf_tables' inet_proto). */
export const PROTOCOL_NUMBERS = { tcp: 6, udp: 17, sctp: 132 } as const;
export type PortProtocol = keyof typeof PROTOCOL_NUMBERS;
export const PROTOCOLS = Object.keys(PROTOCOL_NUMBERS) as PortProtocol[];

const ProtocolSchema = Type.Union(PROTOCOLS.map((protocol) => Type.Literal(protocol)));
const PortText = Type.Union([Type.Integer(), Type.String()]);

/** A port spec as an object; the spec string is Docker's `-p` syntax (see parsePublish). */
export const PublishObjectSchema = Type.Object(
  {
    hostIp: Type.Optional(Type.String()),
    hostPort: Type.Optional(PortText),
    containerPort: PortText,
    protocol: Type.Optional(ProtocolSchema),
  },
  { additionalProperties: false },
);
export const PublishSpecSchema = Type.Union([Type.String(), PublishObjectSchema], { expected: 'a port spec string or { containerPort, hostPort?, hostIp?, protocol? }' });
/** What a user asks for: a spec string or an object. */
export type PublishSpec = Static<typeof PublishSpecSchema>;

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

const Port = Type.Integer({ minimum: 1, maximum: 65535 });

/** One published port of an endpoint. */
export const PublishedPortSchema = Type.Object({
  hostIp: Type.String(),
  hostPort: Port,
  containerPort: Port,
  protocol: ProtocolSchema,
});
export type PublishedPort = Static<typeof PublishedPortSchema>;

/** Who holds a host port: an address (or a wildcard) and the endpoint. */
const PortBindingSchema = Type.Object({ hostIp: Type.String(), owner: Type.String() });
export type PortBinding = Static<typeof PortBindingSchema>;

/** The record of one protocol's host ports: port number -> who holds it. */
export const PortTableSchema = Type.Record(Type.Integer(), Type.Array(PortBindingSchema), { additionalProperties: false });
export type PortTable = Record<string, PortBinding[]>;
