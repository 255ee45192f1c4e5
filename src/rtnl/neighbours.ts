/**
 * Neighbour entries of one namespace, `ns.neighbours`: ARP (IPv4) and NDP
 * (IPv6) entries, and bridge forwarding database (FDB) entries, of a bridge's
 * ports or of a device's own table (a VXLAN device's remotes).
 */
import { invalid } from '../errors';
import { addressFamilyNumber, AF_INET6, ipFamily, type IpFamily, isIPv6 } from '../types/ip';
import { native, type NativeNeighbour, type NativeNeighbourSpec } from '../native';
import { checkOneOf, checkUint } from '../validate';
import type { ChainedRequest } from '../kernel/rtnl-connection';
import type { RtnlContext } from './context';
import type { Links } from './links';

export const AF_BRIDGE = 7;

/** NUD_* states, by the names `ip neigh` gives them. */
export const NEIGHBOUR_STATES = {
  none: 0x00,
  incomplete: 0x01,
  reachable: 0x02,
  stale: 0x04,
  delay: 0x08,
  probe: 0x10,
  failed: 0x20,
  noarp: 0x40,
  permanent: 0x80,
} as const;
export type NeighbourState = keyof typeof NEIGHBOUR_STATES;

const NTF_SELF = 1 << 1;
const NTF_MASTER = 1 << 2;
const NTF_ROUTER = 1 << 7;

/** An ARP (family 4) or NDP (family 6) entry, as read from the kernel. */
export interface IpNeighbour {
  family: IpFamily;
  dev: string;
  address: string;
  /** Absent while unresolved (incomplete, failed). */
  mac?: string;
  state: NeighbourState;
  /** NDP: the neighbour is a router. */
  router?: boolean;
}

/** A bridge forwarding database entry, as read from the kernel (`bridge fdb`). */
export interface FdbEntry {
  family: 'bridge';
  dev: string;
  mac: string;
  /** In the table of the bridge the device is a port of: that bridge's name. */
  master?: string;
  /** In the device's own table (a VXLAN device's, a bridge's own addresses). */
  self?: boolean;
  /** A VXLAN remote: the address frames to `mac` are tunnelled to. */
  dst?: string;
  vlan?: number;
  /** Local (the kernel's NUD_PERMANENT): for a bridge, frames to it are not forwarded but taken in. */
  permanent: boolean;
  /** As `bridge fdb` words it: 'permanent', 'static' (NUD_NOARP: never ages, forwarded), or a learned entry's NUD state. */
  state: FdbState;
}

export type FdbState = Exclude<NeighbourState, 'noarp'> | 'static';

export type Neighbour = IpNeighbour | FdbEntry;

/** An ARP or NDP entry to add or delete; its family is its address's. */
export interface IpNeighbourSpec {
  /** The address's own; checked when given. */
  family?: IpFamily;
  dev: string | number;
  address: string;
  /** Needed to add one; `lladdr` is taken as its other name. */
  mac?: string;
  lladdr?: string;
  /** Default 'permanent' (as `ip neigh add`). */
  state?: NeighbourState;
  router?: boolean;
}

/** An FDB entry to add or delete (`bridge fdb add`). */
export interface FdbSpec {
  family: 'bridge';
  dev: string | number;
  mac?: string;
  lladdr?: string;
  /**
   * In the table of the bridge `dev` is a port of (NTF_MASTER); a name is
   * checked to be that bridge's. Without it (and without `self`), the
   * device's own table, as `bridge fdb` does.
   */
  master?: boolean | string;
  self?: boolean;
  /** A VXLAN device's remote for `mac` (all zeros: where to flood). */
  dst?: string;
  vlan?: number;
  /** Default true, as `bridge fdb add`; false makes a static entry, forwarded (NUD_NOARP). */
  permanent?: boolean;
}

export type NeighbourSpec = IpNeighbourSpec | FdbSpec;

export interface NeighbourFilter {
  dev?: string | number;
  /** 4, 6 or 'bridge'; all three when omitted. */
  family?: IpFamily | 'bridge';
}

type NeighbourOp = 'add' | 'replace' | 'append' | 'delete';

export class Neighbours {
  constructor(
    private readonly ctx: RtnlContext,
    private readonly links: Links,
  ) {}

  /** Adds an entry; fails EEXIST when there is one for the same address (or MAC) on `dev`. */
  async add(spec: NeighbourSpec): Promise<void> {
    await this.change('add', spec);
  }

  /** Adds the entry, or changes the one there (`ip neigh replace`, `bridge fdb replace`). */
  async replace(spec: NeighbourSpec): Promise<void> {
    await this.change('replace', spec);
  }

