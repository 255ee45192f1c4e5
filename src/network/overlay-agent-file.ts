/**
 * The running overlay agent of a network, as it tells it: its pid and the
 * lease its host's keys are on (connects claim addresses on that lease), at
 * `<state dir>/overlay/<network>.json`, written whole or not at all.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { processAlive } from '../state/process-alive';
import { stateDir } from '../state/store';
import { type OverlayAgentInfo, OverlayAgentInfoSchema } from '../types/overlay-agent';
import { Validator } from '../types/schema';

export type { OverlayAgentInfo };

const infoValidator = new Validator(OverlayAgentInfoSchema);

export function overlayAgentDir(): string {
  return join(stateDir(), 'overlay');
}

export function overlayAgentFile(network: string): string {
  return join(overlayAgentDir(), `${network}.json`);
}

/** Written to a temporary file and renamed over the old one: a reader sees the old file or the new, never a part. */
export function writeOverlayAgentInfo(info: OverlayAgentInfo): void {
  mkdirSync(overlayAgentDir(), { recursive: true, mode: 0o755 });
  const file = overlayAgentFile(info.network);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o644 });
  renameSync(temporary, file);
}

/** The network's agent, if its file is there and its process runs; a file of a process gone counts as none. */
export function readOverlayAgentInfo(network: string): OverlayAgentInfo | undefined {
  let info: unknown;
  try {
    info = JSON.parse(readFileSync(overlayAgentFile(network), 'utf8'));
  } catch {
    return undefined; // none, or a file cut short by a crash before rename could not be: none either way
  }
  return infoValidator.problem(info) === undefined && (info as OverlayAgentInfo).network === network && processAlive((info as OverlayAgentInfo).pid) ? (info as OverlayAgentInfo) : undefined;
}

/** Removes the file if it is still the one process `pid` wrote. */
export function removeOverlayAgentInfo(network: string, pid: number): void {
  try {
    const info = JSON.parse(readFileSync(overlayAgentFile(network), 'utf8'));
    if (info?.pid === pid) unlinkSync(overlayAgentFile(network));
  } catch {
    // gone already
  }
}
