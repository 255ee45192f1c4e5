/** Routes of one namespace: `ns.routes`. */
import { invalid } from '../errors';
import { addressFamilyNumber, hasHostBits, type IpFamily, ipFamily, ipFamilyOf, parseCidr } from '../types/ip';
import { native, type NativeRoute, type NativeRouteSpec } from '../native';
import { checkOneOf, checkUint } from '../validate';
import type { ChainedRequest } from '../kernel/rtnl-connection';
import type { RtnlContext } from './context';
import type { Links } from './links';

export const ROUTE_SCOPES = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export type RouteScope = keyof typeof ROUTE_SCOPES;

const ROUTE_TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'];
const TABLE_MAIN = 254;

export interface Route {
  /** 'default' or a prefix such as 10.0.0.0/24. */
  dst: string;
  gateway?: string;
  dev?: string | number;
  metric?: number;
  /** Routing table id; main (254) when omitted. */
  table?: number;
  /** Defaults to 'link' for an IPv4 route without gateway, else 'universe'. */
  scope?: RouteScope;
  /** Preferred source address. */
  src?: string;
  /** Needed only when nothing else tells: a default route with only a device. */
  family?: IpFamily;
}

/** A route as read from the kernel. */
export interface RouteEntry {
  dst: string;
  family: IpFamily;
  gateway?: string;
  dev?: string;
  metric?: number;
  table: number;
  scope: RouteScope | number;
  src?: string;
  type: string;
}

export interface RouteFilter {
  family?: IpFamily;
  /** Table id; main (254) when omitted. */
  table?: number;
  dev?: string | number;
}

export class Routes {
  constructor(
    private readonly ctx: RtnlContext,
    private readonly links: Links,
  ) {}

  async add(route: Route): Promise<void> {
    await this.change('add', route);
  }

  /** Adds the route, or replaces the one with the same destination, table and metric. */
  async replace(route: Route): Promise<void> {
    await this.change('replace', route);
  }

  async delete(route: Route): Promise<void> {
    await this.change('delete', route);
  }

  async list(filter: RouteFilter = {}): Promise<RouteEntry[]> {
    if (filter.family !== undefined && filter.family !== 4 && filter.family !== 6) {
      throw invalid(`route family must be 4 or 6, got ${String(filter.family)}`);
    }
    const table = filter.table === undefined ? TABLE_MAIN : checkUint(filter.table, 'route table', 0xffffffff, 1);
    const dumpFilter: { family: number; table: number; oif?: number } = {
      family: filter.family ? addressFamilyNumber(filter.family) : 0,
      table,
    };
    if (filter.dev !== undefined) dumpFilter.oif = await this.links.indexOf(filter.dev);
    const conn = await this.ctx.connection();
    const [replies, names] = await Promise.all([
      conn.query(`route list in ${this.ctx.label}`, native().encodeRouteDump(dumpFilter)),
      this.links.list().then((links) => new Map(links.map((link) => [link.index, link.name]))),
    ]);
    return native()
      .parseRoutes(replies)
      .filter((raw) => raw.table === table && (!dumpFilter.oif || raw.oif === dumpFilter.oif))
      .map((raw) => toRouteEntry(raw, names));
  }

  private async change(op: 'add' | 'replace' | 'delete', route: Route): Promise<void> {
    const request = await this.changeRequest(op, route);
    const conn = await this.ctx.connection();
    await conn.request(request.op, request.message);
  }

  /** The addition of a route, as a request for a chain (RtnlConnection.chain). */
  addRequest(route: Route): Promise<ChainedRequest> {
    return this.changeRequest('add', route);
  }

  /** The replacement of a route (see replace()), as a request for a chain. */
  replaceRequest(route: Route): Promise<ChainedRequest> {
    return this.changeRequest('replace', route);
  }

  private async changeRequest(op: 'add' | 'replace' | 'delete', route: Route): Promise<ChainedRequest> {
    const spec = await this.toSpec(route, op);
    const target = `${route.dst}${route.gateway ? ` via ${route.gateway}` : ''}${route.dev !== undefined ? ` dev ${route.dev}` : ''}`;
    return { op: `route ${op} ${target} in ${this.ctx.label}`, message: native().encodeRoute(op, spec) };
  }

  private async toSpec(route: Route, op: string): Promise<NativeRouteSpec> {
    if (typeof route !== 'object' || route === null) throw invalid('route must be an object');
    const families = new Set<IpFamily>();
    const spec: Partial<NativeRouteSpec> = {};
    if (route.dst !== 'default') {
      const dst = parseCidr(route.dst, 'route dst');
      if (hasHostBits(dst)) throw invalid(`route dst ${route.dst} has bits set past its prefix length`);
      families.add(dst.family);
      spec.dst = dst.address;
      spec.dstLength = dst.prefixLength;
    }
    if (route.gateway !== undefined) {
      families.add(ipFamily(route.gateway, 'route gateway'));
      spec.gateway = route.gateway;
    }
    if (route.src !== undefined) {
      families.add(ipFamily(route.src, 'route src'));
      spec.src = route.src;
    }
    if (route.family !== undefined) {
      if (route.family !== 4 && route.family !== 6) throw invalid(`route family must be 4 or 6, got ${String(route.family)}`);
      families.add(route.family);
    }
    if (families.size > 1) throw invalid('route dst, gateway, src and family must be of one IP family');
    const family: IpFamily = families.values().next().value ?? 4;
    if (route.dst === 'default' && route.gateway === undefined && route.dev === undefined && op !== 'delete') {
      throw invalid('a default route needs a gateway or a dev');
    }
    if (route.metric !== undefined) spec.metric = checkUint(route.metric, 'route metric');
    spec.table = route.table === undefined ? TABLE_MAIN : checkUint(route.table, 'route table', 0xffffffff, 1);
    if (route.scope !== undefined) {
      spec.scope = ROUTE_SCOPES[checkOneOf(route.scope, Object.keys(ROUTE_SCOPES) as RouteScope[], 'route scope')];
    } else if (op !== 'delete' && family === 4 && route.gateway === undefined) {
      spec.scope = ROUTE_SCOPES.link;
    }
    if (route.dev !== undefined) spec.oif = await this.links.indexOf(route.dev);
    return { ...spec, family: addressFamilyNumber(family) };
  }
}

/** A route of a dump or a notification, with its device named. */
export function toRouteEntry(raw: NativeRoute, names: Map<number, string>): RouteEntry {
  const scopeName = (Object.keys(ROUTE_SCOPES) as RouteScope[]).find((name) => ROUTE_SCOPES[name] === raw.scope);
  const entry: RouteEntry = {
    dst: raw.dst ? `${raw.dst}/${raw.dstLength}` : 'default',
    family: ipFamilyOf(raw.family),
    table: raw.table,
    scope: scopeName ?? raw.scope,
    type: ROUTE_TYPES[raw.type] ?? String(raw.type),
  };
  if (raw.gateway) entry.gateway = raw.gateway;
  if (raw.oif) entry.dev = names.get(raw.oif) ?? String(raw.oif);
  if (raw.metric !== undefined) entry.metric = raw.metric;
  if (raw.src) entry.src = raw.src;
  return entry;
}
