/** Network interfaces of one namespace: `ns.links`. */
import { closeSync } from 'node:fs';

import { asNsnetError, invalid, messageOf } from '../errors';
import { ipFamily } from '../types/ip';
import { native, type NativeLink, type NativeLinkAttributes, type NativeLinkCreate, type NativeLinkStats } from '../native';
import { checkAlias, checkBoolean, checkInterfaceName, checkMac, checkNewInterfaceName, checkMtu, checkOneOf, checkUint } from '../validate';
import type { ChainedRequest } from '../kernel/rtnl-connection';
import type { RtnlContext } from './context';

/** The namespace a link end is put in (a NetNamespace satisfies it). */
export interface NamespaceRef {
  readonly fd: number;
}

interface CommonLinkOptions {
  name: string;
  mtu?: number;
  mac?: string;
  /** Bridge (or bond) to enslave the link to, by name or index. */
  master?: string | number;
  up?: boolean;
  alias?: string;
  /** Interface group (`ip link ... group N`); unlike the alias, the kernel keeps it at creation. */
  linkGroup?: number;
}

/**
 * The peer starts down: the kernel cannot open one end of a veth before the
 * pair exists, so bring it up afterwards from its own namespace.
 */
export interface VethPeerOptions {
  name: string;
  /** Where the peer is created; the namespace of `links` when omitted. */
  netns?: NamespaceRef;
  mtu?: number;
  mac?: string;
}

export interface VethSpec extends CommonLinkOptions {
  kind: 'veth';
  peer: VethPeerOptions;
}
export interface BridgeSpec extends CommonLinkOptions {
  kind: 'bridge';
}
export interface DummySpec extends CommonLinkOptions {
  kind: 'dummy';
}
/** An intermediate functional block: a device that traffic is redirected to (tc mirred), to shape it there. */
export interface IfbSpec extends CommonLinkOptions {
  kind: 'ifb';
}
export interface VxlanSpec extends CommonLinkOptions {
  kind: 'vxlan';
  id: number;
  /** Remote endpoint or multicast group. */
  group?: string;
  local?: string;
  port?: number;
  /** Underlying device, by name or index. */
  dev?: string | number;
  /** Learn remotes from the traffic that comes in (the kernel's default: true). */
  learning?: boolean;
  /** Answer ARP and neighbour solicitations from the device's own neighbour table, not across the tunnel. */
  proxy?: boolean;
}
/**
 * A link made on a parent of this namespace (by name or index) may be made
 * straight in another namespace (`netns`), in the same request.
 */
interface ChildLinkOptions extends CommonLinkOptions {
  parent: string | number;
  netns?: NamespaceRef;
}
export const MACVLAN_MODES = ['private', 'vepa', 'bridge', 'passthru', 'source'] as const;
export interface MacvlanSpec extends ChildLinkOptions {
  kind: 'macvlan';
  mode?: (typeof MACVLAN_MODES)[number];
}
export const IPVLAN_MODES = ['l2', 'l3', 'l3s'] as const;
/** How ipvlan children of one parent reach each other: bridge (directly), private (not at all), vepa (through the switch). */
export const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'] as const;
export interface IpvlanSpec extends ChildLinkOptions {
  kind: 'ipvlan';
  mode?: (typeof IPVLAN_MODES)[number];
  flag?: (typeof IPVLAN_FLAGS)[number];
}
/** An 802.1q sub-interface of `parent` (`eth0.10`), tagging with VLAN `id` (1-4094). */
export interface VlanSpec extends ChildLinkOptions {
  kind: 'vlan';
  id: number;
}

export type LinkSpec = VethSpec | BridgeSpec | DummySpec | IfbSpec | VxlanSpec | MacvlanSpec | IpvlanSpec | VlanSpec;
export type LinkKind = LinkSpec['kind'];

export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** Bridge to enslave to; null releases the link from its master. */
  master?: string | number | null;
  /** New name (the kernel refuses while the link is up). */
  name?: string;
  /** Moves the link to another namespace. */
  netns?: NamespaceRef;
  alias?: string;
  linkGroup?: number;
  /** As a bridge port: send frames back out of the port they came in on. */
  hairpin?: boolean;
}

