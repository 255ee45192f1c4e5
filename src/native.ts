/** Typed interface of the C++ addon, and its loader. */
import { loadNativeAddon, nativeProgramPath } from './native-location';

/** Result of one request of a batch: null when the kernel acknowledged it. */
export interface NativeStatus {
  errno: number;
  code: string;
  message: string;
  extack?: string;
}

export interface NetlinkHandle {
  /** Requests answered by an ACK, several per sendmsg; one status each (a Buffer: the kernel's echo). */
  transact(requests: Buffer[]): Promise<(NativeStatus | Buffer | null)[]>;
  /** Requests as one nfnetlink transaction (batch begin/end added); one status each. */
  batch(requests: Buffer[]): Promise<(NativeStatus | null)[]>;
  /**
   * The requests of every chain in one batch, then each chain's stages in
   * order while every request of that chain before it succeeded (or, marked
   * in `goneIsDone`, found its object not there, or, in `existsIsDone`,
   * there already) (a stage not
   * sent: ECANCELED for each of its requests), in one job; statuses by
   * chain, stage (the chain's requests first) and request.
   */
  transactChains(chains: { requests: Buffer[]; goneIsDone?: boolean[]; existsIsDone?: boolean[]; stages: NativeStage[] }[]): Promise<(NativeStatus | Buffer | null)[][][]>;
  /** A get or a dump: resolves to every reply message. */
  query(request: Buffer): Promise<Buffer>;
  close(): void;
}

/** A stage of a chain (transactChains): requests on a socket, or a sysctl written through a directory opened inside a namespace. */
export type NativeStage = { handle: NetlinkHandle; requests: Buffer[]; goneIsDone?: boolean[]; existsIsDone?: boolean[] } | { sysctlDir: number; path: string; value: string };

export interface NativeLinkAttributes {
  name?: string;
  mtu?: number;
  mac?: string;
  master?: number;
  up?: boolean;
  alias?: string;
  group?: number;
  netnsFd?: number;
  hairpin?: boolean;
}

/** A creation has no bridge-port attributes: a change sets them once the link is a port. */
export interface NativeLinkCreate extends Omit<NativeLinkAttributes, 'hairpin'> {
  kind: string;
  peer?: Omit<NativeLinkAttributes, 'hairpin'>;
  parentIndex?: number;
  mode?: number;
  ipvlanFlags?: number;
  vlanId?: number;
  vxlanId?: number;
  vxlanPort?: number;
  vxlanLocal?: string;
  vxlanGroup?: string;
  vxlanLearning?: boolean;
  vxlanProxy?: boolean;
}

export interface NativeLink {
  index: number;
  name: string;
  kind: string;
  mtu: number;
  mac: string;
  flags: number;
  operState: number;
  master: number;
  link: number;
  linkNetnsId?: number;
  alias: string;
  group?: number;
  /** For a port: its master's kind ("bridge"). */
  slaveKind?: string;
  /** For a bridge port: its hairpin mode. */
  hairpin?: boolean;
  /** IFLA_STATS64, when the parse was asked for it. */
  stats?: NativeLinkStats;
}

/** A link's counters since it was made (struct rtnl_link_stats64), exact up to 2^53. */
export interface NativeLinkStats {
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxErrors: number;
  txErrors: number;
  rxDropped: number;
  txDropped: number;
  /** Multicast packets received. */
  multicast: number;
}

export interface NativeAddressSpec {
  index: number;
  address: string;
  prefixLength: number;
  noDad?: boolean;
}

export interface NativeAddress {
  family: number;
  prefixLength: number;
  scope: number;
  index: number;
  flags: number;
  address: string;
  label: string;
}

export interface NativeRouteSpec {
  family: number;
  dst?: string;
  dstLength?: number;
  gateway?: string;
  src?: string;
  oif?: number;
  metric?: number;
  table?: number;
  scope?: number;
}

export interface NativeRoute {
  family: number;
  dstLength: number;
  dst: string;
  gateway: string;
  src: string;
  oif: number;
  metric?: number;
  table: number;
  scope: number;
  protocol: number;
  type: number;
}

