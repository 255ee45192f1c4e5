/** Exclusive locks on files, across processes (flock) and within this one. */
import { closeSync } from 'node:fs';

import { kernelError } from '../errors';
import { native } from '../native';

// One waiter per file in this process: a blocked flock holds a libuv pool
// thread, and the lock holder may need one to finish.
const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` while holding an exclusive flock on `file` (created if missing). */
export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => lockAndRun(file, fn));
  const tail = run.catch(() => undefined);
  queues.set(file, tail);
  try {
    return await run;
  } finally {
    if (queues.get(file) === tail) queues.delete(file);
  }
}

async function lockAndRun<T>(file: string, fn: () => Promise<T>): Promise<T> {
  let fd: number;
  try {
    // Taken at once when free (the rule); waited for off the JS thread when another process holds it.
    fd = native().tryLockFile(file);
    if (fd < 0) fd = await native().lockFile(file);
  } catch (error) {
    throw kernelError(`lock ${file}`, error);
  }
  try {
    return await fn();
  } finally {
    closeSync(fd); // closing the descriptor releases the flock
  }
}
