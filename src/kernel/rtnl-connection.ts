/**
 * One rtnetlink socket of one namespace. Requests that only need an ACK are
 * queued and sent together: while one batch is with the kernel, the next one
 * collects, so a burst of operations costs a few sendmsg calls.
 */
import { asKernelError, kernelError, NsnetError } from '../errors';
import { faultPoint, faultsArmed } from '../fault';
import type { NativeStage, NativeStatus, NetlinkHandle } from '../native';

interface PendingRequest {
  op: string;
  message: Buffer;
  /** An answer that the object is not there resolves, as done (no error is made for it). */
  goneIsDone?: boolean;
  resolve: (echo: Buffer | undefined) => void;
  reject: (error: Error) => void;
}

const NLM_F_ECHO = 0x8;

/** A request of a chain (see RtnlConnection.chain). */
export interface ChainedRequest {
  op: string;
  message: Buffer;
  /** Answered with the object made (NLM_F_ECHO). */
  echo?: boolean;
  /** An answer that the object is not there counts as done. */
  goneIsDone?: boolean;
  /** An answer that the object is there already (EEXIST) counts as done. */
  existsIsDone?: boolean;
}

/** A stage of a chain: requests on a connection, or a sysctl written through a directory opened inside a namespace. */
export type ChainStage =
  | { connection: RtnlConnection; requests: ChainedRequest[] }
  | { op: string; sysctlDir: number; path: string; value: string };

/** A chained request's outcome: the echo (or undefined), or the error. */
export type ChainResult = { ok: true; echo?: Buffer } | { ok: false; error: Error };

interface PendingChain {
  requests: ChainedRequest[];
  stages: ChainStage[];
  ops: string[];
  resolve: (results: ChainResult[][]) => void;
  reject: (error: Error) => void;
}

export class RtnlConnection {
  private pending: PendingRequest[] = [];
  private inFlight = false;
  private pendingChains: PendingChain[] = [];
  private chainsInFlight = false;
  private closed = false;

  constructor(private readonly handle: NetlinkHandle) {}

  /**
   * Sends a request that the kernel answers with an ACK. With `goneIsDone`,
   * an answer that the object is not there (ENOENT, ESRCH) counts as done.
   */
  async request(op: string, message: Buffer, options: { goneIsDone?: boolean } = {}): Promise<void> {
    await this.enqueue(op, message, options.goneIsDone);
  }

  /**
   * Sends a request with NLM_F_ECHO: resolves to the object the kernel made,
   * as it reports it, or undefined where the kernel does not echo.
   */
  requestEcho(op: string, message: Buffer): Promise<Buffer | undefined> {
    message.writeUInt16LE(message.readUInt16LE(6) | NLM_F_ECHO, 6);
    return this.enqueue(op, message);
  }

  /**
   * Sends a get of one object in the batch, so that it sees the requests
   * queued before it without a round trip of its own; resolves to the reply.
   */
  async requestReply(op: string, message: Buffer): Promise<Buffer> {
    return (await this.enqueue(op, message)) ?? Buffer.alloc(0);
  }

