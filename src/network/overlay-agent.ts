/**
 * A host's agent on one overlay network: it keeps the host's lease in the
 * store (and so the host's keys), puts back the host's own address keys,
 * and keeps the host's forwarding entries for every other host's
 * containers in step with the store, from a list and then a watch.
 *
 * The store away: every entry applied stays (running containers keep their
 * traffic), calls are retried with a growing delay, and the watch resumes
 * where it left off; a compacted revision is listed again and the
 * difference applied. The lease expired while the store was away: a new
 * one, and the host's keys are put back on it (one another host took
 * meanwhile is reported, never taken back).
 */
import type { ClusterStore } from '../cluster/store';
import { NsnetError } from '../errors';
import type { AddressEntry, HostEntry } from '../types/overlay';
import type { RemoteEndpoint } from './overlay-dataplane';

/** Forwarding entries to add and remove, as one change: address entries to add, what is programmed to remove. */
export interface AgentChange {
  add: AddressEntry[];
  remove: RemoteEndpoint[];
}

export interface OverlayAgentOptions {
  store: ClusterStore;
  network: string;
  host: HostEntry;
  /** Seconds the host's keys outlive the agent. */
  leaseTtl: number;
  /** Programs other hosts' containers: ONE call at start-up with everything, then one per batch of changes. */
  apply(change: AgentChange): Promise<void>;
  /** This host's endpoints on the network, as their address entries. */
  ownEntries(): Promise<AddressEntry[]>;
  /** The entries programmed already (after a restart), so that those gone from the store are removed. */
  installed?(): Promise<RemoteEndpoint[]>;
  /**
   * Told each lease the agent holds: the first once start() is done (connects
   * claim on it only then), and each one granted after a lease was lost.
   */
  onLease?(leaseId: string): Promise<void> | void;
  /** Where the agent says what it could not do; stderr when omitted. */
  log?(message: string): void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

/** Whether two entries program the same forwarding entries. */
const sameEntry = (a: RemoteEndpoint, b: RemoteEndpoint) => a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6 && a.mac === b.mac && a.host === b.host;

export class OverlayAgent {
  private leaseId: string | undefined;
  /** Other hosts' entries as applied, by IPv4 address. */
  private readonly applied = new Map<string, AddressEntry>();
  private keeper: { stop(): void } | undefined;
  private watch: { close(): Promise<void> } | undefined;
  /** Changes from the watch not yet applied, by IPv4 address (undefined: a delete). */
  private pending = new Map<string, AddressEntry | undefined>();
  /** Entries of a batch that failed, by IPv4 address: perhaps programmed, so removed when the store drops them. */
  private readonly unsure = new Map<string, AddressEntry>();
  private applyRetryMs = FIRST_RETRY_MS;
  /** The chain of work done one step at a time: applying, listing again, a new lease. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private storeAway = false;
  private readonly log: (message: string) => void;

  constructor(private readonly options: OverlayAgentOptions) {
    this.log = options.log ?? ((message) => process.stderr.write(`nsnet overlay ${options.network}: ${message}\n`));
  }

  /** The lease the host's keys are on. */
  get lease(): string | undefined {
    return this.leaseId;
  }

  /** Other hosts' entries as applied. */
  remotes(): AddressEntry[] {
    return [...this.applied.values()];
  }

  /**
   * Takes the lease, registers the host, puts back its keys and deletes its
   * keys with no endpoint, applies every other host's entries in one call,
   * then keeps all that up to date. Fails (STORE_UNAVAILABLE) when the store
   * does not answer; the entries programmed are left as they are.
   */
  async start(): Promise<void> {
    const { store, network } = this.options;
    await this.takeLease(false);
    const listed = await store.listAddresses(network);
    for (const corrupt of listed.corrupt) this.log(`${corrupt.message}; left out`);
    const own = await this.options.ownEntries();
    const mine = this.options.host.underlay;
    for (const entry of listed.entries) {
      // Claimed on an older lease, and the endpoint never recorded (a crash between the two), or gone since.
      // One on this lease is a connect's, whose record may not be written yet: it stays.
      if (entry.host === mine && listed.leases.get(entry.ipv4) !== this.leaseId && !own.some((local) => local.ipv4 === entry.ipv4 && local.container === entry.container)) {
        await store.releaseAddresses(network, entry);
      }
    }
    const wanted = this.remoteMap(listed.entries);
    const installed = (await this.options.installed?.()) ?? [];
    const remove = installed.filter((entry) => !wanted.has(entry.ipv4) || !sameEntry(wanted.get(entry.ipv4)!, entry));
    await this.options.apply({ add: [...wanted.values()], remove });
    for (const [ipv4, entry] of wanted) this.applied.set(ipv4, entry);
    this.watchFrom(listed.revision);
    await this.options.onLease?.(this.leaseId!);
  }

