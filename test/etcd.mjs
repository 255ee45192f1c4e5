// A real etcd server for the tests (Debian's /usr/bin/etcd), started inside
// the sandbox: listening only on the address given (an address of the
// sandbox: 127.0.0.1 by default, an underlay address for simulated hosts),
// on free ports, its data in a tmpfs directory under /run. Ended by its PID.
//
//   const etcd = await startEtcd();          // { url, pid, stop(), restart(), etcdctl(args) }
//   after(() => etcd.stop());
//
// Or `useEtcd(hooks)` inside a describe: started in before, stopped in after
// (mocha runs after hooks when a test fails, too).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { get as getHttps } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';
const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3000;

/** Every server started and not yet stopped: stopped on exit, whatever happens to the test. */
const running = new Set();
process.once('exit', () => {
  for (const server of running) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {}
  }
});

function insideSandbox() {
  if (process.env.NSNET_SANDBOX !== 'inside') throw new Error('etcd is started only inside scripts/sandbox');
}

/** A port nobody listens on at `host`, found by binding port 0. */
function freePort(host) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function healthy(url, tls) {
  return new Promise((resolve) => {
    const options = tls ? { timeout: 500, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : { timeout: 500 };
    const request = (tls ? getHttps : get)(`${url}/health`, options, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && body.includes('"true"')));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

class EtcdServer {
  constructor(host, clientPort, peerPort, dataDir, args = [], tls = undefined) {
    this.args = args;
    /** With TLS: the client's files ({ ca, cert, key }), which etcd asks for (client certificates on). */
    this.tls = tls;
    this.host = host;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.dataDir = dataDir;
    this.port = clientPort;
    this.peerUrl = `http://${host.includes(':') ? `[${host}]` : host}:${peerPort}`;
    this.log = join(dataDir, '..', 'etcd.log');
    this.child = undefined;
  }

  /** Where clients reach it: its port, or the one restart() was told to use for a while. */
  get url() {
    return `${this.tls ? 'https' : 'http'}://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get pid() {
    return this.child?.pid;
  }

  async run() {
    const log = openSync(this.log, 'a');
    this.child = spawn(
      ETCD,
      [
        '--name', 'nsnet-test',
        '--data-dir', this.dataDir,
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', this.peerUrl,
        '--initial-advertise-peer-urls', this.peerUrl,
        '--initial-cluster', `nsnet-test=${this.peerUrl}`,
        '--initial-cluster-state', 'new',
        '--listen-metrics-urls', '',
        ...(this.tls ? ['--cert-file', this.tls.serverCert, '--key-file', this.tls.serverKey, '--trusted-ca-file', this.tls.ca, '--client-cert-auth'] : []),
        ...this.args,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    running.add(this);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await healthy(this.url, this.tls))) {
      if (exited(this.child)) throw new Error(`etcd exited at start: ${this.lastLines()}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`etcd not healthy within ${READY_TIMEOUT_MS} ms: ${this.lastLines()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  lastLines() {
    try {
      return readFileSync(this.log, 'utf8').trimEnd().split('\n').slice(-3).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM by its PID, SIGKILL if it has not exited after a grace period; the data stays (restart()). */
  async stop() {
    const child = this.child;
    running.delete(this);
    if (!child || exited(child)) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (!exited(child)) process.kill(child.pid, 'SIGKILL');
    }, STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }

  /**
   * Started again on the same data and ports: what was stored (leases
   * included) is back. `{ elsewhere: true }`: on another client port for a
   * while, where its clients do not find it (etcdctl does); a restart() after
   * that is on the first port again.
   */
  async restart({ elsewhere = false } = {}) {
    await this.stop();
    this.port = elsewhere ? await freePort(this.host) : this.clientPort;
    await this.run();
  }

  /** etcdctl (API v3) against this server; its stdout. */
  etcdctl(args) {
    const tls = this.tls ? ['--cacert', this.tls.ca, '--cert', this.tls.cert, '--key', this.tls.key] : [];
    return execFileSync(ETCDCTL, ['--endpoints', this.url, ...tls, ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
  }

  /** Every key under `prefix` with its value, read by etcdctl: the oracle of what is stored. */
  stored(prefix) {
    const out = JSON.parse(this.etcdctl(['get', '--prefix', prefix, '-w', 'json']));
    return new Map((out.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]));
  }

  /** The lease a key is on (decimal text), '0' for none; undefined when the key is absent. */
  leaseOf(key) {
    // Read as text: a lease id is an int64, more than a JSON number holds exactly.
    const out = this.etcdctl(['get', key, '-w', 'json']);
    if (!out.includes('"kvs"')) return undefined;
    return out.match(/"lease":(\d+)/)?.[1] ?? '0';
  }

  /** Stops it and removes its data. */
  async destroy() {
    await this.stop();
    rmSync(join(this.dataDir, '..'), { recursive: true, force: true });
  }
}

/** Starts etcd on `host` (an address of the sandbox) and waits until it is healthy. */
/**
 * A CA, a certificate for the server at `host` and one for its client, made
 * by openssl in `dir`; their paths.
 */
function makeCertificates(dir, host) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (name) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
  key('ca');
  openssl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=nsnet test CA', '-days', '1', '-out', 'ca.crt');
  // The server's is a client's too: etcd's JSON gateway connects to its own gRPC server with it.
  for (const [name, usage] of [['server', 'serverAuth,clientAuth'], ['client', 'clientAuth']]) {
    key(name);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=nsnet test ${name}`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:${host}\nextendedKeyUsage=${usage}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  }
  const path = (file) => join(dir, file);
  return { ca: path('ca.crt'), cert: path('client.crt'), key: path('client.key'), serverCert: path('server.crt'), serverKey: path('server.key') };
}

/** `tls: true`: https only, client certificates required (the server's `tls` names the client's files). */
export async function startEtcd({ host = '127.0.0.1', args = [], tls = false } = {}) {
  insideSandbox();
  mkdirSync('/run/nsnet-test-etcd', { recursive: true });
  const dir = mkdtempSync('/run/nsnet-test-etcd/etcd-');
  const dataDir = join(dir, 'data');
  const server = new EtcdServer(host, await freePort(host), await freePort(host), dataDir, args, tls ? makeCertificates(dir, host) : undefined);
  await server.run();
  return server;
}

/** A server for the enclosing describe: started before its tests, destroyed after them (failed or not). */
export function useEtcd(options) {
  const holder = {};
  before(async function () {
    this.timeout(20_000);
    holder.etcd = await startEtcd(options);
  });
  after(async function () {
    this.timeout(10_000);
    await holder.etcd?.destroy();
  });
  return holder;
}
