/**
 * The network layer's side of the resolver service: tells it of an
 * endpoint's names, and of their removal, before the connect or teardown
 * that changed them resolves. One connection per process, requests
 * pipelined on it by id; dnsAdd starts the service when none answers.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';

import { NsnetError, type NsnetErrorCode } from '../errors';
import { lastLine, startDetachedService } from '../service-socket';
import { withFileLock } from '../state/lock';
import type { DnsEndpoint, DnsNetwork } from '../types/dns';
import { type ControlRequest, type ControlResponse, lineSplitter, lineWriter, type ServiceStatus } from './control';
import { dnsPidPath, dnsSocketPath } from './socket-path';

/** How long dnsAdd waits for a service to start and answer. */
const ANSWER_TIMEOUT_MS = 5000;
/** A service started on demand leaves after this long with no names. */
const ON_DEMAND_IDLE_EXIT_MS = 60_000;

type Request = ControlRequest extends infer R ? (R extends ControlRequest ? Omit<R, 'id'> : never) : never;

/** No service listens on the socket. */
class NoService extends Error {}

class Connection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (response: ControlResponse) => void; reject: (error: Error) => void }>();
  private readonly write: (line: string) => void;
  closed = false;

  private constructor(
    readonly path: string,
    private readonly socket: Socket,
  ) {
    this.write = lineWriter(socket);
    const split = lineSplitter((line) => {
      let response: ControlResponse;
      try {
        response = JSON.parse(line);
      } catch {
        return;
      }
      const waiter = typeof response.id === 'number' ? this.pending.get(response.id) : undefined;
      if (!waiter) return;
      this.pending.delete(response.id as number);
      if (this.pending.size === 0) socket.unref();
      waiter.resolve(response);
    });
    socket.on('data', split);
    const fail = (error?: Error) => {
      this.closed = true;
      for (const waiter of this.pending.values()) waiter.reject(error ?? new Error('the resolver service closed the connection'));
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    socket.unref(); // an idle connection keeps no process alive
  }

  static open(path: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new Connection(path, socket));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? new NoService(error.message) : error);
      });
    });
  }

  /** The response; a service that does not answer in time is given up on (and keeps no process alive). */
  request(request: Request): Promise<ControlResponse> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        if (this.pending.size === 0) this.socket.unref();
        reject(unavailable(`did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`));
      }, ANSWER_TIMEOUT_MS);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.socket.ref();
      this.write(JSON.stringify({ ...request, id }));
    });
  }

  forget(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

let live: Connection | undefined;
/** The connection being opened: callers at the same moment share it. */
let opening: { path: string; connection: Promise<Connection> } | undefined;

function connected(): Promise<Connection> {
  const path = dnsSocketPath();
  if (live && !live.closed && live.path === path) return Promise.resolve(live);
  if (opening?.path === path) return opening.connection;
  live?.forget();
  live = undefined;
  const connection = Connection.open(path).then((opened) => (live = opened));
  opening = { path, connection };
  const done = () => {
    if (opening?.connection === connection) opening = undefined;
  };
  connection.then(done, done);
  return connection;
}

/** The service's response; NoService when none listens. Reconnects once if the connection fails. */
async function ask(request: Request): Promise<ControlResponse> {
  try {
    return await (await connected()).request(request);
  } catch (error) {
    if (error instanceof NoService || error instanceof NsnetError) throw error;
    return (await connected()).request(request);
  }
}

function answered(response: ControlResponse): ControlResponse & { ok: true } {
  if (response.ok) return response;
  const code = (['INVALID_ARGUMENT', 'INVALID_DNS_NAME'].includes(response.code) ? response.code : 'DNS_UNAVAILABLE') as NsnetErrorCode;
  throw new NsnetError(code, `the resolver service refused: ${response.message}`);
}

function unavailable(message: string, cause?: unknown): NsnetError {
  return new NsnetError('DNS_UNAVAILABLE', `the resolver service ${message}`, { socket: dnsSocketPath() }, { cause });
}

/**
 * Starts `nsnet dns serve --on-demand` unless one answers, holding a flock
 * on `<socket>.lock` around the check and the start: two processes starting
 * it at once end with one service.
 */
async function startService(): Promise<void> {
  const path = dnsSocketPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  await withFileLock(`${path}.lock`, async () => {
    try {
      (await Connection.open(path)).forget();
      return; // another process started it meanwhile
    } catch (error) {
      if (!(error instanceof NoService)) throw error;
    }
    const log = `${path}.log`;
    await startDetachedService(
      { args: ['dns', 'serve', '--on-demand', '--socket', path, '--idle-exit-ms', String(ON_DEMAND_IDLE_EXIT_MS)], log, readyFdVariable: 'NSNET_DNS_READY_FD' },
      (why, cause) => unavailable(cause ? why : `${why}: ${lastLine(log)}`, cause),
    );
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable(`did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Starts the service when none runs; resolves once it answers for the endpoint's names. Fails with DNS_UNAVAILABLE. */
export async function dnsAdd(network: DnsNetwork, endpoint: DnsEndpoint): Promise<void> {
  const request: Request = { op: 'add', network, endpoint };
  const work = (async () => {
    try {
      return answered(await ask(request));
    } catch (error) {
      if (!(error instanceof NoService)) throw error;
    }
    await startService();
    return answered(await ask(request));
  })();
  try {
    await withTimeout(work, ANSWER_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof NsnetError) throw error;
    throw unavailable(`is not reachable: ${(error as Error).message}`, error);
  }
}

/** Asks a running service; none running, nothing to do. */
async function askIfRunning(request: Request): Promise<(ControlResponse & { ok: true }) | undefined> {
  try {
    return answered(await ask(request));
  } catch (error) {
    if (error instanceof NoService) return undefined;
    if (error instanceof NsnetError) throw error;
    throw unavailable(`is not reachable: ${(error as Error).message}`, error);
  }
}

/** Resolves once the service answers no more for the endpoint; with no service running there is nothing to do. */
export async function dnsRemove(network: string, endpointId: string): Promise<void> {
  await askIfRunning({ op: 'remove', network, endpoint: endpointId });
}

/** Asks a running service to read every name again from the state directory (after reconcile). */
export async function dnsSync(): Promise<void> {
  await askIfRunning({ op: 'sync' });
}

/** The pid of the service answering now, from its pid file; none when none runs. */
export function dnsServicePid(): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(dnsPidPath(dnsSocketPath()), 'utf8').trim());
    process.kill(pid, 0);
  } catch {
    return undefined; // no file, or left by a service that died
  }
  return pid;
}

/** What the running service answers for; none when no service runs. */
export async function dnsStatus(): Promise<ServiceStatus | undefined> {
  const response = await askIfRunning({ op: 'status' });
  if (!response) return undefined;
  const { id: _id, ok: _ok, ...status } = response;
  return status as ServiceStatus;
}
