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
 * happens in the child, never in a thread of this process.
 */
export function spawnInNamespace(
  netnsFd: number,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess {
  if (typeof command !== 'string' || command.length === 0) throw invalid('command must be a non-empty string');
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    throw invalid('args must be an array of strings');
  }
  const stdio = stdioArray(options.stdio);
  const netnsFdInChild = stdio.length;
  return spawn(execHelperPath(), [String(netnsFdInChild), command, ...args], {
    ...options,
    stdio: [...stdio, netnsFd],
  });
}
