// `nsnet cni serve`, started by a test on a socket of its own (so that the
// plugin's front end never starts one of its own), and ended by its pid.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Starts `nsnet cni serve --socket SOCKET`; resolves to the child once it serves. */
export async function startCniService(socket) {
  const service = spawn(process.execPath, [join(process.cwd(), 'bin', 'nsnet.js'), 'cni', 'serve', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise((resolve, reject) => {
    service.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('serving on')) resolve();
    });
    service.once('exit', (code) => reject(new Error(`nsnet cni serve ended (${code}): ${stderr}`)));
  });
  return service;
}
