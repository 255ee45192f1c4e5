/**
 * etcd's key-value calls (range, put, txn) through its JSON gateway (`POST
 * /v3/kv/...` on the client port), over one kept-alive HTTP/1.1 connection
 * per endpoint, requests pipelined. A connect's address claim is one such
 * call: over gRPC (HTTP/2, grpc-js) a call costs this client about 1 ms of
 * CPU, here about 0.2 ms. Leases and watches are streams and stay on gRPC.
 *
 * The values are as the gateway writes them: keys and values base64,
 * revisions and lease ids decimal text, fields at their zero value left out.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

import type { StoreTls } from './etcd-tls';

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  lease: string;
}

export interface Compare {
  key: Buffer;
  /** With it, the comparison holds for every key from `key` up to it. */
  range_end?: Buffer;
  target: 'CREATE' | 'MOD' | 'VALUE';
  result: 'EQUAL';
  create_revision?: number | string;
  mod_revision?: string;
  value?: Buffer;
}

export interface RangeRequest {
  key: Buffer;
  range_end?: Buffer;
  keys_only?: boolean;
}

export type RequestOp =
  | { request_range: RangeRequest }
  | { request_put: { key: Buffer; value: Buffer; lease?: string } }
  | { request_delete_range: { key: Buffer; range_end?: Buffer } };

export interface RangeResponse {
  header: { revision: string };
  kvs: KeyValue[];
}

export interface ResponseOp {
  response_range?: RangeResponse;
}

export interface TxnResponse {
  header: { revision: string };
  succeeded: boolean;
  responses: ResponseOp[];
}

/** gRPC's status codes, which the gateway's errors carry. */
export const UNKNOWN = 2;
export const PERMISSION_DENIED = 7;
export const UNIMPLEMENTED = 12;
export const UNAVAILABLE = 14;
export const UNAUTHENTICATED = 16;

/** etcd answered with an error: its gRPC status code and message. */
export class GatewayError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The connection failed, or the answer did not come in time: worth trying at another endpoint. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    /** Nothing came back for the request, and the connection ended for another reason than its own deadline: worth trying once more on a new one. */
    readonly stale = false,
  ) {
    super(message);
  }
}

const b64 = (bytes: Buffer | undefined) => bytes?.toString('base64');
const revision = (text: unknown) => (typeof text === 'string' ? text : '0');

function keyValue(kv: Record<string, unknown>): KeyValue {
  return {
    key: Buffer.from(String(kv.key ?? ''), 'base64'),
    value: Buffer.from(String(kv.value ?? ''), 'base64'),
    create_revision: revision(kv.create_revision),
    mod_revision: revision(kv.mod_revision),
    lease: revision(kv.lease),
  };
}

function rangeResponse(json: Record<string, unknown>): RangeResponse {
  const header = (json.header ?? {}) as Record<string, unknown>;
  return { header: { revision: revision(header.revision) }, kvs: ((json.kvs ?? []) as Record<string, unknown>[]).map(keyValue) };
}

function rangeJson(request: RangeRequest): object {
  return { key: b64(request.key), range_end: b64(request.range_end), keys_only: request.keys_only || undefined };
}

function opJson(op: RequestOp): object {
  if ('request_range' in op) return { request_range: rangeJson(op.request_range) };
  if ('request_put' in op) return { request_put: { key: b64(op.request_put.key), value: b64(op.request_put.value), lease: op.request_put.lease } };
  return { request_delete_range: { key: b64(op.request_delete_range.key), range_end: b64(op.request_delete_range.range_end) } };
}

function compareJson(compare: Compare): object {
  const { key, range_end, value, create_revision, ...rest } = compare;
  return { ...rest, key: b64(key), range_end: b64(range_end), value: b64(value), create_revision: create_revision === undefined ? undefined : String(create_revision) };
}

