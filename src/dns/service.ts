/**
 * `nsnet dns serve`: the one resolver of the host. It keeps the table of
 * names (told by the network layer over its control socket, or read from the
 * state directory), listens on each DNS-enabled network's gateway, and
 * answers the containers there.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { createServer, isIP, type Socket } from 'node:net';
import { dirname } from 'node:path';

import { invalid, NsnetError } from '../errors';
import { refuseIfServed, tellStarter } from '../service-socket';
import { currentStore } from '../state/store';
import { type DnsEndpoint, type DnsNetwork, dnsEndpointOf, dnsNetworkOf, isDnsName } from '../types/dns';
import { resolvesNames } from '../types/network';
import { Answerer, failure, RCODE, type ToForward } from './answer';
import { answerLimit, fitted, type Transport } from './bounds';
import { type ControlRequest, serveControlConnection, type ServiceStatus } from './control';
import { Forwarder } from './forwarder';
import { NetworkListeners } from './listeners';
import { NameTable } from './names';
import { RateLimit } from './rate-limit';
import { dnsPidPath } from './socket-path';
import { upstreamsOf } from './upstreams';

/** Forwarded queries per asker (namespace) and second, unless NSNET_DNS_FORWARD_RATE says otherwise; bursts of two seconds' worth. */
const DEFAULT_FORWARD_RATE = 1000;

function forwardRateLimit(): RateLimit {
  const given = Number(process.env.NSNET_DNS_FORWARD_RATE);
  const rate = Number.isInteger(given) && given > 0 ? given : DEFAULT_FORWARD_RATE;
  return new RateLimit(rate, 2 * rate);
}
/** A unix socket address holds 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107;

export interface DnsServiceOptions {
  /** Leave after this long with no endpoint in the table (a service started on demand). */
  idleExitMs?: number;
  onIdle?: () => void;
}

export interface DnsService {
  /** Stops answering: control socket, listeners, pid file. */
  close(): Promise<void>;
}

/** The table, the sockets on the gateways, and what answers from them. */
class Resolver {
  readonly table = new NameTable();
  private readonly answerer = new Answerer(this.table);
  private readonly forwarder = new Forwarder();
  private readonly rateLimit = forwardRateLimit();
  private readonly listeners = new Map<string, NetworkListeners>();
  /** Control requests change the table one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly handle = (query: Buffer, source: string, transport: Transport) => this.answer(query, source, transport);
  private readonly bounds = { accepts: (source: string) => this.table.viewOf(source) !== undefined };

  constructor(private readonly changed: () => void) {
    this.table.onChange = () => this.answerer.invalidate();
  }

  serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run.finally(() => this.changed());
  }

  answer(query: Buffer, source: string, transport: Transport): Buffer | undefined | Promise<Buffer | undefined> {
    const answer = this.answerer.answer(query, source, transport);
    return answer === undefined || Buffer.isBuffer(answer) ? answer : this.forward(query, answer, transport);
  }

  private async forward(query: Buffer, { packet, view }: ToForward, transport: Transport): Promise<Buffer | undefined> {
    if (this.forwarder.full || !this.rateLimit.take(view.asker.netnsInode)) return failure(packet, RCODE.SERVFAIL, transport, true);
    const answer = await this.forwarder.forward(query, await upstreamsOf(view.asker), transport);
    const fits = answer && fitted(answer, answerLimit(packet, transport));
    return fits ?? failure(packet, RCODE.SERVFAIL, transport, true);
  }

  /** Listeners for the network bound first: the names answer once add() resolves. */
  async add(network: DnsNetwork, endpoint: DnsEndpoint): Promise<void> {
    await this.listen(network);
    this.table.add(network, endpoint);
  }

  async remove(network: string, endpointId: string): Promise<void> {
    this.table.remove(network, endpointId);
    await this.closeUnused();
  }

  /**
   * The table as the state directory has it: ready endpoints with names on
   * networks that resolve names are (re)added; an endpoint whose record is
   * gone, or has no names left, is dropped; one still being made stays as
   * its add() left it. Another host's endpoint has no record here: it stays
   * until the overlay agent that added it removes it.
   */
  async sync(): Promise<void> {
    const store = currentStore();
    const networks = new Map((await store.list('networks')).filter(resolvesNames).map((record) => [record.name, dnsNetworkOf(record)]));
    const records = new Map((await store.list('endpoints')).map((record) => [record.id, record]));
    for (const endpoint of this.table.endpoints()) {
      if (endpoint.host !== undefined) continue;
      const record = records.get(endpoint.id);
      if (!record || !networks.has(endpoint.network) || !record.names?.length) this.table.remove(endpoint.network, endpoint.id);
    }
    for (const record of records.values()) {
      const endpoint = record.status === 'ready' ? dnsEndpointOf(record) : undefined;
      const network = endpoint && networks.get(endpoint.network);
      if (!endpoint || !network) continue;
      try {
        await this.add(network, endpoint);
      } catch (error) {
        process.stderr.write(`nsnet dns: cannot listen on network ${network.name}: ${(error as Error).message}\n`);
      }
    }
    await this.closeUnused();
  }

  status(): ServiceStatus {
    const networks = this.table.networks().map((network) => {
      const entry = this.table.network(network.name)!;
      return { name: network.name, gateway: network.gateway, ...(network.gateway6 ? { gateway6: network.gateway6 } : {}), endpoints: entry.endpoints.size };
    });
    const names = this.table.endpoints().reduce((count, endpoint) => count + endpoint.names.length, 0);
    return { pid: process.pid, networks, names };
  }

