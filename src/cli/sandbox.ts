/**
 * Running nsnet inside a throw-away sandbox (the package's scripts/sandbox): a
 * new network namespace that plays the host, a private /run, and a user
 * namespace when not root. What runs there cannot touch the machine's network.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { exitStatus, SignalRelay, waitForExit } from './signal-relay';

const MARKER = 'NSNET_OWN_SANDBOX';

/** True in a process that `runInOwnSandbox` started. */
export function inOwnSandbox(): boolean {
  return process.env[MARKER] === '1';
}

/** Runs this command again, with `args`, inside a new sandbox; resolves to its exit status. */
export async function runInOwnSandbox(args: string[]): Promise<number> {
  const sandbox = join(__dirname, '..', '..', 'scripts', 'sandbox');
  const env: NodeJS.ProcessEnv = { ...process.env, [MARKER]: '1' };
  const child = spawn(sandbox, [process.execPath, process.argv[1], ...args], { stdio: 'inherit', env });
  const signals = new SignalRelay();
  try {
    return exitStatus(await waitForExit(child, signals));
  } finally {
    signals.stop();
  }
}
