/** CNI error results: the specification's codes, and nsnet's own from 100. */
import { NetlinkError, NsnetError } from '../errors';

/** Codes of the CNI specification 1.1.0. */
export const CNI_CODES = {
  INCOMPATIBLE_VERSION: 1,
  UNSUPPORTED_FIELD: 2,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENVIRONMENT: 4,
  IO_FAILURE: 5,
  DECODE_FAILURE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN_LATER: 11,
  NOT_AVAILABLE: 50,
  NOT_AVAILABLE_DAMAGED: 51,
} as const;

/** nsnet's own codes (100 and up), by the library's error code. */
const NSNET_CODES: Record<string, number> = {
  INTERNAL: 100,
  ADDRESS_IN_USE: 101,
  ADDRESS_OUT_OF_RANGE: 102,
  SUBNET_FULL: 103,
  PORT_IN_USE: 104,
  NETWORK_CONFLICT: 105,
  SUBNET_OVERLAP: 106,
  NO_FREE_SUBNET: 107,
  BRIDGE_NAME_TAKEN: 108,
  INTERFACE_EXISTS: 109,
  CHECK_FAILED: 110,
  FIREWALL_UNAVAILABLE: 111,
  FIREWALL_FAILED: 112,
  LINK_NOT_READY: 113,
  MAC_IN_USE: 114,
  NETWORK_FULL: 115,
  ADDRESS_NOT_LOCAL: 116,
  FIREWALL_NEEDS_RECONCILE: 117,
  KERNEL_ERROR: 120,
  PARENT_INVALID: 121,
  PARENT_IN_USE: 122,
  NOT_SUPPORTED_BY_DRIVER: 123,
  KERNEL_UNSUPPORTED: 124,
};

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'CniError';
  }
}

export const invalidConfig = (key: string, why: string) => new CniError(CNI_CODES.INVALID_CONFIG, `invalid config key "${key}": ${why}`);
export const unsupportedField = (key: string, why: string) => new CniError(CNI_CODES.UNSUPPORTED_FIELD, `unsupported config key "${key}": ${why}`);
export const invalidEnvironment = (why: string) => new CniError(CNI_CODES.INVALID_ENVIRONMENT, why);
export const nsnetCode = (code: string) => NSNET_CODES[code] ?? NSNET_CODES.INTERNAL;

/** Any failure as a CNI error: the library's codes mapped, the message kept. */
export function toCniError(error: unknown): CniError {
  if (error instanceof CniError) return error;
  // A kernel error stays a NetlinkError when a step wraps it with its name.
  if (error instanceof NetlinkError) {
    const kernel = error;
    const message = error.message;
    // The state directory is files: failing to use it is an I/O failure.
    if (kernel.op.startsWith('state ')) return new CniError(CNI_CODES.IO_FAILURE, message, kernel.code);
    if (kernel.code === 'EEXIST' && kernel.op.startsWith('link add')) return new CniError(NSNET_CODES.INTERFACE_EXISTS, message, kernel.code);
    return new CniError(NSNET_CODES.KERNEL_ERROR, message, kernel.code);
  }
  if (error instanceof NsnetError) {
    switch (error.code) {
      case 'INVALID_ARGUMENT':
      case 'INVALID_PUBLISH':
      case 'INVALID_BANDWIDTH':
      case 'INVALID_STORE':
        return new CniError(CNI_CODES.INVALID_CONFIG, error.message, error.code);
      // An overlay network's store that does not answer: nothing was made, and the runtime may retry.
      case 'STORE_UNAVAILABLE':
        return new CniError(CNI_CODES.TRY_AGAIN_LATER, error.message, error.code);
      case 'STATE_CORRUPT':
        return new CniError(CNI_CODES.IO_FAILURE, error.message, error.code);
      case 'NETNS_NOT_FOUND':
        return new CniError(CNI_CODES.INVALID_ENVIRONMENT, `CNI_NETNS: ${error.message}`, error.code);
      case 'ENDPOINT_EXISTS':
        return new CniError(NSNET_CODES.INTERFACE_EXISTS, error.message, error.code);
      default:
        return new CniError(nsnetCode(error.code), error.message, error.code);
    }
  }
  return new CniError(NSNET_CODES.INTERNAL, error instanceof Error ? error.message : String(error));
}