export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
const OPER_STATES: OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export interface Link {
  index: number;
  name: string;
  /** veth, bridge, dummy, ...; 'loopback' or 'device' for links without a kind. */
  kind: string;
  mtu: number;
  mac: string;
  up: boolean;
  /** The link has carrier (IFF_LOWER_UP): a veth whose both ends are up. */
  carrier: boolean;
  operState: OperState;
  /** Index of the bridge this link is attached to. */
  master?: number;
  /** For a veth: the peer's index, in the peer's namespace. */
  peerIndex?: number;
  /** For a veth whose peer is in another namespace: that namespace's id, as this one numbers it. */
  peerNetnsId?: number;
  alias?: string;
  /** Interface group, when not the default 0. */
  linkGroup?: number;
  /** For a bridge port: hairpin mode (frames sent back out of the port they came in on). */
  hairpin?: boolean;
  /** Traffic counters since the link was made; only when asked for (`{ stats: true }`). */
  stats?: LinkStats;
}

/** A link's counters (IFLA_STATS64): rx is what the link received, tx what it sent. */
export type LinkStats = NativeLinkStats;

export interface LinkGetOptions {
  /** Include each link's traffic counters (the kernel sends them anyway; reading them costs a little). */
  stats?: boolean;
}

export interface LinkFilter extends LinkGetOptions {
  kind?: string;
  /** Only links attached to this master (name or index). */
  master?: string | number;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;

export function toLink(raw: NativeLink): Link {
  const link: Link = {
    index: raw.index,
    name: raw.name,
    kind: raw.kind || (raw.flags & IFF_LOOPBACK ? 'loopback' : 'device'),
    mtu: raw.mtu,
    mac: raw.mac,
    up: (raw.flags & IFF_UP) !== 0,
    carrier: (raw.flags & IFF_LOWER_UP) !== 0,
    operState: OPER_STATES[raw.operState] ?? 'unknown',
  };
  if (raw.master) link.master = raw.master;
  if (raw.kind === 'veth' && raw.link) link.peerIndex = raw.link;
  if (raw.kind === 'veth' && raw.linkNetnsId !== undefined) link.peerNetnsId = raw.linkNetnsId;
  if (raw.alias) link.alias = raw.alias;
  if (raw.group) link.linkGroup = raw.group;
  if (raw.hairpin !== undefined) link.hairpin = raw.hairpin;
  if (raw.stats) link.stats = raw.stats;
  return link;
}

function wantsStats(options: LinkGetOptions): boolean {
  if (typeof options !== 'object' || options === null) throw invalid('link options must be an object');
  if (options.stats !== undefined && typeof options.stats !== 'boolean') throw invalid('stats must be true or false');
  return options.stats === true;
}

function checkLinkRef(nameOrIndex: unknown): string | number {
  if (typeof nameOrIndex === 'number') return checkUint(nameOrIndex, 'interface index', 0x7fffffff, 1);
  return checkInterfaceName(nameOrIndex);
}

function checkCommon(options: VethPeerOptions & { up?: boolean; alias?: string; linkGroup?: number }, what: string): NativeLinkAttributes {
  if (typeof options !== 'object' || options === null) throw invalid(`${what} must be an object`);
  const attrs: NativeLinkAttributes = { name: checkNewInterfaceName(options.name, `${what} name`) };
  if (options.mtu !== undefined) attrs.mtu = checkMtu(options.mtu);
  if (options.mac !== undefined) attrs.mac = checkMac(options.mac);
  if (options.up !== undefined) attrs.up = Boolean(options.up);
  if (options.alias !== undefined) attrs.alias = checkAlias(options.alias);
  if (options.linkGroup !== undefined) attrs.group = checkUint(options.linkGroup, 'linkGroup');
  return attrs;
}

/**
 * A private copy of a namespace's descriptor, for a request that names it
 * (IFLA_NET_NS_FD): the owner may close its own before the request is sent.
 * The copy goes into `held`, to be closed once the request has settled.
 */
function holdNamespaceFd(netns: unknown, what: string, held: number[]): number {
  const fd = (netns as NamespaceRef | undefined)?.fd;
  if (!Number.isInteger(fd) || (fd as number) < 0) throw invalid(`${what} must be an open NetNamespace`);
  const copy = native().duplicateFd(fd as number);
  held.push(copy);
  return copy;
}

function closeAll(fds: number[]): void {
  for (const fd of fds) closeSync(fd);
}

/** What list() says of a link that a listing by name needs: list(), without the cost of the rest in a big dump. */
export type LinkBrief = Pick<Link, 'index' | 'name' | 'up' | 'master'>;

export class Links {
  constructor(private readonly ctx: RtnlContext) {}

