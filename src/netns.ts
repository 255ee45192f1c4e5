/** Network namespaces: `NetNamespace`, with its links, addresses, routes, neighbours, events, sysctls and programs. */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { asKernelError, invalid, isGone, kernelError, NsnetError, unlessGone, unlessGoneSync } from './errors';
import { faultPoint } from './fault';
import { native, type NativeAddon, type NetlinkHandle } from './native';
import { netnsEtcDir } from './netns-etc';
import { namespacePids } from './netns-pids';
import { Addresses } from './rtnl/addresses';
import { NftConnection } from './kernel/nft-connection';
import { type ChainStage, RtnlConnection } from './kernel/rtnl-connection';
import { type EventKinds, RtnlEventStream } from './rtnl/events';
import { Links } from './rtnl/links';
import { Neighbours } from './rtnl/neighbours';
import { Routes } from './rtnl/routes';
import { execInNamespace, type ExecOptions, type ExecResult, spawnInNamespace } from './spawn';
import { sysctlPath } from './sysctl';

const openFile = promisify(fs.open);

function sysctlText(value: string | number | boolean): string {
  const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  if (/[\n\0]/.test(text)) throw invalid(`sysctl value may not contain a newline: ${JSON.stringify(text)}`);
  return text;
}

type CreatedNamespace = Awaited<ReturnType<NativeAddon['createNamespace']>>;
const DEFAULT_NETNS_DIR = '/run/netns';

/** Where named namespaces are mounted: `NSNET_NETNS_DIR`, else /run/netns (as `ip netns`). */
export function netnsDir(): string {
  return process.env.NSNET_NETNS_DIR || DEFAULT_NETNS_DIR;
}

/** Namespace names as `ip netns` accepts them, kept to safe characters. */
export function checkNamespaceName(name: unknown): string {
  if (typeof name !== 'string' || !/^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,254}$/.test(name)) {
    throw invalid(
      `namespace name must be 1-255 characters of letters, digits, '_', '.' or '-', not starting with '.' or '-': ${String(name)}`,
    );
  }
  return name;
}

export type NamespaceTarget = string | { pid: number };

const sharedDirs = new Set<string>();

/** Makes the netns directory, a shared mount (as `ip netns` does), so that mounts under it propagate. */
async function prepareNamespaceDirectory(dir: string, name: string): Promise<void> {
  await asKernelError(`netns create ${name}`, async () => {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
    await native().shareNamespaceDirectory(dir);
    sharedDirs.add(dir);
  });
}

/** Handles of this process with an open descriptor, by namespace inode. */
const openHandles = new Map<number, Set<NetNamespace>>();

function track(ns: NetNamespace): void {
  let handles = openHandles.get(ns.inode);
  if (!handles) openHandles.set(ns.inode, (handles = new Set()));
  handles.add(ns);
}

function untrack(ns: NetNamespace): void {
  const handles = openHandles.get(ns.inode);
  handles?.delete(ns);
  if (handles?.size === 0) openHandles.delete(ns.inode);
}
const CLOSED = -1;
const NOT_YET_OPEN = -2;
let hostNamespace: NetNamespace | undefined;

export class NetNamespace {
  readonly links: Links;
  readonly addresses: Addresses;
  readonly routes: Routes;
  readonly neighbours: Neighbours;
  readonly label: string;
  private fdValue: number;
  private conn?: Promise<RtnlConnection>;
  private nft?: Promise<NftConnection>;
  /** An unnamed namespace made here: it lives only while its descriptor is open. */
  private onlyByDescriptor = false;
  /**
   * Sysctl directories opened inside the namespace with its rtnetlink socket:
   * their entries are read and written from here, without a thread that
   * enters it. Closed with the socket.
   */
  private sysctlDirs: { prefix: string; fd: number }[] = [];
  /**
   * Event streams open on this handle: closed with it. Held weakly: a stream
   * dropped unclosed is collected, and its socket and reader thread with it.
   */
  private eventStreams = new Set<WeakRef<RtnlEventStream>>();

  private constructor(
    /** The name under the netns directory; undefined for the host and unnamed namespaces. */
    readonly name: string | undefined,
    /** A path that opens this namespace (`ip netns exec`, `nsenter --net=`). */
    readonly path: string,
    fd: number,
    /** Identifies the namespace (as `ls -L -i` or `ip netns identify` would). */
    readonly inode: number,
    private readonly isHost = false,
  ) {
    this.fdValue = fd;
    if (fd >= 0 && !isHost) track(this);
    this.label = isHost ? 'host namespace' : name ? `netns "${name}"` : `netns ${path}`;
    this.links = new Links(this);
    this.addresses = new Addresses(this, this.links);
    this.routes = new Routes(this, this.links);
    this.neighbours = new Neighbours(this, this.links);
  }