  /** An FDB entry's further remote (`bridge fdb append`): a VXLAN device floods to every dst of the all-zeros MAC. */
  async append(spec: FdbSpec): Promise<void> {
    if ((spec as { family?: unknown } | undefined)?.family !== 'bridge') throw invalid("only an FDB entry (family 'bridge') can be appended to");
    await this.change('append', spec);
  }

  /** Removes an entry (an FDB entry with `dst`: that remote only). */
  async delete(spec: NeighbourSpec): Promise<void> {
    await this.change('delete', spec);
  }

  async list(filter: NeighbourFilter = {}): Promise<Neighbour[]> {
    if (typeof filter !== 'object' || filter === null) throw invalid('neighbour filter must be an object');
    // Compared as given: the text '4' is not the family 4 (it would be dumped as IPv6).
    if (filter.family !== undefined && !([4, 6, 'bridge'] as unknown[]).includes(filter.family)) {
      throw invalid(`neighbour family must be 4, 6 or 'bridge', got ${JSON.stringify(filter.family)}`);
    }
    const device = filter.dev === undefined ? undefined : await this.links.get(filter.dev);
    const conn = await this.ctx.connection();
    // An AF_UNSPEC dump holds ARP and NDP entries, not the bridge's, which have their own.
    const families = filter.family === undefined ? [0, AF_BRIDGE] : [filter.family === 'bridge' ? AF_BRIDGE : addressFamilyNumber(filter.family)];
    const [names, ...replies] = await Promise.all([
      this.links.list().then((links) => new Map(links.map((link) => [link.index, link.name]))),
      ...families.map((family) => conn.query(`neighbour list in ${this.ctx.label}`, native().encodeNeighbourDump(family, device?.index ?? 0))),
    ]);
    return replies
      .flatMap((reply) => native().parseNeighbours(reply))
      .filter((raw) => !device || raw.index === device.index)
      .map((raw) => toNeighbour(raw, names));
  }

  /** The addition of an entry, as a request for a chain (RtnlConnection.chain). */
  addRequest(spec: NeighbourSpec): Promise<ChainedRequest> {
    return this.changeRequest('add', spec);
  }

  /** The replacement of an entry (added when absent), as a request for a chain. */
  replaceRequest(spec: NeighbourSpec): Promise<ChainedRequest> {
    return this.changeRequest('replace', spec);
  }

  /** The removal of an entry, as a request for a chain: an entry not there counts as removed. */
  async deleteRequest(spec: NeighbourSpec): Promise<ChainedRequest> {
    return { ...(await this.changeRequest('delete', spec)), goneIsDone: true };
  }

  private async change(op: NeighbourOp, spec: NeighbourSpec): Promise<void> {
    const request = await this.changeRequest(op, spec);
    const conn = await this.ctx.connection();
    await conn.request(request.op, request.message);
  }

  private async changeRequest(op: NeighbourOp, spec: NeighbourSpec): Promise<ChainedRequest> {
    if (typeof spec !== 'object' || spec === null) throw invalid('neighbour entry must be an object');
    const fdb = spec.family === 'bridge';
    const fields = spec.family === 'bridge' ? this.fdbSpec(op, spec) : ipNeighbourSpec(op, spec);
    const index = await this.links.indexOf(spec.dev);
    if (spec.family === 'bridge' && typeof spec.master === 'string') await this.checkMaster(spec.dev, spec.master);
    const what = fdb ? `fdb ${fields.lladdr ?? ''}${fields.dst ? ` dst ${fields.dst}` : ''}` : `neighbour ${fields.dst}`;
    return { op: `${what} ${op} dev ${spec.dev} in ${this.ctx.label}`, message: native().encodeNeighbour(op, { ...fields, index }) };
  }

  private fdbSpec(op: NeighbourOp, spec: FdbSpec): Omit<NativeNeighbourSpec, 'index'> {
    const lladdr = linkLayerAddress(spec.mac ?? spec.lladdr, 'FDB entry mac');
    if (lladdr === undefined) throw invalid('an FDB entry needs a mac');
    if (spec.master !== undefined && typeof spec.master !== 'boolean' && typeof spec.master !== 'string') {
      throw invalid(`FDB master must be true or the bridge's name, got ${String(spec.master)}`);
    }
    let flags = (spec.master ? NTF_MASTER : 0) | (spec.self ? NTF_SELF : 0);
    if (!flags) flags = NTF_SELF;
    const fields: Omit<NativeNeighbourSpec, 'index'> = {
      family: AF_BRIDGE,
      flags,
      state: spec.permanent === false ? NEIGHBOUR_STATES.noarp : NEIGHBOUR_STATES.permanent,
      lladdr,
    };
    if (spec.dst !== undefined) {
      ipFamily(spec.dst, 'FDB dst');
      fields.dst = spec.dst;
    }
    if (spec.vlan !== undefined) fields.vlan = checkUint(spec.vlan, 'FDB vlan', 4094, 1);
    if (op === 'append' && fields.dst === undefined) throw invalid('an FDB entry appended needs a dst');
    return fields;
  }