  private async listen(network: DnsNetwork): Promise<void> {
    const current = this.listeners.get(network.name);
    if (current?.matches(network)) return;
    if (current) {
      this.listeners.delete(network.name);
      await current.close();
    }
    this.listeners.set(network.name, await NetworkListeners.open(network, this.handle, this.bounds));
  }

  private async closeUnused(): Promise<void> {
    for (const [name, listeners] of this.listeners) {
      if (this.table.network(name)) continue;
      this.listeners.delete(name);
      await listeners.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((listeners) => listeners.close()));
    this.listeners.clear();
  }
}

function checkedNetwork(value: unknown): DnsNetwork {
  const network = value as DnsNetwork;
  if (typeof network !== 'object' || network === null || typeof network.name !== 'string' || !network.name) throw invalid('add: no network name');
  if (isIP(network.gateway) !== 4) throw invalid(`add: not an IPv4 gateway: ${network.gateway}`);
  if (network.gateway6 !== undefined && isIP(network.gateway6) !== 6) throw invalid(`add: not an IPv6 gateway: ${network.gateway6}`);
  if (typeof network.subnet !== 'string' || typeof network.internal !== 'boolean') throw invalid('add: a network has a subnet and an internal flag');
  return network;
}

function checkedEndpoint(value: unknown, network: DnsNetwork): DnsEndpoint {
  const endpoint = value as DnsEndpoint;
  if (typeof endpoint !== 'object' || endpoint === null || typeof endpoint.id !== 'string' || !endpoint.id) throw invalid('add: no endpoint id');
  if (endpoint.network !== network.name) throw invalid(`add: endpoint ${endpoint.id} is not on network ${network.name}`);
  if (!Number.isInteger(endpoint.netnsInode)) throw invalid('add: no namespace inode');
  if (isIP(endpoint.ipv4) !== 4 || (endpoint.ipv6 !== undefined && isIP(endpoint.ipv6) !== 6)) throw invalid(`add: bad addresses of ${endpoint.id}`);
  if (!Array.isArray(endpoint.names) || endpoint.names.length === 0 || !endpoint.names.every((name) => typeof name === 'string' && isDnsName(name))) {
    throw new NsnetError('INVALID_DNS_NAME', `add: endpoint ${endpoint.id} has no valid names`);
  }
  if (endpoint.upstreams !== undefined && !(Array.isArray(endpoint.upstreams) && endpoint.upstreams.every((server) => isIP(server.replace(/%.*$/, ''))))) {
    throw invalid(`add: bad upstream servers of ${endpoint.id}`);
  }
  if (endpoint.host !== undefined && !isIP(endpoint.host)) throw invalid(`add: bad host of ${endpoint.id}: ${endpoint.host}`);
  return endpoint;
}

/** Starts the service on `socketPath`: the table read from the state directory, then the control socket. */
export async function serveDns(socketPath: string, options: DnsServiceOptions = {}): Promise<DnsService> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new NsnetError('INVALID_ARGUMENT', `the socket path is longer than ${MAX_SOCKET_PATH} bytes: ${socketPath}`);
  }
  await refuseIfServed(socketPath, 'resolver service');
  let idle: NodeJS.Timeout | undefined;
  const resolver: Resolver = new Resolver(() => {
    clearTimeout(idle);
    if (options.idleExitMs !== undefined && resolver.table.size === 0) idle = setTimeout(() => options.onIdle?.(), options.idleExitMs);
  });
  // A record that cannot be read must not keep every other name unanswered: adds still come.
  await resolver.serially(() => resolver.sync()).catch((error: Error) => process.stderr.write(`nsnet dns: names not read from the state directory: ${error.message}\n`));
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  try {
    unlinkSync(socketPath); // left by a service that died
  } catch {
    // none
  }
  const clients = new Set<Socket>();
  const server = createServer((socket) => {
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
    serveControlConnection(socket, (request: ControlRequest) => {
      switch (request.op) {
        case 'add': {
          const network = checkedNetwork(request.network);
          const endpoint = checkedEndpoint(request.endpoint, network);
          return resolver.serially(() => resolver.add(network, endpoint)).then(() => ({}));
        }
        case 'remove':
          return resolver.serially(() => resolver.remove(String(request.network), String(request.endpoint))).then(() => ({}));
        case 'sync':
          return resolver.serially(() => resolver.sync()).then(() => ({}));
        case 'status':
          return Promise.resolve(resolver.status());
        default:
          return Promise.reject(invalid(`no such request: ${(request as { op?: unknown }).op}`));
      }
    });
  });
  // Root's only: the socket is made 0600 (no moment of wider access).
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
  } catch (error) {
    await resolver.close();
    throw error;
  } finally {
    process.umask(umask);
  }
  await chmod(socketPath, 0o600);
  // Who answers, for whoever has to stop it (a service started on demand is nobody's child).
  await writeFile(dnsPidPath(socketPath), `${process.pid}\n`, { mode: 0o600 });
  return {
    async close() {
      clearTimeout(idle);
      // Clients keep their connection open between requests: the close would wait for them.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of clients) client.destroy();
      await closed;
      await resolver.close();
      await rm(dnsPidPath(socketPath), { force: true });
    },
  };
}

/**
 * Serves until SIGTERM or SIGINT (or, started on demand, `idleExitMs` with
 * no endpoint), then closes: `nsnet dns serve`.
 */
export async function runDnsService(socketPath: string, idleExitMs?: number): Promise<void> {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const service = await serveDns(socketPath, { idleExitMs, onIdle: stop });
  process.stderr.write(`nsnet dns: serving on ${socketPath}\n`);
  tellStarter('NSNET_DNS_READY_FD');
  await stopped;
  await service.close();
}