  /**
   * Creates a namespace; a named one is mounted at `<netnsDir>/<name>`. `lo`
   * starts down, as in the kernel. `sysctlDirs: false` when nothing will
   * write a sysctl inside: its sysctl directories are not opened with its
   * socket (a namespace's first lookup under /proc/sys costs the more the
   * more namespaces the host has, about 1 ms at 2,000); a write then takes a
   * job of the pool that enters the namespace.
   */
  static async create(name?: string, options: { sysctlDirs?: boolean } = {}): Promise<NetNamespace> {
    const { sysctlDirs = true } = options ?? {};
    if (typeof sysctlDirs !== 'boolean') throw invalid(`sysctlDirs must be true or false, got ${JSON.stringify(sysctlDirs)}`);
    if (name === undefined) {
      const created = await asKernelError('netns create', () => {
        faultPoint('netns create');
        return native().createNamespace('', sysctlDirs);
      });
      const ns = NetNamespace.fromCreated(undefined, `/proc/${process.pid}/fd/${created.fd}`, created);
      ns.onlyByDescriptor = true;
      return ns;
    }
    checkNamespaceName(name);
    const dir = netnsDir();
    const file = path.join(dir, name);
    // The directory is made and shared once per process; made again should it have gone since.
    if (!sharedDirs.has(dir)) await prepareNamespaceDirectory(dir, name);
    try {
      faultPoint('netns create', name);
      const created = await native()
        .createNamespace(file, sysctlDirs)
        .catch(async (error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
          await prepareNamespaceDirectory(dir, name);
          return native().createNamespace(file, sysctlDirs);
        });
      return NetNamespace.fromCreated(name, file, created);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new NsnetError('NETNS_EXISTS', `netns "${name}" already exists in ${dir}`);
      }
      throw kernelError(`netns create ${name}`, error);
    }
  }

  /** Opens an existing namespace: by name (under the netns directory), by path, or by `{ pid }`. */
  static async open(target: NamespaceTarget): Promise<NetNamespace> {
    let name: string | undefined;
    let file: string;
    if (typeof target === 'object' && target !== null && 'pid' in target) {
      if (!Number.isInteger(target.pid) || target.pid <= 0) throw invalid(`pid must be a positive integer`);
      file = `/proc/${target.pid}/ns/net`;
    } else if (typeof target === 'string' && target.includes('/')) {
      file = target;
    } else {
      name = checkNamespaceName(target);
      file = path.join(netnsDir(), name);
    }
    let fd: number;
    try {
      fd = await openFile(file, fs.constants.O_RDONLY);
    } catch (error) {
      if (isGone(error)) {
        throw new NsnetError('NETNS_NOT_FOUND', `no network namespace at ${file}`);
      }
      throw kernelError(`netns open ${file}`, error);
    }
    if (!native().isNetNamespace(fd)) {
      fs.closeSync(fd);
      throw new NsnetError('NETNS_NOT_FOUND', `${file} is not a network namespace`);
    }
    return NetNamespace.fromFd(name, file, fd);
  }

  /**
   * The named namespaces under the netns directory. Their descriptors open on
   * first use, so listing does not keep deleted namespaces alive.
   */
  static async list(): Promise<NetNamespace[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(netnsDir());
    } catch (error) {
      if (isGone(error)) return [];
      throw kernelError(`netns list ${netnsDir()}`, error);
    }
    const found = await Promise.all(
      names.sort().map(async (name) => {
        const ns = await NetNamespace.open(name).catch(() => undefined); // skips stale files
        ns?.release();
        return ns;
      }),
    );
    return found.filter((ns): ns is NetNamespace => ns !== undefined);
  }

  /** The namespace this process runs in. */
  static host(): NetNamespace {
    if (!hostNamespace) {
      const fd = fs.openSync('/proc/self/ns/net', fs.constants.O_RDONLY);
      hostNamespace = new NetNamespace(undefined, `/proc/${process.pid}/ns/net`, fd, fs.fstatSync(fd).ino, true);
    }
    return hostNamespace;
  }

  /**
   * A handle on a namespace known by path and inode (from a stored record).
   * It opens on first use, and fails NETNS_NOT_FOUND if the namespace at that
   * path is gone or is another one.
   * @internal
   */
  static atPath(file: string, inode: number, name?: string): NetNamespace {
    const named = name ?? (path.dirname(file) === netnsDir() ? path.basename(file) : undefined);
    return new NetNamespace(named, file, NOT_YET_OPEN, inode);
  }

  /**
   * Removes `file` when it is a plain file of its directory's file system
   * (not a mount): what a deletion killed between unmounting a namespace and
   * unlinking its file leaves. Says whether it removed one.
   */
  static async removeLeftover(file: string): Promise<boolean> {
    const [entry, dir] = await Promise.all([fs.promises.stat(file), fs.promises.stat(path.dirname(file))].map((p) => p.catch(() => undefined)));
    if (!entry?.isFile() || entry.dev !== dir?.dev) return false;
    await fs.promises.unlink(file).catch(() => undefined);
    return true;
  }

  /** Whether the namespace at `path` is still the one with this inode. */
  static async exists(file: string, inode: number): Promise<boolean> {
    // A stat on the JS thread takes microseconds; a hand-off to a worker, a hundred.
    try {
      return fs.statSync(file).ino === inode;
    } catch {
      return false;
    }
  }

  private static fromFd(name: string | undefined, file: string, fd: number): NetNamespace {
    return new NetNamespace(name, file, fd, fs.fstatSync(fd).ino);
  }

  /** A namespace just made, with what its creating thread opened inside it. */
  private static fromCreated(name: string | undefined, file: string, created: CreatedNamespace): NetNamespace {
    const ns = NetNamespace.fromFd(name, file, created.fd);
    ns.conn = Promise.resolve(new RtnlConnection(created.rtnl));
    ns.keepSysctlDirs(created);
    return ns;
  }

  /** The open descriptor of the namespace (for IFLA_NET_NS_FD and setns). */
  get fd(): number {
    if (this.fdValue === NOT_YET_OPEN) this.reopen();
    if (this.fdValue === CLOSED) throw new NsnetError('NAMESPACE_CLOSED', `${this.label} is closed`);
    return this.fdValue;
  }

  get closed(): boolean {
    return this.fdValue === CLOSED;
  }

  /**
   * Closes the descriptor and sockets but lets the next use open the same
   * path again (and check it is still this namespace), so that a handle kept
   * at rest holds no descriptor. For a namespace reachable by its path: an
   * unnamed one lives only while its descriptor is open, so it is kept. Not
   * while an operation on this handle is under way: requests still queued
   * fail NAMESPACE_CLOSED, and a veth request may carry the descriptor.
   */
  release(): void {
    if (this.fdValue < 0 || this.isHost || this.onlyByDescriptor) return;
    this.dropConnection();
    fs.closeSync(this.fdValue);
    untrack(this);
    this.fdValue = NOT_YET_OPEN;
  }

  private reopen(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.path, fs.constants.O_RDONLY);
    } catch {
      throw new NsnetError('NETNS_NOT_FOUND', `${this.label} no longer exists`);
    }
    if (fs.fstatSync(fd).ino !== this.inode) {
      fs.closeSync(fd);
      throw new NsnetError('NETNS_NOT_FOUND', `${this.label} was replaced by another namespace`);
    }
    this.fdValue = fd;
    track(this);
  }

  /** The rtnetlink connection of this namespace, opened inside it once. */
  connection(): Promise<RtnlConnection> {
    this.conn ??= this.openRtnl();
    return this.conn;
  }

  /** The rtnetlink socket, and with it the sysctl directories, opened from one thread inside. */
  private openRtnl(): Promise<RtnlConnection> {
    // The host's are opened without switching namespace.
    const fd = this.isHost ? -1 : this.fd;
    const opening: Promise<RtnlConnection> = asKernelError(`netlink open in ${this.label}`, async () => {
      const inside = await native().openRtnl(fd);
      // Released meanwhile: the socket goes with the connection dropped; the directories, here.
      if (this.conn === opening) this.keepSysctlDirs(inside);
      else for (const dir of [inside.ipv4Conf, inside.ipv6Conf]) if (dir >= 0) fs.closeSync(dir);
      return new RtnlConnection(inside.rtnl);
    });
    opening.catch(() => (this.conn = undefined));
    return opening;
  }

  /**
   * @internal Opens the sysctl directories of a namespace made without them
   * (create's `sysctlDirs: false`), from inside, as its socket was;
   * a handle that has them keeps them.
   */
  async openSysctlDirs(): Promise<void> {
    if (this.sysctlDirs.length) return;
    const inside = await asKernelError(`sysctl directories of ${this.label}`, () => native().openRtnl(this.isHost ? -1 : this.fd));
    inside.rtnl.close();
    this.keepSysctlDirs(inside);
  }

  private keepSysctlDirs(inside: { ipv4Conf: number; ipv6Conf: number }): void {
    for (const [prefix, fd] of [['/proc/sys/net/ipv4/conf/', inside.ipv4Conf], ['/proc/sys/net/ipv6/conf/', inside.ipv6Conf]] as const) {
      if (fd >= 0) this.sysctlDirs.push({ prefix, fd });
    }
  }

  /** The nf_tables netlink connection of this namespace, opened inside it once. */
  nftables(): Promise<NftConnection> {
    this.nft ??= this.openSocket('netfilter', native().NETLINK_NETFILTER, (h) => new NftConnection(h), () => (this.nft = undefined));
    return this.nft;
  }

  /** Opens a netlink socket inside this namespace; a failure lets the next call try again. */
  private openSocket<T>(what: string, protocol: number, wrap: (handle: NetlinkHandle) => T, forget: () => void): Promise<T> {
    // The host's socket is opened without switching namespace.
    const fd = this.isHost ? -1 : this.fd;
    const opening = asKernelError(`${what} open in ${this.label}`, async () => wrap(await native().openNetlink(fd, protocol)));
    opening.catch(forget);
    return opening;
  }

  /**
   * Changes of links, addresses, routes and neighbour entries in this
   * namespace, as an async iterator (all four kinds unless some are named),
   * each event shaped as list() gives its entry, with `type` and `action`.
   * Reported from the moment `opened` settles; closed by close(), by
   * `break` out of for-await, and with this handle.
   */
  events(kinds?: EventKinds): RtnlEventStream {
    for (const held of this.eventStreams) if (!held.deref()) this.eventStreams.delete(held);
    const stream = new RtnlEventStream(this, kinds, () => this.eventStreams.delete(ref));
    const ref = new WeakRef(stream);
    this.eventStreams.add(ref);
    return stream;
  }

  /** The descriptor an event stream's socket is opened inside with (-1: the host's, no switch). @internal */
  eventSocketFd(): number {
    return this.isHost ? -1 : this.fd;
  }

  /** The processes running in this namespace, by pid (as `ip netns pids` lists them). */
  pids(): Promise<number[]> {
    return namespacePids(this.inode);
  }

  /** Reads a `net.*` sysctl inside this namespace, e.g. `net.ipv4.ip_forward`. */
  sysctl(key: string): Promise<string>;
  /** Writes a `net.*` sysctl inside this namespace. */
  sysctl(key: string, value: string | number | boolean): Promise<void>;
  async sysctl(key: string, value?: string | number | boolean): Promise<string | void> {
    const file = sysctlPath(key);
    const fd = this.isHost ? -1 : this.fd;
    const dir = this.sysctlDir(file);
    if (value === undefined) {
      const text = await asKernelError(`sysctl ${key} in ${this.label}`, () =>
        dir ? native().readSysctlAt(dir.fd, dir.relative) : native().readSysctl(fd, file));
      return text.trim();
    }
    const text = sysctlText(value);
    await asKernelError(`sysctl ${key}=${text} in ${this.label}`, async () => {
      faultPoint('sysctl write', key);
      await (dir ? native().writeSysctlAt(dir.fd, dir.relative, text) : native().writeSysctl(fd, file, text));
    });
  }

  /** The sysctl directory that holds `file`, if this handle has it open, and the file's path in it. */
  private sysctlDir(file: string): { fd: number; relative: string } | undefined {
    const dir = this.sysctlDirs.find((d) => file.startsWith(d.prefix));
    return dir && { fd: dir.fd, relative: file.slice(dir.prefix.length) };
  }

  /**
   * A sysctl write as a stage of a chain (RtnlConnection.chain), through a
   * directory opened inside the namespace with its socket; undefined for a
   * handle without one (sysctl() writes it then). The descriptor it names
   * goes into `held`, to be closed once the chain has settled.
   */
  sysctlStage(key: string, value: string | number | boolean, held: number[]): ChainStage | undefined {
    const dir = this.sysctlDir(sysctlPath(key));
    if (!dir) return undefined;
    const text = sysctlText(value);
    faultPoint('sysctl write', key);
    // A copy, in `held` until the chain has settled: this handle may be released before the chain is sent.
    const copy = native().duplicateFd(dir.fd);
    held.push(copy);
    return { op: `sysctl ${key}=${text} in ${this.label}`, sysctlDir: copy, path: dir.relative, value: text };
  }

  /**
   * Runs a program inside this namespace; stdio, exit code and signals as
   * with child_process.spawn. For a named namespace with a directory
   * `<netnsEtcDir()>/<name>`, the program sees its files over /etc's (its
   * resolv.conf), as with `ip netns exec`.
   */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    return spawnInNamespace(this.fd, command, args, options, this.etcDir());
  }

  /**
   * Runs a program inside this namespace to the end, as `execFile` does, and
   * resolves to `{ code, signal, stdout, stderr }` whatever its exit status.
   */
  exec(command: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    return execInNamespace(this.fd, command, args, options, this.etcDir());
  }

  /** The directory of this namespace's own /etc files, when it is named and has one. */
  private etcDir(): string | undefined {
    if (this.name === undefined) return undefined;
    const dir = path.join(netnsEtcDir(), this.name);
    // A stat on the JS thread takes microseconds, as in exists().
    try {
      return fs.statSync(dir).isDirectory() ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  /** In JSON a namespace is its path: a handle holds descriptors and sockets, not data. */
  toJSON(): string {
    return this.path;
  }

  /** Releases this handle's descriptor and socket. The namespace itself stays. */
  close(): void {
    for (const held of [...this.eventStreams]) held.deref()?.close();
    if (this.isHost) return;
    this.dropConnection();
    if (this.fdValue >= 0) fs.closeSync(this.fdValue);
    untrack(this);
    this.fdValue = CLOSED;
  }

  /**
   * Deletes the namespace: closes this handle and, for a named one, unmounts
   * and removes its file. The kernel then removes its interfaces (a veth's
   * host end goes with it) once no process or open handle holds it.
   */
  async delete(): Promise<void> {
    await this.deleteHolding(async () => undefined);
  }

  /**
   * Deletes the namespace as delete() does, running `fn` between unmounting
   * its file and letting go of it: meanwhile no process can enter it by its
   * path, and this handle's descriptor keeps it, so that its inode number
   * is not yet another namespace's (the kernel reuses a freed one at once).
   */
  async deleteHolding<T>(fn: () => Promise<T>): Promise<T> {
    if (this.isHost) throw new NsnetError('HOST_NAMESPACE', 'the host namespace cannot be deleted');
    if (this.name !== undefined) faultPoint('netns delete', this.name);
    try {
      if (this.name !== undefined) {
        // A handle at rest opens again first, if its namespace is still there to hold.
        if (this.fdValue === NOT_YET_OPEN) unlessGoneSync(() => this.reopen());
        await asKernelError(`netns delete ${this.name}`, () => unlessGone(() => native().removeNamespaceMount(this.path)));
      }
      return await fn();
    } finally {
      // Every handle of this process on it goes too: an open descriptor or
      // socket would keep the namespace, and its interfaces, alive.
      for (const handle of [...(openHandles.get(this.inode) ?? [])]) handle.close();
      this.close();
    }
  }

  /**
   * Gives this unnamed namespace a name: mounted at `<netnsDir>/<name>`
   * (NETNS_EXISTS if taken, nothing changed), a file and a bind mount of its
   * descriptor, microseconds. The named handle takes over this one's
   * descriptor, sockets and sysctl directories; this one is closed.
   * @internal
   */
  async mountAs(name: string): Promise<NetNamespace> {
    checkNamespaceName(name);
    if (this.name !== undefined || this.isHost || this.fdValue < 0) throw new NsnetError('NAMESPACE_CLOSED', `${this.label} is not an open unnamed namespace`);
    const dir = netnsDir();
    const file = path.join(dir, name);
    if (!sharedDirs.has(dir)) await prepareNamespaceDirectory(dir, name);
    const bind = () => {
      faultPoint('netns mount', name);
      native().bindNamespaceMountSync(this.path, file);
    };
    try {
      try {
        bind();
      } catch (error) {
        // The directory gone since it was made: made again.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await prepareNamespaceDirectory(dir, name);
        bind();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new NsnetError('NETNS_EXISTS', `netns "${name}" already exists in ${dir}`);
      if (error instanceof NsnetError) throw error;
      throw kernelError(`netns mount ${name}`, error);
    }
    const named = new NetNamespace(name, file, this.fdValue, this.inode);
    named.conn = this.conn;
    named.nft = this.nft;
    named.sysctlDirs = this.sysctlDirs;
    untrack(this);
    this.conn = undefined;
    this.nft = undefined;
    this.sysctlDirs = [];
    this.fdValue = CLOSED;
    return named;
  }

  private dropConnection(): void {
    for (const dir of this.sysctlDirs) fs.closeSync(dir.fd);
    this.sysctlDirs = [];
    const conn = this.conn;
    const nft = this.nft;
    this.conn = undefined;
    this.nft = undefined;
    // A connection that never opened has nothing to close; its failure went to whoever awaited it.
    conn?.then((c) => c.close()).catch(() => undefined);
    nft?.then((c) => c.close()).catch(() => undefined);
  }
}
