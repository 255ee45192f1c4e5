/** Containers (setupContainer): the options, and the record stored for a container. */
import v = require('valibot');

import { CONNECT_OPTION_ENTRIES } from './endpoint';
import { Integer, jsonObject, strictJsonObject } from './schema';

export const CONTAINER_MODES = ['bridge', 'network', 'host', 'none', 'container'] as const;
export type ContainerMode = (typeof CONTAINER_MODES)[number];

/** Connect options and the network: 'bridge' (default), a network's name, 'host', 'none' or 'container:<id>'. */
export const SetupOptionsSchema = strictJsonObject({
  ...CONNECT_OPTION_ENTRIES,
  network: v.optional(v.string()),
  /** Upstream name servers (Docker's `--dns`): in resolv.conf without a resolver on the network, else the resolver's forwarders for this container. */
  dns: v.optional(v.array(v.string())),
  /** Search domains of the container's resolv.conf (`--dns-search`), before the host's. */
  dnsSearch: v.optional(v.array(v.string())),
  /** Resolver options (`--dns-option`), replacing the host's of the same name. */
  dnsOptions: v.optional(v.array(v.string())),
});
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
  /** The resolv.conf written for its namespace (known before it is written), and whether its directory was made for it. */
  resolvConf: v.optional(v.string()),
  resolvConfDirMade: v.optional(v.boolean()),
  /** 'removing' once a teardown has begun: nothing may join it then. */
  status: v.picklist(['creating', 'ready', 'removing']),
  pid: Integer,
  created: v.string(),
});
export type ContainerRecord = v.InferOutput<typeof ContainerRecordSchema>;
