/**
 * `nsnet cni serve`: answers the CNI front end's requests over a unix socket,
 * so that an ADD or DEL costs no node start-up. Requests run concurrently;
 * the state directory's lock keeps them apart, as between processes.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';

import { NsnetError } from '../errors';
import { refuseIfServed, tellStarter } from '../service-socket';
import type { CniContext } from './commands';
import { type CniRequest, handleCni } from './handler';

/**
 * Where the service listens and the front end looks, unless NSNET_CNI_SOCKET
 * says otherwise. The front end (native/, in C) has its own copy, which a unit
 * test holds to this one.
 */
export const DEFAULT_CNI_SOCKET = '/run/nsnet/cni.sock';

/** The socket of `NSNET_CNI_SOCKET`, else DEFAULT_CNI_SOCKET (as the front end looks for it). */
export function cniSocketPath(): string {
  return process.env.NSNET_CNI_SOCKET || DEFAULT_CNI_SOCKET;
}

/** Splits a request: "KEY=VALUE\0" entries up to an empty one, then stdin. */
export function parseRequest(data: Buffer): CniRequest {
  const env: Record<string, string> = {};
  let position = 0;
  while (position < data.length && data[position] !== 0) {
    const end = data.indexOf(0, position);
    if (end < 0) break;
    const entry = data.toString('utf8', position, end);
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
    position = end + 1;
  }
  return { env, stdin: data.toString('utf8', position + 1) };
}

interface CniService {
  /** Stops accepting, and waits for requests and link removals in progress. */
  close(): Promise<void>;
}

interface ServeOptions {
  /** Leave after this long without a request (started on demand by the front end). */
  idleExitMs?: number;
  onIdle?: () => void;
}

/** A unix socket address holds 108 bytes with the NUL; node would listen on a longer path cut short. */
const MAX_SOCKET_PATH = 107;

async function serveCni(socketPath = cniSocketPath(), options: ServeOptions = {}): Promise<CniService> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new NsnetError('INVALID_ARGUMENT', `the socket path is longer than ${MAX_SOCKET_PATH} bytes: ${socketPath}`);
  }
  await refuseIfServed(socketPath, 'CNI service');
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  try {
    unlinkSync(socketPath); // left by a service that died
  } catch {
    // none
  }
  const context: CniContext = { deferLinkRemoval: true, networks: new Map(), pendingRemovals: new Map() };
  const inFlight = new Set<Promise<void>>();
  let idle: NodeJS.Timeout | undefined;
  const waitForIdle = () => {
    if (options.idleExitMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(() => inFlight.size === 0 && options.onIdle?.(), options.idleExitMs);
  };
  // Half open: the front end ends its side after the request and waits for the answer.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const work = answer(socket, context).finally(() => {
      inFlight.delete(work);
      waitForIdle();
    });
    inFlight.add(work);
    waitForIdle();
  });
  // Root's runtime only: the socket is made 0600 (no moment of wider access).
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
  } finally {
    process.umask(umask);
  }
  await chmod(socketPath, 0o600);
  // Who answers, for whoever has to stop it (a service the front end started is nobody's child).
  await writeFile(`${socketPath}.pid`, `${process.pid}\n`, { mode: 0o600 });
  waitForIdle();
  return {
    async close() {
      clearTimeout(idle);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...inFlight]);
      await Promise.all([...context.pendingRemovals.values()].map((removeNow) => removeNow()));
      await rm(`${socketPath}.pid`, { force: true });
    },
  };
}

async function answer(socket: Socket, context: CniContext): Promise<void> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  // A front end that went away (killed by its runtime) must not take the service with it.
  socket.on('error', () => undefined);
  const ended = await new Promise<boolean>((resolve) => {
    socket.once('end', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  if (!ended) return;
  const response = await handleCni(parseRequest(Buffer.concat(chunks)), context);
  socket.end(`${response.exitCode}\n${response.stdout}`);
}

/**
 * Serves until SIGTERM or SIGINT (or `idleExitMs` without a request), then
 * finishes what is in progress: `nsnet cni serve`, and the service the
 * front end starts.
 */
export async function runCniService(socketPath: string, idleExitMs?: number): Promise<void> {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const service = await serveCni(socketPath, { idleExitMs, onIdle: stop });
  process.stderr.write(`nsnet cni: serving on ${socketPath}\n`);
  tellStarter('NSNET_CNI_READY_FD');
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await stopped;
  await service.close();
}
