/** Typed interface of the C++ addon, and its loader. */
import bindings from 'bindings';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { NsnetError } from './errors';

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
   * in `goneIsDone`, found its object not there) (a stage not
   * sent: ECANCELED for each of its requests), in one job; statuses by
   * chain, stage (the chain's requests first) and request.
   */
  transactChains(chains: { requests: Buffer[]; goneIsDone?: boolean[]; stages: NativeStage[] }[]): Promise<(NativeStatus | Buffer | null)[][][]>;
  /** A get or a dump: resolves to every reply message. */
  query(request: Buffer): Promise<Buffer>;
  close(): void;
}

/** A stage of a chain (transactChains): requests on a socket, or a sysctl written through a directory opened inside a namespace. */
export type NativeStage = { handle: NetlinkHandle; requests: Buffer[]; goneIsDone?: boolean[] } | { sysctlDir: number; path: string; value: string };

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
  vxlanId?: number;
  vxlanPort?: number;
  vxlanLocal?: string;
  vxlanGroup?: string;
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

export interface NativeAddon {
  NETLINK_ROUTE: number;
  NETLINK_NETFILTER: number;

  /** A new namespace, and a rtnetlink socket opened inside it by the same thread. */
  /** ipv4Conf and ipv6Conf: the namespace's /proc/sys/net/ipv{4,6}/conf directories, opened inside it (-1: none). */
  createNamespace(bindPath: string): Promise<{ fd: number; rtnl: NetlinkHandle; ipv4Conf: number; ipv6Conf: number }>;
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
  lockFile(path: string): Promise<number>;
  /** The locked descriptor, or -1 while another holds the lock (lockFile waits for it). */
  tryLockFile(path: string): number;
  readFileSync(path: string): Buffer | null;
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

  parseLinks(replies: Buffer): NativeLink[];
  parseAddresses(replies: Buffer): NativeAddress[];
  parseRoutes(replies: Buffer): NativeRoute[];
  parseMessages(data: Buffer): { type: number; flags: number; seq: number; payload: Buffer }[];
  parseAttributes(data: Buffer): { type: number; data: Buffer }[];
}

const packageRoot = path.resolve(__dirname, '..');
/** NSNET_BUILD_DIR picks one build (e.g. build-cmake/Release, from `npm run build:cmake`). */
const chosenBuildDir = process.env.NSNET_BUILD_DIR ? path.resolve(process.env.NSNET_BUILD_DIR) : undefined;
const buildDirs = chosenBuildDir ? [chosenBuildDir] : ['build/Release', 'build/Debug'].map((dir) => path.join(packageRoot, dir));

function load(): NativeAddon {
  const tried = chosenBuildDir ? `NSNET_BUILD_DIR: ${path.join(chosenBuildDir, 'nsnet.node')}` : 'the node-gyp build';
  try {
    if (chosenBuildDir) return require(path.join(chosenBuildDir, 'nsnet.node')) as NativeAddon;
    return bindings({ bindings: 'nsnet', module_root: packageRoot }) as NativeAddon;
  } catch (error) {
    throw new NsnetError(
      'NATIVE_MODULE_MISSING',
      `nsnet's native addon could not be loaded from ${tried} (build it with \`npm run build\`): ${(error as Error).message}`,
    );
  }
}

let addon: NativeAddon | undefined;

/** The addon, loaded on first use. */
export function native(): NativeAddon {
  return (addon ??= load());
}

/** A program built with the addon (build/Release, or NSNET_BUILD_DIR), by name. */
function builtProgram(name: string): string {
  const found = buildDirs.map((dir) => path.join(dir, name)).find((file) => existsSync(file));
  if (!found) {
    throw new NsnetError('NATIVE_MODULE_MISSING', `${name} was not found in ${buildDirs.join(' or ')} (build it with \`npm run build\`)`);
  }
  return found;
}

/** nsnet-exec, which joins a namespace and executes a program. */
export function execHelperPath(): string {
  return builtProgram('nsnet-exec');
}

/** nsnet-cni, the CNI plugin's native front end. */
export function cniFrontEndPath(): string {
  return builtProgram('nsnet-cni');
}