  /**
   * Closes the watch and stops renewing the lease. The lease is revoked (the
   * host's keys go with it at once) when `release` says so (the network is
   * being removed) or the host has no endpoint on the network; otherwise it
   * runs out after its TTL, so an agent started again within it keeps the
   * running containers' addresses. The entries programmed stay.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.keeper?.stop();
    await this.watch?.close();
    await this.queue;
    const release = options.release || (await this.options.ownEntries().then((own) => own.length === 0, () => false));
    if (this.leaseId !== undefined && release) {
      try {
        await this.options.store.revokeLease(this.leaseId);
      } catch (error) {
        this.log(`could not revoke lease ${this.leaseId} (its keys go when it expires): ${(error as Error).message}`);
      }
    }
  }

  private remoteMap(entries: AddressEntry[]): Map<string, AddressEntry> {
    return new Map(entries.filter((entry) => entry.host !== this.options.host.underlay).map((entry) => [entry.ipv4, entry]));
  }

  /** A new lease; the host's key and its own address keys on it; kept alive. */
  private async takeLease(tell: boolean): Promise<void> {
    const { store, network, host, leaseTtl } = this.options;
    const leaseId = await store.grantLease(leaseTtl);
    await store.registerHost(network, host, leaseId);
    for (const entry of await this.options.ownEntries()) {
      const claimed = await store.reclaimAddresses(network, entry, leaseId);
      if (claimed !== 'claimed') {
        this.log(`${entry.ipv4} of endpoint ${entry.container} is held by host ${claimed.takenBy} in the store: left to it; disconnect the endpoint and connect it again`);
      }
    }
    this.leaseId = leaseId;
    if (tell) await this.options.onLease?.(leaseId);
    this.keeper?.stop();
    this.keeper = store.keepAlive(leaseId, (why) => this.enqueue(() => this.leaseLost(why)));
  }

  private async leaseLost(why: NsnetError): Promise<void> {
    this.log(`${why.message}: taking a new lease and putting this host's keys back`);
    await this.retrying('taking a new lease', () => this.takeLease(true));
  }

  private watchFrom(revision: string): void {
    if (this.stopped) return;
    this.watch = this.options.store.watchAddresses(
      this.options.network,
      revision,
      (change) => {
        if (this.storeAway) {
          this.storeAway = false;
          this.log('the store answers again');
        }
        if (change.entry?.host === this.options.host.underlay) return;
        this.pending.set(change.ipv4, change.entry);
        this.enqueue(() => this.applyPending());
      },
      (error) => {
        if (error.code === 'STATE_CORRUPT') {
          this.log(`${error.message}; skipped`);
        } else if (error.details?.watchEnded) {
          this.enqueue(() => this.listAgain(error));
        } else if (!this.storeAway) {
          this.storeAway = true;
          this.log(`${error.message}; keeping every entry, watching again when it answers`);
        }
      },
    );
  }

  /** The watch cannot go on from its revision: list again, apply the difference, watch from there. */
  private async listAgain(why: NsnetError): Promise<void> {
    this.log(`${why.message}; listing the addresses again`);
    const old = this.watch;
    this.watch = undefined;
    await old?.close();
    const listed = await this.retrying('listing the addresses', () => this.options.store.listAddresses(this.options.network));
    if (!listed) return;
    for (const corrupt of listed.corrupt) this.log(`${corrupt.message}; left out`);
    const wanted = this.remoteMap(listed.entries);
    this.pending = new Map();
    for (const ipv4 of this.applied.keys()) if (!wanted.has(ipv4)) this.pending.set(ipv4, undefined);
    for (const [ipv4, entry] of wanted) if (!this.applied.has(ipv4) || !sameEntry(this.applied.get(ipv4)!, entry)) this.pending.set(ipv4, entry);
    await this.applyPending();
    this.watchFrom(listed.revision);
  }

  private async applyPending(): Promise<void> {
    if (this.pending.size === 0 || this.stopped) return;
    const batch = this.pending;
    this.pending = new Map();
    const add: AddressEntry[] = [];
    const remove: AddressEntry[] = [];
    for (const [ipv4, entry] of batch) {
      const old = this.applied.get(ipv4);
      if (old && (!entry || !sameEntry(old, entry))) remove.push(old);
      const tried = this.unsure.get(ipv4);
      if (tried && (!entry || !sameEntry(tried, entry)) && !(old && sameEntry(old, tried))) remove.push(tried);
      if (entry && !(old && sameEntry(old, entry))) add.push(entry);
    }
    if (add.length === 0 && remove.length === 0) return;
    try {
      await this.options.apply({ add, remove });
    } catch (error) {
      // Part of the batch may be in the kernel: its adds are removed if the store drops them; the batch is tried again (add replaces, remove of what is gone is fine).
      for (const entry of add) this.unsure.set(entry.ipv4, entry);
      for (const [ipv4, entry] of batch) if (!this.pending.has(ipv4)) this.pending.set(ipv4, entry);
      const wait = this.applyRetryMs;
      this.applyRetryMs = Math.min(wait * 2, MAX_RETRY_MS);
      this.log(`could not program ${add.length} entries and remove ${remove.length}: ${(error as Error).message}; trying again in ${wait} ms`);
      setTimeout(() => this.enqueue(() => this.applyPending()), wait).unref();
      return;
    }
    this.applyRetryMs = FIRST_RETRY_MS;
    for (const ipv4 of batch.keys()) this.unsure.delete(ipv4);
    for (const entry of remove) this.applied.delete(entry.ipv4);
    for (const entry of add) this.applied.set(entry.ipv4, entry);
  }

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((error) => this.log(`${(error as Error).message}`));
  }

  /** `work` until it succeeds, waiting longer each time the store does not answer; undefined once the agent stops. */
  private async retrying<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
    let wait = FIRST_RETRY_MS;
    for (;;) {
      if (this.stopped) return undefined;
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof NsnetError) || error.code !== 'STORE_UNAVAILABLE') throw error;
        this.log(`${what}: ${error.message}; trying again in ${wait} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }
}
