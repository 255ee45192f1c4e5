/**
 * Published ports: Docker's `-p` syntax and objects, checked and expanded to
 * one mapping per port. Nothing here touches the system.
 */
import { NsnetError } from '../errors';
import { canonicalAddress } from '../types/ip';
import { type PortProtocol, type PortRequest, PROTOCOLS, PublishObjectSchema, type PublishSpec } from '../types/ports';
import { describeProblem, Validator } from '../types/schema';

const publishObject = new Validator(PublishObjectSchema);

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
  if (!/^[0-9]+(-[0-9]+)?$/.test(text)) throw publishError(spec, `${what} must be a port 1-65535 or a range like 8000-8010, got "${text}"`);
  const [start, end] = text.split('-');
  const first = parsePort(start, spec, what);
  const last = end === undefined ? first : parsePort(end, spec, what);
  if (last < first) throw publishError(spec, `${what} range "${text}" runs backwards`);
  return [first, last];
}

/** A host address in canonical form, so that one address is one key. */
function checkHostIp(hostIp: string, spec: unknown): string {
  let canonical: string;
  try {
    canonical = canonicalAddress(hostIp);
  } catch {
    throw publishError(spec, `host address "${hostIp}" is not an IP address`);
  }
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
    if (!(PROTOCOLS as readonly string[]).includes(name)) throw publishError(spec, `protocol must be tcp, udp or sctp, got "${name}"`);
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

function fromObject(spec: object): PortRequest {
  const object = publishObject.valid(spec, (problem) => publishError(spec, describeProblem(problem, 'port spec key')));
  const text = (value: number | string | undefined) => (value === undefined ? undefined : String(value));
  const [containerPort, containerPortEnd] = parseRange(text(object.containerPort) ?? '', spec, 'containerPort');
  const request: PortRequest = { containerPort, containerPortEnd, protocol: object.protocol ?? 'tcp' };
  if (object.hostIp !== undefined) request.hostIp = checkHostIp(object.hostIp, spec);
  const hostPort = text(object.hostPort);
  if (hostPort !== undefined && hostPort !== '') addHostRange(request, parseRange(hostPort, spec, 'hostPort'), spec);
  return request;
}
