/**
 * Starting and stopping a network's overlay agent, `nsnet overlay serve
 * NAME`: a detached process per overlay network and state directory, started
 * on demand (under a file lock: two starters end with one agent) and waited
 * for until it holds its lease.
 */
import { mkdirSync } from 'node:fs';

import { NsnetError, type NsnetErrorCode } from '../errors';
import { lastLine, startDetachedService } from '../service-socket';
import { withFileLock } from '../state/lock';
import { processAlive } from '../state/process-alive';
import { type OverlayAgentInfo, overlayAgentDir, overlayAgentFile, readOverlayAgentInfo } from './overlay-agent-file';

/** How long a start may take: a lease, the host's keys, a list and the first batch of entries. */
const START_TIMEOUT_MS = 10_000;
/** How long a stopped agent may take to revoke its lease and exit before it is killed. */
const STOP_TIMEOUT_MS = 5000;

export const OVERLAY_READY_FD_VARIABLE = 'NSNET_OVERLAY_READY_FD';
/** Stops an agent as SIGTERM does and revokes its lease whatever runs: its network is being removed. */
export const OVERLAY_REMOVE_SIGNAL = 'SIGUSR2';

/** The code of the agent's last line, the CLI's "nsnet: CODE: message" (INTERNAL when it is not that). */
function failure(network: string, why: string, log: string): NsnetError {
  const line = lastLine(log);
  const code = (line.match(/^nsnet: ([A-Z_]+):/)?.[1] ?? 'INTERNAL') as NsnetErrorCode;
  return new NsnetError(code, `the overlay agent of network ${network} ${why}: ${line}`, { network, log });
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
    await startDetachedService({ args: ['overlay', 'serve', network], log, readyFdVariable: OVERLAY_READY_FD_VARIABLE, timeoutMs: START_TIMEOUT_MS }, (why) => failure(network, why, log));
    const info = readOverlayAgentInfo(network);
    if (!info) throw failure(network, 'said it was ready but wrote no agent file', log);
    return info;
  });
}

/**
 * Ends the network's agent by its recorded pid, waiting for it to exit; none
 * running is fine. `remove`: the network is being removed, the agent revokes
 * its lease (this host's keys go at once); else (SIGTERM) it does so only
 * when this host has no endpoint on the network.
 */
export async function stopOverlayAgent(network: string, options: { remove?: boolean } = {}): Promise<void> {
  const info = readOverlayAgentInfo(network);
  if (!info) return;
  try {
    process.kill(info.pid, options.remove ? OVERLAY_REMOVE_SIGNAL : 'SIGTERM');
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
