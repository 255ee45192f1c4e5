/**
 * Warm pools: per network and per process, entries (pool-entry.ts) made in
 * the background and kept topped up, from which setupContainer takes one
 * (pool-claim.ts). Topping up is never on a caller's path and does not keep
 * the process alive (unless a caller awaits filled()): it runs between
 * unref'd timers, one entry at a time, and only while no setup is claiming
 * an entry (an entry being made shares the event loop, the kernel's locks
 * and the two cores with a claim, and made a claim's time twice what it is).
 */
import { invalid, isGone, NsnetError } from '../errors';
import { MAX_POOL_SIZE } from '../types/limits';
import { type NetworkRecord, networkDriver } from '../types/network';
import type { ConnectInput } from './connect-options';
import { sameNetwork } from './endpoint-plan';
import { deletePoolEntry, POOL_IFNAME, type PoolEntry, preparePoolEntry } from './pool-entry';

/** After a failed preparation, topping up waits this long before trying again. */
const RETRY_MS = 1000;

/** Resolves on a later turn of the event loop, without keeping the process alive. */
function later(delayMs = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs).unref());
}

/** The pool of prepared namespaces of one network in this process. */
export class NetworkPool {
  private readonly entries: PoolEntry[] = [];
  private target = 0;
  private filling?: Promise<void>;
  /** The entry being made, if one is: a drain waits for it (not for the pause between two). */
  private preparing?: Promise<void>;
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private failure?: unknown;
  /** Setups claiming an entry now: topping up waits until there are none. */
  private claims = 0;
  private claimsSettled: (() => void)[] = [];

  /** @internal `network`: the network as the pool's entries are made for it. */
  constructor(readonly network: NetworkRecord) {}

  /** How many prepared namespaces the pool keeps. */
  get size(): number {
    return this.target;
  }

  /** How many are prepared now. */
  get available(): number {
    return this.entries.length;
  }

  /**
   * Why the last preparation failed; undefined once one succeeds. The pool
   * tries again a second later, unless the network or its bridge is gone
   * (its size is then 0).
   */
  get lastError(): unknown {
    return this.failure;
  }

  /** Keeps `size` prepared namespaces from now on (0 empties the pool); extra ones are deleted in the background. */
  resize(size: number): this {
    if (!Number.isInteger(size) || size < 0 || size > MAX_POOL_SIZE) {
      throw invalid(`pool size must be an integer from 0 to ${MAX_POOL_SIZE} (a bridge's ports): ${String(size)}`);
    }
    // Its namespaces are prepared with a veth on the bridge already.
    const driver = networkDriver(this.network);
    if (size > 0 && driver !== 'bridge') throw new NsnetError('NOT_SUPPORTED_BY_DRIVER', `network "${this.network.name}" is a ${driver} network: a warm pool is for bridge networks`, { driver });
    this.target = size;
    const extra = this.entries.splice(size);
    for (const entry of extra) deletePoolEntry(entry).catch(() => undefined); // reconcile removes what stays
    this.settleIfFull();
    this.topUp();
    return this;
  }