export interface NativeTbfSpec {
  index: number;
  rate: number;
  burst: number;
  limit: number;
  buffer: number;
  /** Take the place of the device's root qdisc, whatever it is. */
  replace?: boolean;
}

export interface NativeNeighbourSpec {
  /** AF_INET, AF_INET6 or AF_BRIDGE. */
  family: number;
  index: number;
  /** NUD_* */
  state: number;
  /** NTF_* */
  flags: number;
  dst?: string;
  lladdr?: string;
  vlan?: number;
}

export interface NativeNeighbour {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
  /** '' when absent. */
  dst: string;
  /** '' when absent. */
  lladdr: string;
  vlan?: number;
  master?: number;
}

/** A notification, its entry as the parser of its kind reads it. */
export type NativeEvent =
  | { type: 'link'; action: 'new' | 'del'; entry: NativeLink }
  | { type: 'address'; action: 'new' | 'del'; entry: NativeAddress }
  | { type: 'route'; action: 'new' | 'del'; entry: NativeRoute }
  | { type: 'neighbour'; action: 'new' | 'del'; entry: NativeNeighbour };

/** A socket that has joined rtnetlink multicast groups, read by a thread of its own into a bounded queue. */
export interface NetlinkEventsHandle {
  /**
   * The notifications queued (at least one message, or a loss; 512 at
   * most), up to the first loss, which `overrun` reports; null once closed.
   * One call at a time.
   */
  next(): Promise<{ messages: Buffer; overrun: boolean } | null>;
  close(): void;
}

export interface NativeAddon {
  NETLINK_ROUTE: number;
  NETLINK_NETFILTER: number;
  /** rtnetlink multicast groups. */
  RTNLGRP: { link: number; neighbour: number; ipv4Address: number; ipv6Address: number; ipv4Route: number; ipv6Route: number };

  /** A new namespace, and a rtnetlink socket opened inside it by the same thread. */
  /** ipv4Conf and ipv6Conf: the namespace's /proc/sys/net/ipv{4,6}/conf directories, opened inside it (-1: none, or `sysctlDirs` false). */
  createNamespace(bindPath: string, sysctlDirs?: boolean): Promise<{ fd: number; rtnl: NetlinkHandle; ipv4Conf: number; ipv6Conf: number }>;
  /** An rtnetlink socket and the sysctl directories of a namespace, opened inside it (as createNamespace opens them). */
  openRtnl(netnsFd: number): Promise<{ rtnl: NetlinkHandle; ipv4Conf: number; ipv6Conf: number }>;
  shareNamespaceDirectory(dir: string): Promise<void>;
  removeNamespaceMount(path: string): Promise<void>;
  /** The namespace mounted at `from` mounted at `to` too (EEXIST if `to` exists; nothing made on failure). */
  bindNamespaceMountSync(from: string, to: string): void;
  /** Each process (ascending pids) and the inode of its network namespace. */
  processNamespaces(): Promise<{ pids: number[]; inodes: number[] }>;
  isNetNamespace(fd: number): boolean;
  duplicateFd(fd: number): number;
  readSysctl(netnsFd: number, path: string): Promise<string>;
  writeSysctl(netnsFd: number, path: string, value: string): Promise<void>;
  /** Through a sysctl directory opened inside the namespace; `path` relative to it. */
  readSysctlAt(dirFd: number, path: string): Promise<string>;
  writeSysctlAt(dirFd: number, path: string, value: string): Promise<void>;
  openNetlink(netnsFd: number, protocol: number): Promise<NetlinkHandle>;
  /** A non-blocking rtnetlink socket opened inside the namespace (-1: this one), joined to `groups`. */
  openEvents(netnsFd: number, groups: number[]): Promise<NetlinkEventsHandle>;
  lockFile(path: string): Promise<number>;
  /** The locked descriptor, or -1 while another holds the lock (lockFile waits for it). */
  tryLockFile(path: string): number;
  readFileSync(path: string): Buffer | null;
  /**
   * The files of `dir` named `<name>.json`, in the order of their names'
   * bytes: names[i]'s bytes are data[ends[i - 1], ends[i]), or ends[i] is -1
   * when it could not be read. Null when the directory cannot be listed.
   */
  readJsonFilesSync(dir: string): { names: string[]; data: Buffer; ends: Float64Array } | null;
  replaceFileSync(path: string, data: Buffer): void;
  createFileSync(path: string, data: Buffer): void;

