/**
 * What nsnet's long-lived services (the CNI service, the resolver) share
 * about their unix socket: one service per socket, and telling whoever
 * started one that it answers.
 */
import { closeSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';

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