  /** Resolves once the pool holds its size; rejects if a preparation fails meanwhile. */
  filled(): Promise<void> {
    if (this.entries.length >= this.target) return Promise.resolve();
    // The process stays alive while a caller waits.
    const keepAlive = setInterval(() => undefined, 60_000);
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject })).finally(() => clearInterval(keepAlive));
  }

  /** Deletes every prepared namespace, and makes no more. */
  async drain(): Promise<void> {
    this.target = 0;
    this.settleIfFull();
    const entries = this.entries.splice(0);
    await Promise.all(entries.map((entry) => deletePoolEntry(entry)));
    await this.preparing; // an entry made meanwhile is deleted as it comes
  }

  /**
   * @internal An entry for a setup that asks for nothing an entry cannot
   * give; the caller calls claimed() once its setup settles, and the pool
   * tops up behind it.
   */
  take(input: ConnectInput): PoolEntry | undefined {
    if (input.ifname !== POOL_IFNAME || input.macGiven) return undefined;
    const entry = this.entries.shift();
    if (entry) this.claims++;
    return entry;
  }

  /** @internal A setup that took an entry settled (the entry used, or given back first). */
  claimed(): void {
    this.claims--;
    if (this.claims === 0) for (const resolve of this.claimsSettled.splice(0)) resolve();
    this.topUp();
  }

  /** @internal An entry a setup took and could not use, intact. */
  putBack(entry: PoolEntry): void {
    if (this.entries.length < this.target) this.entries.push(entry);
    else deletePoolEntry(entry).catch(() => undefined);
  }

  /**
   * Now if no setup is claiming an entry, else a turn of the event loop
   * after the last claim settled, so that what its setup does after the
   * claim (the container's record) goes first.
   */
  private async quiet(): Promise<void> {
    if (this.claims === 0) return;
    do {
      if (this.claims > 0) await new Promise<void>((resolve) => this.claimsSettled.push(resolve));
      await later();
    } while (this.claims > 0);
  }

  private topUp(): void {
    if (this.filling || this.entries.length >= this.target) return;
    this.filling = this.fill().finally(() => {
      this.filling = undefined;
    });
  }

  private async fill(): Promise<void> {
    while (this.entries.length < this.target) {
      await later();
      await this.quiet();
      if (this.entries.length >= this.target) break;
      this.preparing = this.prepareOne();
      const made = await this.preparing.then(() => true, () => false);
      this.preparing = undefined;
      if (!made && this.target) await later(RETRY_MS);
    }
    this.settleIfFull();
  }

  /** Makes one entry, and keeps it, or deletes it if the pool was drained or shrunk meanwhile. */
  private async prepareOne(): Promise<void> {
    let entry: PoolEntry;
    try {
      // A setup that claims an entry meanwhile goes first: the preparation waits between its steps.
      entry = await preparePoolEntry(this.network, () => this.quiet());
    } catch (error) {
      this.failure = error;
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
      // The network or its bridge is gone: nothing to top up for.
      if (isGone(error) || (error instanceof NsnetError && error.code === 'NETWORK_NOT_FOUND')) this.target = 0;
      throw error;
    }
    this.failure = undefined;
    if (this.entries.length >= this.target) await deletePoolEntry(entry).catch(() => undefined);
    else this.entries.push(entry);
  }

  private settleIfFull(): void {
    if (this.entries.length >= this.target) for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }
}

const pools = new Map<string, NetworkPool>();

/**
 * A program that simply ends (its event loop empty) leaves no pool behind.
 * One that exits otherwise (process.exit, a signal) leaves its entries to
 * reconcile.
 */
function drainAllBeforeExit(): void {
  drainsBeforeExit = false;
  for (const pool of pools.values()) pool.drain().catch(() => undefined);
}
let drainsBeforeExit = false;

/**
 * The pool of `network` in this process, made on first use. A network made
 * again since gets a new one; a caller's copy of the network older than the
 * pool's gets the pool's.
 */
export function poolOf(network: NetworkRecord): NetworkPool {
  const known = pools.get(network.name);
  if (known && (sameNetwork(network, known.network) || network.created < known.network.created)) return known;
  known?.drain().catch(() => undefined);
  if (!drainsBeforeExit) process.once('beforeExit', drainAllBeforeExit);
  drainsBeforeExit = true;
  const pool = new NetworkPool(network);
  pools.set(network.name, pool);
  return pool;
}

/** The pool of the network named so in this process, if it has one. */
export function existingPool(network: string): NetworkPool | undefined {
  return pools.get(network);
}

/** Empties and forgets the pool of a network (removeNetwork). */
export async function drainPool(network: string): Promise<void> {
  const pool = pools.get(network);
  pools.delete(network);
  await pool?.drain();
}
