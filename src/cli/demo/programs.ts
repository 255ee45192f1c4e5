/** The small node programs the demo runs inside namespaces: servers and clients. */
import { NetNamespace } from '../../netns';

/** An HTTP server that says who it is and who asked. Prints "ready" once listening. */
export const helloServer = (name: string, port: number) => `
require('node:http').createServer((req, res) => {
  res.end('hello from ${name}, you are ' + req.socket.remoteAddress.replace(/^::ffff:/, ''));
}).listen(${port}, () => console.log('ready'));`;

/** A TCP server that tells each client the source address it saw. */
export const whoAmIServer = (address: string, port: number) => `
require('node:net').createServer((socket) => socket.end('wan saw you as ' + socket.remoteAddress))
  .listen(${port}, '${address}', () => console.log('ready'));`;

export const httpGet = (url: string) => `
require('node:http').get('${url}', { timeout: 3000 }, (res) => {
  let body = ''; res.on('data', (c) => body += c); res.on('end', () => console.log(body));
}).on('error', (e) => { console.error(e.message); process.exit(1); });`;

export const tcpRead = (address: string, port: number) => `
const socket = require('node:net').connect(${port}, '${address}');
let data = ''; socket.on('data', (c) => data += c); socket.on('end', () => console.log(data));
socket.setTimeout(3000, () => { console.error('timed out'); process.exit(1); });
socket.on('error', (e) => { console.error(e.message); process.exit(1); });`;

/** Runs a node program inside `ns` and resolves to what it printed. */
export async function runIn(ns: NetNamespace, script: string): Promise<string> {
  const result = await ns.exec(process.execPath, ['-e', script]);
  if (result.code !== 0) throw new Error(result.stderr.trim() || `exit status ${result.code ?? result.signal}`);
  return result.stdout.trim();
}

/** Stops a server started with startServer and waits until it has exited (teardown refuses before). */
export function stopServer(child: ReturnType<NetNamespace['spawn']>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill();
  return exited;
}

/** Starts a server program inside `ns`; resolves with its process once it prints "ready". */
export function startServer(ns: NetNamespace, script: string): Promise<ReturnType<NetNamespace['spawn']>> {
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`server exited with status ${code}`)));
    child.stdout?.once('data', () => resolve(child));
  });
}
