// The node process of one simulated host (test/hosts.mjs): it runs inside
// the host's network and mount namespaces, with the host's NSNET_* variables,
// and takes JSON lines on stdin, answering each on fd 3:
//   { id, run: SOURCE, arg }  runs the async function SOURCE as (nsnet, arg, keep)
//   { id, exec: ARGV }        runs a command, answers { stdout, stderr, status }
// An answer is { id, ok: true, value } or { id, ok: false, error }. `keep` is
// one object per worker, for what one run leaves to the next (a server).
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const [distPath] = process.argv.slice(2);
const nsnet = await import(distPath);
globalThis.require = createRequire(import.meta.url);
const keep = {};
const answers = createWriteStream(null, { fd: 3 });

function answer(reply) {
  answers.write(`${JSON.stringify(reply)}\n`);
}

function describe(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  return { name: error.name, message: error.message, code: error.code, details: error.details, stack: error.stack };
}

function exec(argv) {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, status: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

async function handle(request) {
  if (request.exec) return exec(request.exec);
  // Indirect eval: the function sees the worker's globals (require), not this module's scope.
  const fn = (0, eval)(`(${request.run})`);
  return fn(nsnet, request.arg, keep);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  handle(request).then(
    (value) => answer({ id: request.id, ok: true, value: value === undefined ? null : value }),
    (error) => answer({ id: request.id, ok: false, error: describe(error) }),
  );
}
// stdin closed: the harness is done with this host.
process.exit(0);
