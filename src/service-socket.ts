/**
 * What nsnet's long-lived services (the CNI service, the resolver, the
 * overlay agents) share: one service per socket, starting one detached and
 * waiting until it says it is ready, and telling whoever started one so.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

import { NsnetError } from './errors';

/** Two services on one socket would split their work between them: refused while one answers. */
export function refuseIfServed(socketPath: string, service: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createConnection(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      reject(new NsnetError('SERVICE_RUNNING', `an nsnet ${service} already answers on ${socketPath}`));
    });
    probe.once('error', () => resolve());
  });
}

/**
 * A starter waits on the descriptor named by the environment variable
 * `readyFdVariable`: one byte says the service answers (should it fail
 * before, its exit says so). The variable is not passed on.
 */
export function tellStarter(readyFdVariable: string): void {
  const fd = Number(process.env[readyFdVariable]);
  delete process.env[readyFdVariable];
  if (!Number.isInteger(fd) || fd <= 2) return;
  try {
    writeSync(fd, '1');
    closeSync(fd);
  } catch {
    // The starter gave up waiting; it finds the socket on its next call.
  }
}

/** What a service that failed to start said last. */
export function lastLine(log: string): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').pop() ?? '';
  } catch {
    return `no ${log}`;
  }
}

export interface DetachedService {
  /** The arguments of `nsnet`. */
  args: string[];
  /** Where its stderr goes (appended). */
  log: string;
  /** The environment variable naming the descriptor it tells its readiness on (see tellStarter). */
  readyFdVariable: string;
  /** Not ready by then: it is killed, so none is left half-started. None: waited for until it is ready or exits. */
  timeoutMs?: number;
}

/**
 * Starts `nsnet ARGS` as a detached process and resolves once it says it
 * is ready; when it exits first, cannot be started or is not ready in time,
 * rejects with `failed(why)` ("exited at start (1)", ...).
 */
export async function startDetachedService(service: DetachedService, failed: (why: string, cause?: unknown) => NsnetError): Promise<void> {
  const logFd = openSync(service.log, 'a', 0o600);
  const bin = join(__dirname, '..', 'bin', 'nsnet.js');
  const child = spawn(process.execPath, [bin, ...service.args], {
    detached: true,
    stdio: ['ignore', 'ignore', logFd, 'pipe'],
    env: { ...process.env, [service.readyFdVariable]: '3' },
  });
  closeSync(logFd);
  const ready = child.stdio[3]!;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      ready.once('data', () => resolve());
      child.once('exit', (code, signal) => reject(failed(`exited at start (${signal ?? code})`)));
      child.once('error', (error) => reject(failed(`could not be started: ${error.message}`, error)));
      if (service.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          reject(failed(`was not ready within ${service.timeoutMs! / 1000} s`));
        }, service.timeoutMs);
      }
    });
  } finally {
    clearTimeout(timer);
    ready.destroy();
    child.removeAllListeners('exit');
    child.unref();
  }
}
