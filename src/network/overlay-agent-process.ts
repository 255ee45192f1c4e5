/**
 * Starting and stopping a network's overlay agent, `nsnet overlay serve
 * NAME`: a detached process per overlay network and state directory, started
 * on demand (under a file lock: two starters end with one agent) and waited
 * for until it holds its lease.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { NsnetError } from '../errors';
import { withFileLock } from '../state/lock';
import { processAlive } from '../state/process-alive';
import { type OverlayAgentInfo, overlayAgentDir, overlayAgentFile, readOverlayAgentInfo } from './overlay-agent-file';

/** How long a start may take: a lease, the host's keys, a list and the first batch of entries. */
const START_TIMEOUT_MS = 10_000;
/** How long a stopped agent may take to revoke its lease and exit before it is killed. */
const STOP_TIMEOUT_MS = 5000;

export const OVERLAY_READY_FD_VARIABLE = 'NSNET_OVERLAY_READY_FD';

function lastLine(log: string): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').pop() ?? '';
  } catch {
    return `no ${log}`;
  }
}

/** The code the agent's last line names (its error), STORE_UNAVAILABLE when it names none. */
function failure(network: string, why: string, log: string): NsnetError {
  const line = lastLine(log);
  const code = line.match(/\b(STORE_UNAVAILABLE|STATE_CORRUPT|NETWORK_NOT_FOUND|INVALID_STORE)\b/)?.[1] ?? 'STORE_UNAVAILABLE';
  return new NsnetError(code as 'STORE_UNAVAILABLE', `the overlay agent of network ${network} ${why}: ${line}`, { network, log });
}

/** The network's agent: the one running, or one started now and holding its lease. */
export async function ensureOverlayAgent(network: string): Promise<OverlayAgentInfo> {
  const running = readOverlayAgentInfo(network);
  if (running) return running;
  mkdirSync(overlayAgentDir(), { recursive: true, mode: 0o755 });
  const file = overlayAgentFile(network);
  return withFileLock(`${file}.lock`, async () => {
    const started = readOverlayAgentInfo(network);
    if (started) return started; // another process started it meanwhile
    const log = `${file.slice(0, -'.json'.length)}.log`;
    const logFd = openSync(log, 'a', 0o600);
    const bin = join(__dirname, '..', '..', 'bin', 'nsnet.js');
    const child = spawn(process.execPath, [bin, 'overlay', 'serve', network], {
      detached: true,
      stdio: ['ignore', 'ignore', logFd, 'pipe'],
      env: { ...process.env, [OVERLAY_READY_FD_VARIABLE]: '3' },
    });
    closeSync(logFd);
    const ready = child.stdio[3]!;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        ready.once('data', () => resolve());
        child.once('exit', (code, signal) => reject(failure(network, `exited at start (${signal ?? code})`, log)));
        child.once('error', (error) => reject(new NsnetError('STORE_UNAVAILABLE', `the overlay agent of network ${network} could not be started: ${error.message}`, { network }, { cause: error })));
        timer = setTimeout(() => {
          // Not ready in time: it is ended, so no agent is left half-started.
          if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          reject(failure(network, `did not take its lease within ${START_TIMEOUT_MS / 1000} s`, log));
        }, START_TIMEOUT_MS);
      });
    } finally {
      clearTimeout(timer);
      ready.destroy();
      child.removeAllListeners('exit');
      child.unref();
    }
    const info = readOverlayAgentInfo(network);
    if (!info) throw failure(network, 'said it was ready but wrote no agent file', log);
    return info;
  });
}

/** Ends the network's agent by its recorded pid (SIGTERM: it revokes its lease), waiting for it to exit; none running is fine. */
export async function stopOverlayAgent(network: string): Promise<void> {
  const info = readOverlayAgentInfo(network);
  if (!info) return;
  try {
    process.kill(info.pid, 'SIGTERM');
  } catch {
    return; // exited meanwhile
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (processAlive(info.pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(info.pid, 'SIGKILL');
      } catch {}
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
