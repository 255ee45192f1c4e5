// Runs programs through exec-server.c: started with posix_spawn, as a Go
// runtime starts CNI plugins, instead of node's costlier fork. Built with the
// C compiler that builds the addon.
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';

const SOURCE = path.join(path.dirname(new URL(import.meta.url).pathname), 'exec-server.c');

/**
 * Starts the server (built into `dir`); `execute(file, env, input)` resolves
 * to `{ code, stdout, stderr }`, one program at a time, in call order.
 */
export function startExecServer(dir) {
  const binary = path.join(dir, 'exec-server');
  try {
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', binary, SOURCE], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`cannot build ${SOURCE} with cc (the C compiler that builds the addon): ${error.message}`);
  }
  const server = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let received = Buffer.alloc(0);
  server.stdout.on('data', (chunk) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 12) {
      const [outLength, errLength] = [received.readUInt32LE(4), received.readUInt32LE(8)];
      if (received.length < 12 + outLength + errLength) break;
      const answer = {
        code: received.readInt32LE(0),
        stdout: received.toString('utf8', 12, 12 + outLength),
        stderr: received.toString('utf8', 12 + outLength, 12 + outLength + errLength),
      };
      received = received.subarray(12 + outLength + errLength);
      waiting.shift().resolve(answer);
    }
  });
  server.on('exit', () => waiting.splice(0).forEach((w) => w.reject(new Error('exec-server ended'))));
  server.on('error', (error) => waiting.splice(0).forEach((w) => w.reject(error)));
  server.stdin.on('error', () => undefined); // an ended server: its 'exit' fails what waits
  return {
    execute(file, env, input) {
      const fields = [file, Object.entries(env).map(([key, value]) => `${key}=${value}\0`).join(''), input].map((s) => Buffer.from(s));
      const header = Buffer.alloc(12);
      fields.forEach((field, i) => header.writeUInt32LE(field.length, i * 4));
      server.stdin.write(Buffer.concat([header, ...fields]));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    async close() {
      server.stdin.end();
      if (server.exitCode === null && server.signalCode === null) await new Promise((resolve) => server.once('exit', resolve));
    },
  };
}
