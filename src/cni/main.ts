/**
 * bin/nsnet-cni.js: the plugin run once per process (no arguments, as a CNI
 * runtime runs it), or, as `serve --socket PATH --idle-exit SECONDS`, the
 * service the native front end starts: the same service as `nsnet cni
 * serve`, without loading the rest of the nsnet command (~40 ms sooner).
 */
import { readFileSync } from 'node:fs';

import { handleCni } from './handler';
import { runCniService } from './service';

export async function main(args: string[] = []): Promise<number> {
  if (args[0] === 'serve') return serve(args.slice(1));
  let stdin = '';
  try {
    stdin = readFileSync(0, 'utf8');
  } catch {
    // No stdin (VERSION may come without one); the config check says what is missing.
  }
  const response = await handleCni({ env: process.env, stdin }, { deferLinkRemoval: false, networks: new Map(), pendingRemovals: new Map() });
  process.stdout.write(response.stdout);
  return response.exitCode;
}

/** The front end's own arguments: refused when anything else is given. */
async function serve(args: string[]): Promise<number> {
  const [socketFlag, socketPath, idleFlag, idleSeconds] = args;
  if (args.length !== 4 || socketFlag !== '--socket' || !socketPath || idleFlag !== '--idle-exit' || !/^\d+$/.test(idleSeconds)) {
    process.stderr.write('usage: nsnet-cni serve --socket PATH --idle-exit SECONDS (or: nsnet cni serve)\n');
    return 2;
  }
  try {
    await runCniService(socketPath, Number(idleSeconds) * 1000);
    return 0;
  } catch (error) {
    process.stderr.write(`nsnet-cni serve: ${(error as Error).message}\n`);
    return 1;
  }
}
