/**
 * The etcd client of a store, made to fail fast: no retries of its own and
 * no circuit breaker (etcd3's defaults retry three times and then refuse
 * for 5 s), each call tried once per endpoint, and every call given a
 * deadline, shared out among the endpoints (a silent one does not use up
 * the others' time); a store that does not answer or refuses the connection
 * is STORE_UNAVAILABLE naming the endpoints, one that refuses the client
 * (permission, authentication) INVALID_STORE.
 * The `etcd3` module (gRPC, ~200 ms to load) is loaded on first use, so
 * only overlay networks pay for it.
 */
import { readFileSync } from 'node:fs';

import type { Etcd3, IOptions } from 'etcd3';

import { NsnetError } from '../errors';
import type { StoreConfig } from '../types/overlay';

type Etcd3Module = typeof import('etcd3');
export type CallOptions = NonNullable<Parameters<Etcd3['kv']['range']>[1]>;
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

let loaded: Etcd3Module | undefined;

function etcd3(): Etcd3Module {
  loaded ??= require('etcd3') as Etcd3Module;
  return loaded;
}

/** Runs the call once. */
function once(): Policy {
  // Async: etcd3 catches what a policy's execute returns, not what it throws.
  return { execute: async (fn: (context: { signal: AbortSignal }) => unknown) => fn({ signal: new AbortController().signal }) } as unknown as Policy;
}

/** Runs the call on each endpoint in turn (etcd3 picks another each time) while the failure is a connection's. */
function eachEndpoint(endpoints: number): Policy {
  const { isRecoverableError } = etcd3();
  return {
    async execute(fn: (context: { signal: AbortSignal }) => Promise<unknown>) {
      const signal = new AbortController().signal;
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn({ signal });
        } catch (error) {
          if (attempt >= endpoints || !(error instanceof Error) || !isRecoverableError(error)) throw error;
        }
      }
    },
  } as unknown as Policy;
}

/** A lost watch stream is opened again after 100 ms, doubling to at most 1 s: a store back is seen within a second. */
function watchBackoff(ms = 100): Backoff {
  return { duration: ms, next: () => watchBackoff(Math.min(ms * 2, 1000)) } as unknown as Backoff;
}

function credentials(tls: StoreConfig['tls']): IOptions['credentials'] {
  if (!tls) return undefined;
  const read = (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new NsnetError('INVALID_STORE', `store tls.${what} ${path} cannot be read: ${(error as Error).message}`, { path });
    }
  };
  // No CA file: the system's roots (gRPC's default when rootCertificate is empty).
  return { rootCertificate: read(tls.ca, 'ca') ?? (undefined as unknown as Buffer), certChain: read(tls.cert, 'cert'), privateKey: read(tls.key, 'key') };
}

export class EtcdConnection {
  readonly client: Etcd3;
  readonly where: string;

  constructor(
    readonly config: StoreConfig,
    readonly timeoutMs: number,
  ) {
    const { Etcd3 } = etcd3();
    this.where = config.endpoints.join(', ');
    this.client = new Etcd3({
      hosts: config.endpoints,
      credentials: credentials(config.tls),
      // Per attempt, so each endpoint gets its share of the call's time; call() keeps the whole call to timeoutMs.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs / config.endpoints.length }),
      faultHandling: { host: once, global: eachEndpoint(config.endpoints.length), watchBackoff: watchBackoff() },
      grpcOptions: {
        // A store back is connected to at once, not after gRPC's growing backoff (up to 2 min).
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        // A watch on a store that went silent (its host gone) fails in seconds.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 3000,
      },
    });
  }

  /** The store did not answer or refused: STORE_UNAVAILABLE naming the endpoints; it refused this client: INVALID_STORE. */
  unavailable(what: string, cause?: unknown): NsnetError {
    if (cause instanceof NsnetError) return cause;
    const { EtcdPermissionDeniedError, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, GRPCUnauthenticatedError } = etcd3();
    if ([EtcdPermissionDeniedError, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, GRPCUnauthenticatedError].some((refused) => cause instanceof refused) || /user name is empty/.test(String((cause as Error | undefined)?.message))) {
      // Trying again does not help: the store's users, roles or certificates must change.
      return new NsnetError('INVALID_STORE', `the store (etcd at ${this.where}) refused ${what}: ${(cause as Error).message.replace(/^\d+ [A-Z_]+: /, '')}`, { endpoints: this.config.endpoints }, { cause });
    }
    const message = cause instanceof Error ? cause.message.replace(/^\d+ [A-Z_]+: /, '') : undefined;
    // gRPC's "No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.1:2379 ...": the connect error says it.
    const reason = message?.match(/connect E[A-Z]+ \S+/)?.[0] ?? message;
    const leaseLost = cause instanceof etcd3().EtcdLeaseInvalidError || /requested lease not found/.test(reason ?? '');
    return new NsnetError(
      'STORE_UNAVAILABLE',
      `the store (etcd at ${this.where}) ${what}${reason ? `: ${reason}` : ''}`,
      { endpoints: this.config.endpoints, ...(leaseLost ? { leaseLost: true } : {}) },
      { cause },
    );
  }

  /**
   * `work`, given call options for a stream (a request's deadline is each
   * attempt's, set by the client); it settles within the deadline, or the
   * call is STORE_UNAVAILABLE (and what it does later is ignored).
   */
  call<T>(what: string, work: (streamOptions: CallOptions) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const running = Promise.resolve().then(() => work({ deadline: Date.now() + this.timeoutMs }));
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable(`did not answer ${what} within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    running.catch(() => undefined); // settled after the deadline: nobody waits for it
    return Promise.race([running, late]).then(
      (value) => {
        clearTimeout(timer);
        return value;
      },
      (error) => {
        clearTimeout(timer);
        throw error instanceof NsnetError ? error : this.unavailable(`failed ${what}`, error);
      },
    );
  }

  close(): void {
    this.client.close();
  }
}
