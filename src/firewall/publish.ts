/**
 * Published ports: Docker's `-p` syntax and objects, checked and expanded to
 * one mapping per port. Nothing here touches the system.
 */
import { isIP } from 'node:net';

import { NsnetError } from '../errors';
import type { IpFamily } from '../ip';
import { toNumber, toText } from '../ipam/subnet';

/** The protocols a port can be published for, and their IP protocol numbers (nf_tables' inet_proto). */
export const PROTOCOL_NUMBERS = { tcp: 6, udp: 17, sctp: 132 } as const;
export type PortProtocol = keyof typeof PROTOCOL_NUMBERS;
export const PROTOCOLS = Object.keys(PROTOCOL_NUMBERS) as PortProtocol[];

/** What a user asks for: a spec string or an object. */
export type PublishSpec =
  | string
  | { hostIp?: string; hostPort?: number | string; containerPort: number | string; protocol?: PortProtocol };

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

function publishError(spec: unknown, why: string): NsnetError {
  return new NsnetError('INVALID_PUBLISH', `invalid published port ${JSON.stringify(spec)}: ${why}`);
}

function parsePort(text: string, spec: unknown, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw publishError(spec, `${what} must be 1-65535, got "${text}"`);
  }
  return Number(text);
}

function parseRange(text: string, spec: unknown, what: string): [number, number] {
  const [start, end, extra] = text.split('-');
  if (extra !== undefined) throw publishError(spec, `${what} "${text}" is not a port or a range`);
  const first = parsePort(start, spec, what);
  const last = end === undefined ? first : parsePort(end, spec, what);
  if (last < first) throw publishError(spec, `${what} range "${text}" runs backwards`);
  return [first, last];
}

/** A host address in canonical form, so that one address is one key. */
function checkHostIp(hostIp: string, spec: unknown): string {
  const family = isIP(hostIp);
  if (family === 0 || hostIp.includes('%')) throw publishError(spec, `host address "${hostIp}" is not an IP address`);
  const canonical = toText(family as IpFamily, toNumber(hostIp));
  // IPv6 has no route_localnet: the kernel will not route ::1 to a container.
  if (canonical === '::1') throw publishError(spec, 'ports cannot be published on ::1; use 127.0.0.1');
  return canonical;
}

/**
 * Parses `[hostIp:][hostPort[-end]:]containerPort[-end][/tcp|udp|sctp]`, as
 * `docker run -p` does (an IPv6 host address goes in brackets: `[::1]:80:80`).
 */
export function parsePublish(spec: PublishSpec): PortRequest {
  if (typeof spec === 'object' && spec !== null) return fromObject(spec);
  if (typeof spec !== 'string' || spec.length === 0) throw publishError(spec, 'expected a string or an object');
  let rest = spec;
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const name = rest.slice(slash + 1);
    if (!PROTOCOLS.includes(name as PortProtocol)) throw publishError(spec, `protocol must be tcp, udp or sctp, got "${name}"`);
    protocol = name as PortProtocol;
    rest = rest.slice(0, slash);
  }
  let hostIp: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:');
    if (close < 0) throw publishError(spec, 'an IPv6 host address in brackets must be followed by ":"');
    hostIp = checkHostIp(rest.slice(1, close), spec);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  if (hostIp === undefined && parts.length === 3) hostIp = checkHostIp(parts.shift() as string, spec);
  if (parts.length > 2 || parts.length === 0) throw publishError(spec, 'too many ":"');
  const [containerPort, containerPortEnd] = parseRange(parts.pop() as string, spec, 'container port');
  const request: PortRequest = { containerPort, containerPortEnd, protocol };
  if (hostIp !== undefined) request.hostIp = hostIp;
  const host = parts.pop();
  if (host !== undefined && host !== '') addHostRange(request, parseRange(host, spec, 'host port'), spec);
  return request;
}

function addHostRange(request: PortRequest, [first, last]: [number, number], spec: unknown): void {
  const containerCount = request.containerPortEnd - request.containerPort;
  const hostCount = last - first;
  if (containerCount !== 0 && hostCount !== containerCount) {
    throw publishError(spec, 'host and container port ranges must be of one length');
  }
  request.hostPort = first;
  if (hostCount !== 0) request.hostPortEnd = last;
}

function fromObject(spec: Exclude<PublishSpec, string>): PortRequest {
  const text = (value: number | string | undefined) => (value === undefined ? undefined : String(value));
  const [containerPort, containerPortEnd] = parseRange(text(spec.containerPort) ?? '', spec, 'containerPort');
  const protocol = spec.protocol ?? 'tcp';
  if (!PROTOCOLS.includes(protocol)) throw publishError(spec, `protocol must be tcp, udp or sctp, got "${String(protocol)}"`);
  const request: PortRequest = { containerPort, containerPortEnd, protocol };
  if (spec.hostIp !== undefined) request.hostIp = checkHostIp(String(spec.hostIp), spec);
  const hostPort = text(spec.hostPort);
  if (hostPort !== undefined && hostPort !== '') addHostRange(request, parseRange(hostPort, spec, 'hostPort'), spec);
  return request;
}
