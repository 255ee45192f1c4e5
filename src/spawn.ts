/** Starting a program inside a network namespace. */
import { type ChildProcess, spawn, type SpawnOptions, type StdioOptions } from 'node:child_process';

import { invalid } from './errors';
import { execHelperPath } from './native';

type StdioEntry = Exclude<StdioOptions, string>[number];

function stdioArray(stdio: StdioOptions | undefined): StdioEntry[] {
  if (stdio === undefined) return ['pipe', 'pipe', 'pipe'];
  if (typeof stdio === 'string') return [stdio, stdio, stdio];
  const entries = [...stdio];
  while (entries.length < 3) entries.push('pipe');
  return entries;
}

/**
 * Spawns `command` through nsnet-exec, which joins the namespace open on an
 * extra inherited descriptor and then executes the command. The switch
 * happens in the child, never in a thread of this process. With `etcDir`,
 * the command sees each of its files over /etc's of the same name, in a
 * mount namespace of its own.
 */
export function spawnInNamespace(
  netnsFd: number,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
  etcDir?: string,
): ChildProcess {
  if (typeof command !== 'string' || command.length === 0) throw invalid('command must be a non-empty string');
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    throw invalid('args must be an array of strings');
  }
  const stdio = stdioArray(options.stdio);
  const netnsFdInChild = stdio.length;
  const etc = etcDir === undefined ? [] : ['--etc', etcDir];
  return spawn(execHelperPath(), [...etc, String(netnsFdInChild), command, ...args], {
    ...options,
    stdio: [...stdio, netnsFd],
  });
}

export interface ExecOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Written to the program's stdin, which is then closed. */
  input?: string;
}

export interface ExecResult {
  /** The exit status, or null when a signal ended the program. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` inside a namespace to the end and collects its output. */
export function execInNamespace(
  netnsFd: number,
  command: string,
  args: readonly string[],
  options: ExecOptions,
  etcDir?: string,
): Promise<ExecResult> {
  const { input, ...spawnOptions } = options;
  const child = spawnInNamespace(netnsFd, command, args, { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] }, etcDir);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // A program that exits without reading its input must not end this process (EPIPE).
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