  encodeLinkCreate(spec: NativeLinkCreate): Buffer;
  encodeLinkChange(index: number, attrs: NativeLinkAttributes): Buffer;
  encodeLinkDelete(index: number, name: string): Buffer;
  encodeLinkGet(index: number, name: string): Buffer;
  encodeLinkDump(filter: { master?: number; kind?: string }): Buffer;
  encodeAddress(add: boolean, spec: NativeAddressSpec): Buffer;
  encodeAddressDump(family: number, index: number): Buffer;
  encodeNeighbourDelete(family: number, index: number, address: string): Buffer;
  encodeNeighbour(op: 'add' | 'replace' | 'append' | 'delete', spec: NativeNeighbourSpec): Buffer;
  encodeNeighbourDump(family: number, index: number): Buffer;
  encodeRoute(op: 'add' | 'replace' | 'delete', spec: NativeRouteSpec): Buffer;
  encodeRouteDump(filter: { family?: number; table?: number; oif?: number }): Buffer;

  encodeTableGet(family: number, table: string): Buffer;
  encodeSetElements(change: {
    add: boolean;
    exclusive?: boolean;
    family: number;
    table: string;
    set: string;
    elements: { key: Buffer; data?: Buffer }[];
    /** A delete without element list: empties the set. */
    flush?: boolean;
  }): Buffer;

  /** A tbf as the root qdisc (handle 1:) of device `index`: rate in bytes per second, burst and limit in bytes, buffer in scheduler ticks. */
  encodeTbfQdisc(spec: NativeTbfSpec): Buffer;
  /** The ingress qdisc (ffff:) of device `index`. */
  encodeIngressQdisc(index: number): Buffer;
  /** The qdisc of device `index` under `parent` (TC_H_ROOT or TC_H_INGRESS). */
  encodeQdiscDelete(index: number, parent: number): Buffer;
  /** A u32 filter on the ingress qdisc of `index` matching every packet, mirred egress redirect to `target`. */
  encodeRedirectFilter(index: number, target: number): Buffer;
  encodeQdiscDump(): Buffer;
  encodeIngressFilterDump(index: number): Buffer;

  /** With `stats`, each link's counters too (the kernel sends them in every reply). */
  parseLinks(replies: Buffer, stats?: boolean): NativeLink[];
  /** Each link's index, flags, name and master (0: none), a column each. */
  parseLinkBriefs(replies: Buffer): { indexes: Uint32Array; flags: Uint32Array; masters: Uint32Array; names: string[] };
  parseAddresses(replies: Buffer): NativeAddress[];
  parseRoutes(replies: Buffer): NativeRoute[];
  parseNeighbours(replies: Buffer): NativeNeighbour[];
  /** Link (but not bridge-port), address, route and neighbour notifications, in order. */
  parseEvents(messages: Buffer): NativeEvent[];
  parseMessages(data: Buffer): { type: number; flags: number; seq: number; payload: Buffer }[];
  parseAttributes(data: Buffer): { type: number; data: Buffer }[];
}

/** The addon, loaded on first use (see native-location.ts for where from). */
export function native(): NativeAddon {
  return loadNativeAddon() as NativeAddon;
}

/** nsnet-exec, which joins a namespace and executes a program. */
export function execHelperPath(): string {
  return nativeProgramPath('nsnet-exec');
}

/** nsnet-cni, the CNI plugin's native front end. */
export function cniFrontEndPath(): string {
  return nativeProgramPath('nsnet-cni');
}
