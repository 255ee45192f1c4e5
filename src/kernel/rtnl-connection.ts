/**
 * One rtnetlink socket of one namespace. Requests that only need an ACK are
 * queued and sent together: while one batch is with the kernel, the next one
 * collects, so a burst of operations costs a few sendmsg calls.
 */
import { asKernelError, kernelError, NsnetError } from '../errors';
import { faultPoint, faultsArmed } from '../fault';
import type { NativeStatus, NetlinkHandle } from '../native';

interface PendingRequest {
  op: string;
  message: Buffer;
  resolve: (echo: Buffer | undefined) => void;
  reject: (error: Error) => void;
}

const NLM_F_ECHO = 0x8;

export class RtnlConnection {
  private pending: PendingRequest[] = [];
  private inFlight = false;
  private closed = false;

  constructor(private readonly handle: NetlinkHandle) {}

  /** Sends a request that the kernel answers with an ACK. */
  async request(op: string, message: Buffer): Promise<void> {
    await this.enqueue(op, message);
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

  private enqueue(op: string, message: Buffer): Promise<Buffer | undefined> {
    if (this.closed) return Promise.reject(closedError(op));
    return new Promise((resolve, reject) => {
      this.pending.push({ op, message, resolve, reject });
      // Sent once the promise jobs queued meanwhile have run: requests made
      // together join this batch, even those that awaited something first.
      if (!this.inFlight && this.pending.length === 1) setImmediate(() => this.flush());
    });
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

function settle(request: PendingRequest, status: NativeStatus | Buffer | null | undefined): void {
  if (!status) request.resolve(undefined);
  else if (Buffer.isBuffer(status)) request.resolve(status);
  else request.reject(kernelError(request.op, status));
}

function closedError(op: string): NsnetError {
  return new NsnetError('NAMESPACE_CLOSED', `${op}: the namespace handle is closed`);
}
