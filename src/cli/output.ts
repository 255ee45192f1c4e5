/** How the nsnet command prints: tables for people, JSON for programs, one-line errors. */
import { isIPv6 } from 'node:net';

import { NsnetError } from '../errors';

/** Prints rows under a header, columns padded to their widest cell. */
export function printTable(header: string[], rows: string[][]): void {
  process.stdout.write(tableText(header, rows));
}

/** The text printTable prints, each line ending in a newline. */
export function tableText(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('   ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/**
 * A record's fields as "key: value" lines, for people: a list of plain values
 * on one line, a nested object's fields (or a list's items, by index)
 * indented under its key.
 */
export function fieldLines(fields: object, indent = ''): string[] {
  return Object.entries(fields).flatMap(([key, value]): string[] => {
    if (Array.isArray(value) && !value.some(isObject)) return [`${indent}${key}: ${value.length ? value.join(', ') : 'none'}`];
    if (isObject(value)) return [`${indent}${key}:`, ...fieldLines(value, `${indent}  `)];
    return [`${indent}${key}: ${String(value)}`];
  });
}

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** An error raised by the command itself (bad usage), with a code like the library's. */
export class UsageError extends NsnetError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** The one line an error prints: "nsnet: CODE: message". */
export function errorLine(error: unknown): string {
  if (error instanceof NsnetError) return `nsnet: ${error.code}: ${error.message}`;
  const message = error instanceof Error ? error.message : String(error);
  return `nsnet: INTERNAL: ${message}`;
}

/** Says which processes a forced teardown left running in a container's former namespace. */
export function leftRunningNote(id: string, pids: number[]): string {
  return `nsnet: ${id}: processes ${pids.join(', ')} still run in its former namespace, without a network (kill ${pids.join(' ')} ends them)`;
}

/** Exit status for an error: 2 for bad usage or input, 1 for anything else. */
export function exitStatusFor(error: unknown): number {
  if (!(error instanceof NsnetError)) return 1;
  return ['USAGE', 'INVALID_ARGUMENT', 'INVALID_PUBLISH'].includes(error.code) ? 2 : 1;
}

/**
 * Runs a long step, showing "label ..." and then how long it took, when
 * stderr is a terminal; silent otherwise, so that scripts see only results.
 */
export async function withProgress<T>(label: string, work: () => Promise<T>): Promise<T> {
  if (!process.stderr.isTTY) return work();
  process.stderr.write(`${label} ...`);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stderr.write(`\r\x1b[K${label}: done in ${ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`}\n`);
    return result;
  } catch (error) {
    process.stderr.write(`\r\x1b[K${label}: failed\n`);
    throw error;
  }
}

/** A published port as Docker prints it: 0.0.0.0:8080->80/tcp. */
export function formatPort(port: { hostIp: string; hostPort: number; containerPort: number; protocol: string }): string {
  const host = isIPv6(port.hostIp) ? `[${port.hostIp}]` : port.hostIp;
  return `${host}:${port.hostPort}->${port.containerPort}/${port.protocol}`;
}
