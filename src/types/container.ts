/** Containers (setupContainer): the options, and the record stored for a container. */
import { type Static, Type } from '@sinclair/typebox';

import { ConnectOptionsSchema } from './endpoint';

export const CONTAINER_MODES = ['bridge', 'network', 'host', 'none', 'container'] as const;
export type ContainerMode = (typeof CONTAINER_MODES)[number];

/** Connect options and the network: 'bridge' (default), a network's name, 'host', 'none' or 'container:<id>'. */
export const SetupOptionsSchema = Type.Composite([ConnectOptionsSchema, Type.Object({ network: Type.Optional(Type.String()) })], {
  additionalProperties: false,
});
export type SetupOptions = Static<typeof SetupOptionsSchema>;

export const ContainerRecordSchema = Type.Object({
  id: Type.String(),
  mode: Type.Union(CONTAINER_MODES.map((mode) => Type.Literal(mode))),
  network: Type.Optional(Type.String()),
  /** The container whose namespace this one joined. */
  joined: Type.Optional(Type.String()),
  /** Containers that joined this one's namespace. */
  joinedBy: Type.Optional(Type.Array(Type.String())),
  netnsPath: Type.Optional(Type.String()),
  netnsInode: Type.Optional(Type.Integer()),
  /** The namespace was made for this container and goes with it. */
  ownsNamespace: Type.Boolean(),
  endpoint: Type.Optional(Type.String()),
  /** 'removing' once a teardown has begun: nothing may join it then. */
  status: Type.Union([Type.Literal('creating'), Type.Literal('ready'), Type.Literal('removing')]),
  pid: Type.Integer(),
  created: Type.String(),
});
export type ContainerRecord = Static<typeof ContainerRecordSchema>;
