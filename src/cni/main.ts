/** nsnet-cni run once per process: read the request, answer it, exit with its status. */
import { readFileSync } from 'node:fs';

import { handleCni } from './handler';

export async function main(): Promise<number> {
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
