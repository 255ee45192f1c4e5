/**
 * nsnet's errors. Two kinds of code, kept apart: an `NsnetError`'s `code` is
 * one of the library's own (a closed list, below); a `NetlinkError` (also an
 * `NsnetError`) is the kernel refusing something, and its `code` is the
 * errno name (`EEXIST`, `ENODEV`, ...). Wrapping an error to add context
 * keeps its class, code and details, with the original as `cause`.
 */

/** Why an operation was refused before anything changed, or what failed. */
export type NsnetErrorCode =
  | 'INVALID_ARGUMENT'
  | 'USAGE'
  | 'INTERNAL'
  | 'NATIVE_MODULE_MISSING'
  | 'NETNS_EXISTS'
  | 'NETNS_NOT_FOUND'
  | 'HOST_NAMESPACE'
  | 'NAMESPACE_CLOSED'
  | 'NETWORK_CONFLICT'
  | 'NETWORK_NOT_FOUND'
  | 'NETWORK_IN_USE'
  | 'SUBNET_OVERLAP'
  | 'NO_FREE_SUBNET'
  | 'BRIDGE_NAME_TAKEN'
  | 'ADDRESS_IN_USE'
  | 'ADDRESS_OUT_OF_RANGE'
  | 'ADDRESS_NOT_LOCAL'
  | 'MAC_IN_USE'
  | 'SUBNET_FULL'
  | 'NETWORK_FULL'
  | 'ENDPOINT_EXISTS'
  | 'INTERFACE_EXISTS'
  | 'LINK_NOT_READY'
  | 'CONTAINER_EXISTS'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_IN_USE'
  | 'TEARDOWN_INCOMPLETE'
  | 'STATE_CORRUPT'
  | 'INVALID_PUBLISH'
  /** A macvlan or ipvlan network's parent that is missing (and no `name.VLAN` to make), the loopback, or no device to hang children off. */
  | 'PARENT_INVALID'
  /** A parent another macvlan or ipvlan network uses in a way this one cannot share (another driver, passthru, another ipvlan mode). */
  | 'PARENT_IN_USE'
  /** The running kernel has no such link kind (built without ipvlan, or without 802.1q VLANs): nothing was made. */
  | 'KERNEL_UNSUPPORTED'
  /** What the network's driver has no way to do: published ports, a bandwidth limit, a resolver, a warm pool on a macvlan or ipvlan network. */
  | 'NOT_SUPPORTED_BY_DRIVER'
  /** A bandwidth limit that is no rate (zero, negative, absurd, unparsable), or a burst without a rate. */
  | 'INVALID_BANDWIDTH'
  | 'PORT_IN_USE'
  | 'FIREWALL_UNAVAILABLE'
  | 'FIREWALL_FAILED'
  /** nsnet's firewall state is gone (an outside flush) and could not be put back: `nsnet reconcile` rebuilds it. */
  | 'FIREWALL_NEEDS_RECONCILE'
  | 'SERVICE_RUNNING'
  /** A container name or alias that cannot be a DNS name. */
  | 'INVALID_DNS_NAME'
  /** A `dns`, `dnsSearch` or `dnsOptions` entry that is no server address, domain or resolver option. */
  | 'INVALID_DNS'
  /** The resolver service did not start or did not answer: the connect is undone. */
  | 'DNS_UNAVAILABLE'
  /** An overlay network's store (etcd) did not answer in time, or refused: nothing was changed. */
  | 'STORE_UNAVAILABLE'
  /** A store option that names no usable store: not an http(s) URL list, or TLS files that cannot be read. */
  | 'INVALID_STORE'
  /** Only under NSNET_FAULT, a test's switch (src/fault.ts): never raised otherwise. */
  | 'FAULT_INJECTED';

/** The name of a kernel errno, as a `NetlinkError` carries it. */
export type ErrnoName = `E${string}`;

export interface NsnetErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** An nsnet error. `code` says why; `details` carries what helps to fix it. */
export class NsnetError extends Error {
  readonly code: NsnetErrorCode | ErrnoName;
  readonly details?: Record<string, unknown>;

  constructor(code: NsnetErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NsnetError';
    this.code = code;
    if (details) this.details = details;
  }

