/**
 * The etcd client of a store, made to fail fast: no retries of its own and
 * no circuit breaker (etcd3's defaults retry three times and then refuse
 * for 5 s), each call tried once per endpoint, and every call given a
 * deadline, shared out among the endpoints (a silent one does not use up
 * the others' time); a store that does not answer or refuses the connection
 * is STORE_UNAVAILABLE naming the endpoints, one that refuses the client
 * (permission, authentication) INVALID_STORE.
 * Key-value calls go through etcd's JSON gateway (etcd-gateway.ts); leases
 * and watches through gRPC, with the `etcd3` module (~200 ms to load),
 * loaded on first use.
 */
import type { Etcd3, IOptions } from 'etcd3';

import { NsnetError } from '../errors';
import type { StoreConfig } from '../types/overlay';
import { EtcdGateway, GatewayError, PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED } from './etcd-gateway';
import { readStoreTls, type StoreTls } from './etcd-tls';

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

function credentials(tls: StoreTls | undefined): IOptions['credentials'] {
  if (!tls) return undefined;
  // No CA file: the system's roots (gRPC's default when rootCertificate is empty).
  return { rootCertificate: tls.ca ?? (undefined as unknown as Buffer), certChain: tls.cert, privateKey: tls.key };
}

export class EtcdConnection {
  /** The JSON gateway: key-value calls, a connect's and a teardown's included. */
  readonly kv: EtcdGateway;
  readonly where: string;
  private readonly tls: StoreTls | undefined;
  private grpc: Etcd3 | undefined;

  constructor(
    readonly config: StoreConfig,
    readonly timeoutMs: number,
  ) {
    this.where = config.endpoints.join(', ');
    this.tls = readStoreTls(config.tls);
    this.kv = new EtcdGateway(config.endpoints, this.tls, timeoutMs);
  }

  /** gRPC, for leases and watches: made (and `etcd3` loaded) on first use, so a process that only connects containers never loads it. */
  get client(): Etcd3 {
    this.grpc ??= this.grpcClient();
    return this.grpc;
  }

  private grpcClient(): Etcd3 {
    const { Etcd3 } = etcd3();
    const { endpoints } = this.config;
    return new Etcd3({
      hosts: endpoints,
      credentials: credentials(this.tls),
      // Per attempt, so each endpoint gets its share of the call's time; call() keeps the whole call to timeoutMs.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + this.timeoutMs / endpoints.length }),
      faultHandling: { host: once, global: eachEndpoint(endpoints.length), watchBackoff: watchBackoff() },
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

  /** Whether the store refused this client (users, roles, certificates, no gateway), which trying again does not change. */
  private refusedClient(cause: unknown): boolean {
    if (/user name is empty/.test(String((cause as Error | undefined)?.message))) return true;
    if (cause instanceof GatewayError) return [PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED].includes(cause.grpcCode);
    if (!loaded) return false; // not gRPC's error: etcd3 was never loaded
    const { EtcdPermissionDeniedError, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, GRPCUnauthenticatedError } = loaded;
    return [EtcdPermissionDeniedError, EtcdAuthenticationFailedError, EtcdInvalidAuthTokenError, GRPCUnauthenticatedError].some((refused) => cause instanceof refused);
  }

  /** The store did not answer or refused: STORE_UNAVAILABLE naming the endpoints; it refused this client: INVALID_STORE. */
  unavailable(what: string, cause?: unknown): NsnetError {
    if (cause instanceof NsnetError) return cause;
    if (this.refusedClient(cause)) {
      return new NsnetError('INVALID_STORE', `the store (etcd at ${this.where}) refused ${what}: ${(cause as Error).message.replace(/^\d+ [A-Z_]+: /, '')}`, { endpoints: this.config.endpoints }, { cause });
    }
    const message = cause instanceof Error ? cause.message.replace(/^\d+ [A-Z_]+: /, '') : undefined;
    // "No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.1:2379 ...": the connect error says it.
    const reason = message?.match(/connect E[A-Z]+ \S+/)?.[0] ?? message;
    const leaseLost = (loaded !== undefined && cause instanceof loaded.EtcdLeaseInvalidError) || /requested lease not found/.test(reason ?? '');
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
    this.kv.close();
    this.grpc?.close();
  }
}