  /**
   * Creates a link and resolves to it as the kernel reports it (for a veth,
   * the end made here, whose `peerIndex` names the other). A veth is made in
   * one request, its peer directly in `peer.netns`.
   */
  async add(spec: LinkSpec): Promise<Link> {
    const held: number[] = [];
    try {
      return await this.create(spec, held);
    } finally {
      closeAll(held);
    }
  }

  private async create(spec: LinkSpec, held: number[]): Promise<Link> {
    const { alias, ...request } = await this.createRequest(spec, held);
    const conn = await this.ctx.connection();
    const { op, message } = this.addRequestOf(spec, request);
    const made = await this.made(spec, request, await conn.requestEcho(op, message));
    // The kernel ignores IFLA_IFALIAS on creation. Only once the link is
    // known to be ours may it be changed (a batched change could hit a
    // namesake that made the creation fail).
    if (alias !== undefined) {
      const message = native().encodeLinkChange(made.index, { alias });
      try {
        await conn.request(`link set ${spec.name} alias in ${this.ctx.label}`, message);
      } catch (error) {
        // Not made, then: an untagged link would be nobody's.
        const left = await this.delete(made.index).then(
          () => undefined,
          (undoError: unknown) => `link ${spec.name}: ${messageOf(undoError)}`,
        );
        throw left ? asNsnetError(error).withNote(`could not undo: ${left}`, { notUndone: [left] }) : error;
      }
      made.alias = alias;
    }
    return made;
  }

  /**
   * The creation of a link as a request for a chain (RtnlConnection.chain),
   * answered by the link made (see made()); its alias is not set, as the
   * kernel ignores one on creation. Descriptors it names go into `held`,
   * to be closed once it has settled.
   */
  async addRequest(spec: LinkSpec, held: number[]): Promise<ChainedRequest> {
    const { alias: _ignored, ...request } = await this.createRequest(spec, held);
    return this.addRequestOf(spec, request);
  }

  private addRequestOf(spec: LinkSpec, request: NativeLinkCreate): ChainedRequest {
    return { op: `link add ${spec.kind} ${spec.name} in ${this.ctx.label}`, message: native().encodeLinkCreate(request), echo: true };
  }

  /** The link a creation made, from the kernel's echo of it (or, before 6.2, which does not echo, from a get). */
  async made(spec: LinkSpec, request: { master?: number } | undefined, echo: Buffer | undefined): Promise<Link> {
    const [made] = echo ? native().parseLinks(echo).map(toLink) : [await this.get(spec.name)];
    // The echo is taken before the kernel enslaves the new link.
    const master = request?.master ?? (spec.master === undefined ? undefined : await this.indexOf(spec.master));
    if (master) made.master = master;
    return made;
  }

  async get(nameOrIndex: string | number, options: LinkGetOptions = {}): Promise<Link> {
    const ref = checkLinkRef(nameOrIndex);
    const stats = wantsStats(options);
    const conn = await this.ctx.connection();
    const message =
      typeof ref === 'number' ? native().encodeLinkGet(ref, '') : native().encodeLinkGet(0, ref);
    const replies = await conn.requestReply(`link get ${ref} in ${this.ctx.label}`, message);
    const [link] = native().parseLinks(replies, stats);
    if (!link) throw invalid(`link get ${ref}: the kernel sent no link`);
    return toLink(link);
  }