interface Pending {
  resolve(answer: { status: number; body: Buffer }): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** Whether any byte of its answer has come. */
  started: boolean;
  reused: boolean;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const LINE_END = Buffer.from('\r\n');

/**
 * An HTTP/1.1 response read from the front of `data`: its status and body,
 * and how many bytes it took; undefined while it is not all there.
 */
export function readResponse(data: Buffer): { status: number; body: Buffer; length: number; close: boolean } | undefined {
  const headEnd = data.indexOf(HEAD_END);
  if (headEnd < 0) return undefined;
  const head = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(head[0]!.match(/^HTTP\/1\.[01] (\d{3})/)?.[1]);
  if (!status) throw new ConnectionError(`answered with something that is not HTTP: ${JSON.stringify(head[0]!.slice(0, 40))}`);
  const headers = new Map(head.slice(1).map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const close = /close/i.test(headers.get('connection') ?? '');
  let at = headEnd + HEAD_END.length;
  if (!/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const length = Number(headers.get('content-length') ?? 0);
    return data.length < at + length ? undefined : { status, body: data.subarray(at, at + length), length: at + length, close };
  }
  const chunks: Buffer[] = [];
  for (;;) {
    const lineEnd = data.indexOf(LINE_END, at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new ConnectionError('answered with a chunk of no size');
    at = lineEnd + LINE_END.length;
    if (size === 0) break;
    if (data.length < at + size + LINE_END.length) return undefined;
    chunks.push(data.subarray(at, at + size));
    at += size + LINE_END.length;
  }
  // Trailers (gRPC's, as a rule), each a line, then an empty line.
  for (;;) {
    const lineEnd = data.indexOf(LINE_END, at);
    if (lineEnd < 0) return undefined;
    const empty = lineEnd === at;
    at = lineEnd + LINE_END.length;
    if (empty) return { status, body: Buffer.concat(chunks), length: at, close };
  }
}

/** One endpoint's connection: made on the first request, made again after it fails; answers come in the order asked. */
class EndpointConnection {
  private socket: Socket | undefined;
  private data: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private answered = 0;

  constructor(
    readonly url: URL,
    private readonly tls: StoreTls | undefined,
  ) {}

  request(path: string, body: string, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
    const socket = this.socket ?? this.open();
    return new Promise((resolve, reject) => {
      const waiting: Pending = { resolve, reject, timer: setTimeout(() => this.fail(new ConnectionError(`did not answer within ${timeoutMs} ms`), socket, waiting), timeoutMs), started: false, reused: this.answered > 0 };
      this.pending.push(waiting);
      socket.ref();
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${this.url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  close(): void {
    this.fail(new ConnectionError('the client was closed'));
  }

  private open(): Socket {
    const port = Number(this.url.port) || (this.url.protocol === 'https:' ? 443 : 80);
    const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = this.url.protocol === 'https:' ? connectTls({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ...this.tls }) : connectTcp({ host, port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(socket, chunk));
    socket.on('error', (error) => this.fail(new ConnectionError(error.message), socket));
    socket.on('close', () => this.fail(new ConnectionError('closed the connection'), socket));
    this.socket = socket;
    this.data = Buffer.alloc(0);
    this.answered = 0;
    return socket;
  }

  private received(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket) return;
    this.data = this.data.length ? Buffer.concat([this.data, chunk]) : chunk;
    if (this.pending[0]) this.pending[0].started = true;
    for (;;) {
      let response;
      try {
        response = readResponse(this.data);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      if (!response) return;
      this.data = this.data.subarray(response.length);
      const done = this.pending.shift();
      this.answered++;
      if (done) {
        clearTimeout(done.timer);
        done.resolve(response);
      }
      if (this.pending[0] && this.data.length) this.pending[0].started = true;
      if (response.close) {
        this.fail(new ConnectionError('closed the connection'));
        return;
      }
      if (!this.pending.length) socket.unref();
    }
  }

  /**
   * Ends the connection (if still `socket`), failing whatever waits on it.
   * `late`: the request that did not get its answer in time, whose error
   * this is. Requests with nothing back yet may be tried again on a new
   * connection: those behind the late one, and those sent on a kept
   * connection that the server closed.
   */
  private fail(error: Error, socket = this.socket, late?: Pending): void {
    if (socket !== this.socket || !socket) return;
    this.socket = undefined;
    socket.destroy();
    for (const waiting of this.pending.splice(0)) {
      clearTimeout(waiting.timer);
      const again = waiting !== late && !waiting.started && error instanceof ConnectionError && (late !== undefined || waiting.reused);
      waiting.reject(again ? new ConnectionError(error.message, true) : error);
    }
  }
}

/**
 * The gateway of a store's endpoints. A call goes to the endpoint that
 * answered last, and on to the next while connections fail, each attempt
 * given its share of `timeoutMs`; etcd's own refusals are GatewayError.
 */
export class EtcdGateway {
  private readonly connections: EndpointConnection[];
  private current = 0;

  constructor(
    endpoints: string[],
    tls: StoreTls | undefined,
    private readonly timeoutMs: number,
  ) {
    this.connections = endpoints.map((endpoint) => new EndpointConnection(new URL(endpoint), tls));
  }

  range(request: RangeRequest): Promise<RangeResponse> {
    return this.post('/v3/kv/range', rangeJson(request)).then(rangeResponse);
  }

  async put(request: { key: Buffer; value: Buffer; lease?: string }): Promise<void> {
    await this.post('/v3/kv/put', { key: b64(request.key), value: b64(request.value), lease: request.lease });
  }

  async txn(request: { compare: Compare[]; success: RequestOp[]; failure?: RequestOp[] }): Promise<TxnResponse> {
    const json = await this.post('/v3/kv/txn', { compare: request.compare.map(compareJson), success: request.success.map(opJson), failure: (request.failure ?? []).map(opJson) });
    const header = (json.header ?? {}) as Record<string, unknown>;
    const responses = ((json.responses ?? []) as Record<string, unknown>[]).map((op) => (op.response_range ? { response_range: rangeResponse(op.response_range as Record<string, unknown>) } : {}));
    return { header: { revision: revision(header.revision) }, succeeded: json.succeeded === true, responses };
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }

  private async post(path: string, request: object): Promise<Record<string, unknown>> {
    const body = JSON.stringify(request);
    const share = this.timeoutMs / this.connections.length;
    let last: Error | undefined;
    for (let tried = 0; tried < this.connections.length; tried++) {
      const index = (this.current + tried) % this.connections.length;
      const connection = this.connections[index]!;
      let answer;
      try {
        answer = await connection.request(path, body, share);
      } catch (error) {
        // A kept connection the server had closed, or one ended for another request's deadline: once more on a new one.
        if (error instanceof ConnectionError && error.stale) answer = await connection.request(path, body, share).catch((again: Error) => again);
        else answer = error as Error;
        if (answer instanceof Error) {
          last = new ConnectionError(`${connection.url.origin}: ${answer.message}`);
          continue;
        }
      }
      this.current = index;
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(answer.body.toString('utf8'));
      } catch {
        const text = JSON.stringify(answer.body.toString('utf8').slice(0, 80));
        // etcd started with --enable-grpc-gateway=false: nothing there will change by trying again.
        if (answer.status === 404) throw new GatewayError(UNIMPLEMENTED, `does not serve its JSON gateway (${path} is HTTP 404 ${text}): start etcd with --enable-grpc-gateway (its default)`);
        throw new GatewayError(UNKNOWN, `answered ${path} with HTTP ${answer.status} and no JSON: ${text}`);
      }
      if (answer.status !== 200) {
        const code = Number(json.code ?? UNKNOWN);
        const message = String(json.message ?? json.error ?? `HTTP ${answer.status}`);
        // The gateway could not reach etcd's own gRPC server: with TLS, as a rule, a certificate that allows no client authentication.
        const hint = code === UNAVAILABLE && connection.url.protocol === 'https:' ? " (etcd's JSON gateway could not reach its own gRPC server: with --client-cert-auth, etcd's certificate must allow client authentication too)" : '';
        throw new GatewayError(code, `${message}${hint}`);
      }
      return json;
    }
    throw last;
  }
}
