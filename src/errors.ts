/** Why an operation was refused before anything changed, or what failed. */
export type NsnetErrorCode =
  | 'INVALID_ARGUMENT'
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
  | 'SUBNET_FULL'
  | 'ENDPOINT_EXISTS'
  | 'LINK_NOT_READY'
  | 'CONTAINER_EXISTS'
  | 'CONTAINER_NOT_FOUND'
  | 'CONTAINER_IN_USE'
  | 'TEARDOWN_INCOMPLETE'
  | 'STATE_CORRUPT'
  | 'INVALID_PUBLISH'
  | 'PORT_IN_USE'
  | 'FIREWALL_UNAVAILABLE'
  | 'FIREWALL_FAILED'
  | (string & {});

/** An nsnet error. `code` says why; `details` carries what helps to fix it. */
export class NsnetError extends Error {
  readonly code: NsnetErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: NsnetErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'NsnetError';
    this.code = code;
    if (details) this.details = details;
  }
}

/**
 * The kernel refused an operation. `code` is the errno name (`EEXIST`,
 * `ENODEV`, ...), `errno` its number, `extack` the kernel's own explanation
 * when it gave one, and `op` the operation that failed.
 */
export class NetlinkError extends NsnetError {
  readonly errno: number;
  readonly extack?: string;
  readonly op: string;

  constructor(op: string, errno: number, code: string, reason: string, extack?: string) {
    super(code, `${op}: ${reason}${extack && !reason.includes(extack) ? `: ${extack}` : ''}`);
    this.name = 'NetlinkError';
    this.errno = errno;
    this.op = op;
    if (extack) this.extack = extack;
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
    return new NetlinkError(op, errno, e.code, reason, e.extack);
  }
  return new NsnetError('INTERNAL', `${op}: ${e.message ?? String(error)}`);
}

/** Runs `fn`, converting whatever it throws with `kernelError(op, ...)`. */
export async function asKernelError<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw kernelError(op, error);
  }
}

export function invalid(message: string, details?: Record<string, unknown>): NsnetError {
  return new NsnetError('INVALID_ARGUMENT', message, details);
}