  async list(filter: LinkFilter = {}): Promise<Link[]> {
    const stats = wantsStats(filter);
    const dumpFilter: { kind?: string; master?: number } = {};
    if (filter.kind !== undefined) {
      if (typeof filter.kind !== 'string' || !/^[a-z0-9_-]{1,15}$/.test(filter.kind)) {
        throw invalid(`link kind filter is not a kind name: ${String(filter.kind)}`);
      }
      dumpFilter.kind = filter.kind;
    }
    if (filter.master !== undefined) dumpFilter.master = await this.indexOf(filter.master);
    const conn = await this.ctx.connection();
    const replies = await conn.query(`link list in ${this.ctx.label}`, native().encodeLinkDump(dumpFilter));
    return native().parseLinks(replies, stats).map(toLink);
  }

  /** Every link, as list() lists them, with only their index, name, up and master. */
  async briefs(): Promise<LinkBrief[]> {
    const conn = await this.ctx.connection();
    const replies = await conn.query(`link list in ${this.ctx.label}`, native().encodeLinkDump({}));
    const { indexes, flags, masters, names } = native().parseLinkBriefs(replies);
    const briefs: LinkBrief[] = [];
    for (let i = 0; i < names.length; i++) {
      const brief: LinkBrief = { index: indexes[i], name: names[i], up: (flags[i] & IFF_UP) !== 0 };
      if (masters[i]) brief.master = masters[i];
      briefs.push(brief);
    }
    return briefs;
  }

  async set(nameOrIndex: string | number, changes: LinkChanges): Promise<void> {
    const held: number[] = [];
    try {
      await this.change(nameOrIndex, changes, held);
    } finally {
      closeAll(held);
    }
  }

  private async change(nameOrIndex: string | number, changes: LinkChanges, held: number[]): Promise<void> {
    const { op, message } = await this.changeRequest(nameOrIndex, changes, held);
    const conn = await this.ctx.connection();
    await conn.request(op, message);
  }

  /**
   * A change as a request for a chain (RtnlConnection.chain). A link named
   * is found by the kernel by its name when the request runs. Descriptors it
   * names go into `held`, to be closed once it has settled.
   */
  async changeRequest(nameOrIndex: string | number, changes: LinkChanges, held: number[]): Promise<ChainedRequest> {
    const ref = checkLinkRef(nameOrIndex);
    if (typeof changes !== 'object' || changes === null) throw invalid('link changes must be an object');
    const attrs: NativeLinkAttributes = {};
    if (changes.up !== undefined) attrs.up = Boolean(changes.up);
    if (changes.mtu !== undefined) attrs.mtu = checkMtu(changes.mtu);
    if (changes.mac !== undefined) attrs.mac = checkMac(changes.mac);
    if (changes.alias !== undefined) attrs.alias = checkAlias(changes.alias);
    if (changes.linkGroup !== undefined) attrs.group = checkUint(changes.linkGroup, 'linkGroup');
    if (changes.hairpin !== undefined) attrs.hairpin = Boolean(changes.hairpin);
    if (changes.netns !== undefined) attrs.netnsFd = holdNamespaceFd(changes.netns, 'netns', held);
    const newName = changes.name === undefined ? undefined : checkNewInterfaceName(changes.name, 'new name');
    if (changes.master !== undefined) attrs.master = changes.master === null ? 0 : await this.indexOf(changes.master);
    // The kernel finds a link by name when no index is given, except on rename.
    let index = typeof ref === 'number' ? ref : 0;
    if (newName !== undefined && index === 0) index = await this.indexOf(ref);
    if (newName !== undefined) attrs.name = newName;
    else if (index === 0) attrs.name = ref as string;
    return { op: `link set ${ref} in ${this.ctx.label}`, message: native().encodeLinkChange(index, attrs) };
  }

  /** A get of one link as a request for a chain: answered by the link (see toLink and parseLinks). */
  getRequest(nameOrIndex: string | number): ChainedRequest {
    const ref = checkLinkRef(nameOrIndex);
    const message = typeof ref === 'number' ? native().encodeLinkGet(ref, '') : native().encodeLinkGet(0, ref);
    return { op: `link get ${ref} in ${this.ctx.label}`, message };
  }

  /** The link of a get's reply. */
  static fromReply(reply: Buffer | undefined): Link | undefined {
    const [link] = reply ? native().parseLinks(reply) : [];
    return link && toLink(link);
  }