  /** That `master`, given by name, is the bridge `dev` is a port of. */
  private async checkMaster(dev: string | number, master: string): Promise<void> {
    const [port, bridge] = await Promise.all([this.links.get(dev), this.links.get(master)]);
    if (port.master !== bridge.index) throw invalid(`${port.name} is not a port of ${master}`);
  }
}

function ipNeighbourSpec(op: NeighbourOp, spec: IpNeighbourSpec): Omit<NativeNeighbourSpec, 'index'> {
  if (op === 'append') throw invalid("only an FDB entry (family 'bridge') can be appended to");
  const family = ipFamily(spec.address, 'neighbour address');
  if (spec.family !== undefined && spec.family !== family) throw invalid(`neighbour address ${spec.address} is not of family ${String(spec.family)}`);
  const lladdr = linkLayerAddress(spec.mac ?? spec.lladdr, 'neighbour mac');
  if (lladdr === undefined && op !== 'delete') throw invalid('a neighbour entry needs a mac to be added');
  const state = NEIGHBOUR_STATES[checkOneOf(spec.state ?? 'permanent', Object.keys(NEIGHBOUR_STATES) as NeighbourState[], 'neighbour state')];
  const fields: Omit<NativeNeighbourSpec, 'index'> = {
    family: addressFamilyNumber(family),
    flags: spec.router ? NTF_ROUTER : 0,
    state,
    dst: spec.address,
  };
  if (lladdr !== undefined) fields.lladdr = lladdr;
  return fields;
}

/** A link-layer address in colon form, lower case: unlike a link's MAC, it may be all zeros or multicast. */
function linkLayerAddress(mac: unknown, what: string): string | undefined {
  if (mac === undefined) return undefined;
  if (typeof mac !== 'string' || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw invalid(`${what} must look like 02:42:ac:11:00:02, got ${String(mac)}`);
  return mac.toLowerCase();
}

function stateName(state: number): NeighbourState {
  const names = Object.keys(NEIGHBOUR_STATES) as NeighbourState[];
  // One bit as a rule; of several, the most lasting (permanent over noarp over the NUD machine's).
  return names.reverse().find((name) => (NEIGHBOUR_STATES[name] & state) !== 0) ?? 'none';
}

/** An entry of a dump or a notification, with its device (and bridge) named. */
export function toNeighbour(raw: NativeNeighbour, names: Map<number, string>): Neighbour {
  const dev = names.get(raw.index) ?? String(raw.index);
  const state = stateName(raw.state);
  if (raw.family === AF_BRIDGE) {
    const permanent = (raw.state & NEIGHBOUR_STATES.permanent) !== 0;
    const entry: FdbEntry = { family: 'bridge', dev, mac: raw.lladdr, permanent, state: state === 'noarp' ? 'static' : state };
    if (raw.master) entry.master = names.get(raw.master) ?? String(raw.master);
    if (raw.flags & NTF_SELF) entry.self = true;
    if (raw.dst) entry.dst = raw.dst;
    if (raw.vlan !== undefined) entry.vlan = raw.vlan;
    return entry;
  }
  const entry: IpNeighbour = { family: raw.family === AF_INET6 ? 6 : 4, dev, address: raw.dst, state };
  if (raw.lladdr) entry.mac = raw.lladdr;
  if (raw.flags & NTF_ROUTER) entry.router = true;
  return entry;
}

/** Removes the entry for `address` on link `index`, if there is one. */
export async function forgetNeighbour(ctx: RtnlContext, index: number, address: string): Promise<void> {
  const { op, message } = forgetNeighbourRequest(ctx, index, address);
  const conn = await ctx.connection();
  await conn.request(op, message, { goneIsDone: true });
}

/** forgetNeighbour() as a request for a chain (RtnlConnection.chain). */
export function forgetNeighbourRequest(ctx: RtnlContext, index: number, address: string): ChainedRequest {
  const message = native().encodeNeighbourDelete(addressFamilyNumber(isIPv6(address) ? 6 : 4), index, address);
  return { op: `neighbour delete ${address} dev ${index} in ${ctx.label}`, message, goneIsDone: true };
}