  private enqueue(op: string, message: Buffer, goneIsDone = false): Promise<Buffer | undefined> {
    if (this.closed) return Promise.reject(closedError(op));
    return new Promise((resolve, reject) => {
      this.pending.push({ op, message, goneIsDone, resolve, reject });
      // Sent once the promise jobs queued meanwhile have run: requests made
      // together join this batch, even those that awaited something first.
      if (!this.inFlight && this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * Sends `requests`, then each stage in order, each only while every
   * request of the chain before it succeeded, a request with `goneIsDone`
   * also when its object was not there, one with `existsIsDone` also when
   * it was there already (one not sent fails ECANCELED):
   * all in one job of the addon, with no turn of the event loop in between,
   * so that what depends on a new object (the namespace side of a veth) goes
   * the moment it exists. A stage's requests must not depend on an echo.
   * Chains made together go in one job, their first requests in one batch.
   * One outcome per request, stage by stage, `requests` first.
   */
  chain(requests: ChainedRequest[], stages: ChainStage[]): Promise<ChainResult[][]> {
    const ops = [...requests.map((r) => r.op), ...stages.flatMap((stage) => ('requests' in stage ? stage.requests.map((r) => r.op) : [stage.op]))];
    if (this.closed || stages.some((stage) => 'connection' in stage && stage.connection.closed)) return Promise.reject(closedError(ops[0] ?? 'chain'));
    return new Promise((resolve, reject) => {
      this.pendingChains.push({ requests, stages, ops, resolve, reject });
      if (!this.chainsInFlight && this.pendingChains.length === 1) setImmediate(() => this.flushChains());
    });
  }

  private flushChains(): void {
    if (this.chainsInFlight || this.pendingChains.length === 0) return;
    // A chain whose other connection was closed since fails alone, not the job it would share.
    const chains = this.pendingChains.filter((chain) => {
      const closed = chain.stages.some((stage) => 'connection' in stage && stage.connection.closed);
      if (closed) chain.reject(closedError(chain.ops[0] ?? 'chain'));
      return !closed;
    });
    this.pendingChains = [];
    if (chains.length === 0) return;
    this.chainsInFlight = true;
    new Promise<(NativeStatus | Buffer | null)[][][]>((resolve) => {
      if (faultsArmed) faultPoint('rtnl batch', chains.flatMap((c) => c.ops).join(', '));
      const native = chains.map((c) => ({ requests: c.requests.map(withEcho), ...doneFlags(c.requests), stages: c.stages.map(RtnlConnection.nativeStage) }));
      resolve(this.handle.transactChains(native));
    })
      .then(
        (statuses) =>
          chains.forEach((chain, i) => {
            const described = [chain.requests, ...chain.stages.map((stage) => ('requests' in stage ? stage.requests : [{ op: stage.op }]))];
            chain.resolve(described.map((requests, j) => requests.map((request, k) => outcome(request, statuses[i][j][k]))));
          }),
        (error: unknown) => chains.forEach((chain) => chain.reject(kernelError(chain.ops.join(', '), error))),
      )
      .finally(() => {
        this.chainsInFlight = false;
        this.flushChains();
      });
  }

  private static nativeStage(stage: ChainStage): NativeStage {
    if ('connection' in stage) return { handle: stage.connection.handle, requests: stage.requests.map(withEcho), ...doneFlags(stage.requests) };
    return { sysctlDir: stage.sysctlDir, path: stage.path, value: stage.value };
  }

  /** Sends a get or a dump; resolves to the raw reply messages. */
  async query(op: string, message: Buffer): Promise<Buffer> {
    if (this.closed) throw closedError(op);
    return asKernelError(op, () => this.handle.query(message));
  }

  /** Fails what is still queued; a batch already with the kernel completes. */
  close(): void {
    this.closed = true;
    const queued = this.pending;
    this.pending = [];
    for (const request of queued) request.reject(closedError(request.op));
    const chains = this.pendingChains;
    this.pendingChains = [];
    for (const chain of chains) chain.reject(closedError(chain.ops[0] ?? 'chain'));
    this.handle.close();
  }

  private flush(): void {
    if (this.inFlight || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = true;
    // The executor turns a synchronous throw of transact() (or of a fault injected) into a rejection.
    new Promise<(NativeStatus | Buffer | null)[]>((resolve) => {
      if (faultsArmed && batch.some(changes)) faultPoint('rtnl batch', batch.map((r) => r.op).join(', '));
      resolve(this.handle.transact(batch.map((r) => r.message)));
    })
      .then(
        (statuses) => batch.forEach((request, i) => settle(request, statuses[i])),
        (error: unknown) => batch.forEach((request) => request.reject(kernelError(request.op, error))),
      )
      .finally(() => {
        this.inFlight = false;
        this.flush();
      });
  }
}

const NLMSG_TYPE_OFFSET = 4;

/** A request that changes something: rtnetlink's get types are the third of each group of four (RTM_GETLINK = 18, ...). */
function changes(request: PendingRequest): boolean {
  return (request.message.readUInt16LE(NLMSG_TYPE_OFFSET) & 3) !== 2;
}

const GONE = new Set(['ENOENT', 'ESRCH']);

/** What a chain's requests count as done, for the addon. */
function doneFlags(requests: ChainedRequest[]): { goneIsDone: boolean[]; existsIsDone: boolean[] } {
  return { goneIsDone: requests.map((r) => r.goneIsDone === true), existsIsDone: requests.map((r) => r.existsIsDone === true) };
}

function withEcho(request: ChainedRequest): Buffer {
  if (request.echo) request.message.writeUInt16LE(request.message.readUInt16LE(6) | NLM_F_ECHO, 6);
  return request.message;
}

function outcome(request: { op: string; goneIsDone?: boolean; existsIsDone?: boolean }, status: NativeStatus | Buffer | null | undefined): ChainResult {
  if (!status) return { ok: true };
  if (Buffer.isBuffer(status)) return { ok: true, echo: status };
  if (request.goneIsDone && GONE.has(status.code)) return { ok: true };
  if (request.existsIsDone && status.code === 'EEXIST') return { ok: true };
  return { ok: false, error: kernelError(request.op, status) };
}

function settle(request: PendingRequest, status: NativeStatus | Buffer | null | undefined): void {
  if (!status) request.resolve(undefined);
  else if (Buffer.isBuffer(status)) request.resolve(status);
  else if (request.goneIsDone && GONE.has(status.code)) request.resolve(undefined);
  else request.reject(kernelError(request.op, status));
}

function closedError(op: string): NsnetError {
  return new NsnetError('NAMESPACE_CLOSED', `${op}: the namespace handle is closed`);
}