  /** Deletes a link (for a veth, both ends). */
  async delete(nameOrIndex: string | number): Promise<void> {
    const ref = checkLinkRef(nameOrIndex);
    const conn = await this.ctx.connection();
    const message =
      typeof ref === 'number' ? native().encodeLinkDelete(ref, '') : native().encodeLinkDelete(0, ref);
    await conn.request(`link delete ${ref} in ${this.ctx.label}`, message);
  }

  /** The index of a link given by name or index. */
  async indexOf(nameOrIndex: string | number): Promise<number> {
    const ref = checkLinkRef(nameOrIndex);
    return typeof ref === 'number' ? ref : (await this.get(ref)).index;
  }

  /** A child link's parent (found here) and, when it is made elsewhere, its namespace. */
  private async childOf(spec: ChildLinkOptions, request: NativeLinkCreate, held: number[]): Promise<void> {
    request.parentIndex = await this.indexOf(spec.parent);
    if (spec.netns !== undefined) request.netnsFd = holdNamespaceFd(spec.netns, 'netns', held);
  }

  private async createRequest(spec: LinkSpec, held: number[]): Promise<NativeLinkCreate> {
    if (typeof spec !== 'object' || spec === null) throw invalid('link spec must be an object');
    const kind = checkOneOf(spec.kind, ['veth', 'bridge', 'dummy', 'ifb', 'vxlan', 'macvlan', 'ipvlan', 'vlan'], 'link kind');
    const request: NativeLinkCreate = { kind, ...checkCommon(spec, 'link') };
    switch (spec.kind) {
      case 'veth': {
        const peer = spec.peer as { up?: boolean; alias?: string } | undefined;
        if (peer?.up !== undefined || peer?.alias !== undefined) {
          throw invalid('a veth peer cannot be brought up or given an alias at creation; set it in its namespace afterwards');
        }
        request.peer = checkCommon(spec.peer, 'veth peer');
        if (spec.peer.netns !== undefined) request.peer.netnsFd = holdNamespaceFd(spec.peer.netns, 'peer.netns', held);
        break;
      }
      case 'vxlan': {
        request.vxlanId = checkUint(spec.id, 'VXLAN id', 0xffffff);
        if (spec.port !== undefined) request.vxlanPort = checkUint(spec.port, 'VXLAN port', 65535, 1);
        const local = spec.local === undefined ? undefined : ipFamily(spec.local, 'VXLAN local');
        const group = spec.group === undefined ? undefined : ipFamily(spec.group, 'VXLAN group');
        if (local && group && local !== group) throw invalid('VXLAN local and group must be of one IP family');
        if (local) request.vxlanLocal = spec.local;
        if (group) request.vxlanGroup = spec.group;
        if (spec.learning !== undefined) request.vxlanLearning = checkBoolean(spec.learning, 'VXLAN learning');
        if (spec.proxy !== undefined) request.vxlanProxy = checkBoolean(spec.proxy, 'VXLAN proxy');
        if (spec.dev !== undefined) request.parentIndex = await this.indexOf(spec.dev);
        break;
      }
      case 'macvlan':
        await this.childOf(spec, request, held);
        request.mode = 1 << MACVLAN_MODES.indexOf(checkOneOf(spec.mode ?? 'bridge', MACVLAN_MODES, 'macvlan mode'));
        break;
      case 'ipvlan':
        await this.childOf(spec, request, held);
        request.mode = IPVLAN_MODES.indexOf(checkOneOf(spec.mode ?? 'l2', IPVLAN_MODES, 'ipvlan mode'));
        // IPVLAN_F_PRIVATE is 1, IPVLAN_F_VEPA 2; bridge is none.
        request.ipvlanFlags = IPVLAN_FLAGS.indexOf(checkOneOf(spec.flag ?? 'bridge', IPVLAN_FLAGS, 'ipvlan flag'));
        break;
      case 'vlan':
        await this.childOf(spec, request, held);
        request.vlanId = checkUint(spec.id, 'VLAN id', 4094, 1);
        break;
      default:
        break;
    }
    if (spec.master !== undefined) request.master = await this.indexOf(spec.master);
    return request;
  }
}
