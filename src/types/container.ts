/** Containers (setupContainer): the options, and the record stored for a container. */
import v = require('valibot');

import { CONNECT_OPTION_ENTRIES } from './endpoint';
import { Integer, jsonObject, strictJsonObject } from './schema';

export const CONTAINER_MODES = ['bridge', 'network', 'host', 'none', 'container'] as const;
export type ContainerMode = (typeof CONTAINER_MODES)[number];

/** Connect options and the network: 'bridge' (default), a network's name, 'host', 'none' or 'container:<id>'. */
export const SetupOptionsSchema = strictJsonObject({ ...CONNECT_OPTION_ENTRIES, network: v.optional(v.string()) });
export type SetupOptions = v.InferOutput<typeof SetupOptionsSchema>;

export const ContainerRecordSchema = jsonObject({
  id: v.string(),
  mode: v.picklist(CONTAINER_MODES),
  network: v.optional(v.string()),
  /** The container whose namespace this one joined. */
  joined: v.optional(v.string()),
  /** Containers that joined this one's namespace. */
  joinedBy: v.optional(v.array(v.string())),
  netnsPath: v.optional(v.string()),
  netnsInode: v.optional(Integer),
  /** The namespace was made for this container and goes with it. */
  ownsNamespace: v.boolean(),
  endpoint: v.optional(v.string()),
  /** 'removing' once a teardown has begun: nothing may join it then. */
  status: v.picklist(['creating', 'ready', 'removing']),
  pid: Integer,
  created: v.string(),
});
export type ContainerRecord = v.InferOutput<typeof ContainerRecordSchema>;