  /**
   * The same error with `context` before its message (and `details` added),
   * of the same class, with this one as its `cause`.
   */
  withContext(context: string, details?: Record<string, unknown>): NsnetError {
    return new NsnetError(this.code as NsnetErrorCode, `${context}: ${this.message}`, merge(this.details, details), { cause: this });
  }

  /** The same error with `note` after its message (and `details` added). */
  withNote(note: string, details?: Record<string, unknown>): NsnetError {
    return new NsnetError(this.code as NsnetErrorCode, `${this.message}; ${note}`, merge(this.details, details), { cause: this });
  }
}

function merge(a?: Record<string, unknown>, b?: Record<string, unknown>): Record<string, unknown> | undefined {
  return a || b ? { ...a, ...b } : undefined;
}

/**
 * The kernel refused an operation. `code` is the errno name (`EEXIST`,
 * `ENODEV`, ...), `errno` its number, `extack` the kernel's own explanation
 * when it gave one, and `op` the operation that failed.
 */
export class NetlinkError extends NsnetError {
  declare readonly code: ErrnoName;
  readonly errno: number;
  readonly extack?: string;
  readonly op: string;

  constructor(op: string, errno: number, code: ErrnoName, reason: string, extack?: string, options?: NsnetErrorOptions & { message?: string }) {
    const message = options?.message ?? `${op}: ${reason}${extack && !reason.includes(extack) ? `: ${extack}` : ''}`;
    // The one place an errno name stands as a code: the library's own codes stay a closed list.
    super(code as unknown as NsnetErrorCode, message, options?.details, options);
    this.name = 'NetlinkError';
    this.errno = errno;
    this.op = op;
    if (extack) this.extack = extack;
  }

  override withContext(context: string, details?: Record<string, unknown>): NetlinkError {
    return this.rewrite(`${context}: ${this.message}`, details);
  }

  override withNote(note: string, details?: Record<string, unknown>): NetlinkError {
    return this.rewrite(`${this.message}; ${note}`, details);
  }

  private rewrite(message: string, details?: Record<string, unknown>): NetlinkError {
    return new NetlinkError(this.op, this.errno, this.code, '', this.extack, { message, details: merge(this.details, details), cause: this });
  }
}

/**
 * Whatever was asked for is not there: a missing interface, address, route,
 * file or namespace. Removal and teardown treat it as done.
 */
export function isGone(error: unknown): boolean {
  if (error instanceof NetlinkError) return error.code === 'ENODEV' || error.code === 'ENOENT' || error.code === 'ESRCH' || error.code === 'EADDRNOTAVAIL';
  if (error instanceof NsnetError) return error.code === 'NETNS_NOT_FOUND';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** unlessGone() for a synchronous call. */
export function unlessGoneSync(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

/** Runs `fn`; what is gone already counts as done. */
export async function unlessGone<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/** Shape of errors raised by the addon and by Node's fs for a system call. */
interface ErrnoLike {
  errno?: number;
  code?: string;
  message?: string;
  extack?: string;
}

/** Turns an addon or fs failure into a NetlinkError naming the operation. */
export function kernelError(op: string, error: unknown): NsnetError {
  if (error instanceof NsnetError) return error;
  const e = (error ?? {}) as ErrnoLike;
  if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) {
    const errno = Math.abs(typeof e.errno === 'number' ? e.errno : 0);
    const reason = (e.message ?? e.code).replace(/^[A-Z0-9]+: /, '');
    return new NetlinkError(op, errno, e.code as ErrnoName, reason, e.extack);
  }
  return new NsnetError('INTERNAL', `${op}: ${e.message ?? String(error)}`, undefined, { cause: error });
}

/** asKernelError() for a synchronous call. */
export function syncKernelCall<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw kernelError(op, error);
  }
}

/** Runs `fn`, converting whatever it throws with `kernelError(op, ...)`. */
export async function asKernelError<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw kernelError(op, error);
  }
}

/** Any failure as an NsnetError: nsnet's own as they are, anything else INTERNAL. */
export function asNsnetError(error: unknown): NsnetError {
  if (error instanceof NsnetError) return error;
  return new NsnetError('INTERNAL', error instanceof Error ? error.message : String(error), undefined, { cause: error });
}

/** A failure's one-line text, for lists of what a teardown or rollback left. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function invalid(message: string, details?: Record<string, unknown>): NsnetError {
  return new NsnetError('INVALID_ARGUMENT', message, details);
}
