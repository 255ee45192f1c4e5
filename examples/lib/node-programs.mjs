// Small node programs run inside namespaces by the examples: a server that
// prints "ready" once listening, and clients whose output is the result.

/** Starts `node -e script` inside `ns`; resolves with the process once it prints "ready". */
export function startNode(ns, script) {
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`server exited with status ${code}`)));
    child.stdout.once('data', () => resolve(child));
  });
}

/**
 * Stops a server started with startNode and waits until it has exited:
 * teardownContainer refuses while a process still runs in the namespace.
 */
export function stopNode(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  return exited;
}

/** Runs `node -e script` inside `ns` to the end; resolves to its output, or to "failed: <why>". */
export async function runNode(ns, script) {
  const { code, stdout, stderr } = await ns.exec(process.execPath, ['-e', script]);
  return code === 0 ? stdout.trim() : `failed: ${stderr.trim().split('\n').pop()}`;
}

/** A TCP server on `port` that answers each message with "<name> got: <message>". */
export const echoServer = (name, port) => `
require('node:net').createServer((s) => s.on('data', (d) => s.end('${name} got: ' + d)))
  .listen(${port}, () => console.log('ready'));`;

/** A TCP client: sends `message` to address:port and prints the answer (fails after 1 s). */
export const sendTcp = (address, port, message) => `
const s = require('node:net').connect(${port}, '${address}', () => s.write('${message}'));
let answer = ''; s.on('data', (c) => (answer += c)); s.on('end', () => console.log(answer));
s.setTimeout(1000, () => { console.error('timed out'); process.exit(1); });
s.on('error', (e) => { console.error(e.code); process.exit(1); });`;
