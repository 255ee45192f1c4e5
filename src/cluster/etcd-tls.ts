/**
 * A store's TLS files, read once: both of its clients (gRPC for leases and
 * watches, the JSON gateway for key-value calls) use the same.
 */
import { readFileSync } from 'node:fs';

import { NsnetError } from '../errors';
import type { StoreConfig } from '../types/overlay';

/** No CA: the system's roots. */
export interface StoreTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function readStoreTls(tls: StoreConfig['tls']): StoreTls | undefined {
  if (!tls) return undefined;
  const read = (what: 'ca' | 'cert' | 'key') => {
    const path = tls[what];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new NsnetError('INVALID_STORE', `store tls.${what} ${path} cannot be read: ${(error as Error).message}`, { path });
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}
