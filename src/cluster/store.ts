/**
 * An overlay network's shared store (etcd): its definition, its VNI, the
 * hosts on it and every container's addresses. Changes that must not race
 * are etcd transactions; what a host writes is on its lease, so it goes
 * when the host does. Values read back are checked (STATE_CORRUPT naming
 * the key); a store that does not answer in time is STORE_UNAVAILABLE.
 */
import v = require('valibot');

import type { Watcher } from 'etcd3';

import { NsnetError } from '../errors';
import { type AddressEntry, AddressEntrySchema, type HostEntry, type OverlayDefinition, OverlayDefinitionSchema, type StoreConfig } from '../types/overlay';
import { IpText } from '../types/record-text';
import { Validator } from '../types/schema';
import { EtcdConnection } from './etcd-connection';
import type { Compare, KeyValue, RequestOp, ResponseOp } from './etcd-gateway';
import { prefixEnd, StoreKeys } from './keys';

/** How long a call may take when the caller gives no deadline. */
export const DEFAULT_STORE_TIMEOUT_MS = 1500;
/** The lowest VNI handed out when a network's definition names none. */
export const FIRST_AUTO_VNI = 4096;
const MAX_VNI = 0xffffff;
/** Transactions lost to a concurrent writer are tried again this many times. */
const RACE_RETRIES = 20;

export interface AddressChange {
  type: 'put' | 'delete';
  ipv4: string;
  /** The entry put; none for a delete. */
  entry?: AddressEntry;
}

/** A claim refused: the host holding the addresses, and which of them are held. */
export interface AddressesTaken {
  takenBy: string;
  taken: ('ipv4' | 'ipv6')[];
}

const definitionValidator = new Validator(OverlayDefinitionSchema);
const addressValidator = new Validator(AddressEntrySchema);

function corrupt(key: string, why: string): NsnetError {
  return new NsnetError('STATE_CORRUPT', `the store's ${key} ${why}; delete the key (etcdctl del ${key}) or put back a valid value`, { key, problem: why });
}

function parsed<S extends v.GenericSchema>(key: string, kv: KeyValue, validator: Validator<S>, kind: string): v.InferOutput<S> {
  let value: unknown;
  try {
    value = JSON.parse(kv.value.toString());
  } catch {
    throw corrupt(key, `is not JSON: ${JSON.stringify(kv.value.toString().slice(0, 80))}`);
  }
  const problem = validator.problem(value);
  if (problem) {
    throw corrupt(key, `is not a valid ${kind}: ${problem.path || 'it'} must be ${problem.expected}, got ${JSON.stringify(problem.value)}`);
  }
  return value as v.InferOutput<S>;
}

const bytes = (text: string) => Buffer.from(text);
const absent = (key: string): Compare => ({ key: bytes(key), target: 'CREATE', result: 'EQUAL', create_revision: 0 });
const unchanged = (kv: KeyValue): Compare => ({ key: kv.key, target: 'MOD', result: 'EQUAL', mod_revision: kv.mod_revision });
const get = (key: string): RequestOp => ({ request_range: { key: bytes(key) } });
const put = (key: string, value: string, lease?: string): RequestOp => ({ request_put: { key: bytes(key), value: bytes(value), ...(lease ? { lease } : {}) } });
const del = (key: string): RequestOp => ({ request_delete_range: { key: bytes(key) } });
const found = (response: ResponseOp | undefined): KeyValue | undefined => response?.response_range?.kvs[0];

export class ClusterStore {
  private readonly keys: StoreKeys;
  /** Renewals running: ended by close(). */
  private readonly keepers = new Set<{ stop(): void }>();

  private constructor(private readonly etcd: EtcdConnection) {
    this.keys = new StoreKeys(etcd.config.prefix);
  }

  /** A client of the store; nothing is asked of it before the first call. */
  static open(config: StoreConfig, options?: { timeoutMs?: number }): ClusterStore {
    return new ClusterStore(new EtcdConnection(config, options?.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS));
  }

  /** Ends the renewals keepAlive started (their leases then expire) and the connection. */
  async close(): Promise<void> {
    for (const keeper of [...this.keepers]) keeper.stop();
    this.etcd.close();
  }

  private range(what: string, key: string, options: { prefix?: boolean; keysOnly?: boolean } = {}) {
    return this.etcd.call(what, () =>
      this.etcd.kv.range({ key: bytes(key), ...(options.prefix ? { range_end: prefixEnd(key) } : {}), ...(options.keysOnly ? { keys_only: true } : {}) }),
    );
  }

  private txn(what: string, compare: Compare[], success: RequestOp[], failure: RequestOp[] = []) {
    return this.etcd.call(what, () => this.etcd.kv.txn({ compare, success, failure }));
  }

  async readDefinition(name: string): Promise<OverlayDefinition | undefined> {
    const key = this.keys.definition(name);
    const kv = (await this.range(`reading ${key}`, key)).kvs[0];
    return kv ? parsed(key, kv, definitionValidator, 'network definition') : undefined;
  }

  /**
   * The network's definition as stored: `wanted` when none was (stored now,
   * with its VNI claimed in the same transaction, the lowest free from 4096
   * when it names none), else the one another host stored, for the caller to
   * compare. A VNI another network holds is NETWORK_CONFLICT.
   */
  async defineNetwork(name: string, wanted: Omit<OverlayDefinition, 'vni'> & { vni?: number }): Promise<OverlayDefinition> {
    const definitionKey = this.keys.definition(name);
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const vni = wanted.vni ?? (await this.lowestFreeVni());
      const definition = { ...wanted, vni } as OverlayDefinition;
      const problem = definitionValidator.problem(definition);
      if (problem) throw new NsnetError('INVALID_ARGUMENT', `network ${name}'s definition is not valid: ${problem.path || 'it'} must be ${problem.expected}, got ${JSON.stringify(problem.value)}`, { network: name, problem });
      const vniKey = this.keys.vni(vni);
      const result = await this.txn(`defining network ${name}`, [absent(definitionKey), absent(vniKey)], [put(definitionKey, JSON.stringify(definition)), put(vniKey, name)], [get(definitionKey), get(vniKey)]);
      if (result.succeeded) return definition;
      const stored = found(result.responses[0]);
      if (stored) return parsed(definitionKey, stored, definitionValidator, 'network definition');
      const owner = found(result.responses[1])?.value.toString();
      if (wanted.vni !== undefined && owner !== undefined) {
        throw new NsnetError('NETWORK_CONFLICT', `VNI ${vni} is already the overlay network "${owner}"'s (${vniKey}); give another vni or none`, { vni, network: owner });
      }
      // The free VNI was taken (or given back) meanwhile: pick again.
    }
    throw this.etcd.unavailable(`kept changing while network ${name} was defined (${RACE_RETRIES} attempts)`);
  }

  private async lowestFreeVni(): Promise<number> {
    const prefix = this.keys.vnis();
    const used = new Set((await this.range('listing the VNIs', prefix, { prefix: true, keysOnly: true })).kvs.map((kv) => Number(kv.key.toString().slice(prefix.length))));
    for (let vni = FIRST_AUTO_VNI; vni <= MAX_VNI; vni++) if (!used.has(vni)) return vni;
    throw new NsnetError('NETWORK_CONFLICT', `every VNI from ${FIRST_AUTO_VNI} to ${MAX_VNI} is taken`);
  }

  /** Deletes the definition and its VNI when no host and no address of the network is left (one transaction); whether it did. */
  async removeDefinitionIfUnused(name: string): Promise<boolean> {
    const definitionKey = this.keys.definition(name);
    const kv = (await this.range(`reading ${definitionKey}`, definitionKey)).kvs[0];
    if (!kv) return false;
    const { vni } = parsed(definitionKey, kv, definitionValidator, 'network definition');
    const none = (prefix: string): Compare => ({ key: bytes(prefix), range_end: prefixEnd(prefix), target: 'CREATE', result: 'EQUAL', create_revision: 0 });
    const result = await this.txn(
      `removing network ${name}`,
      [unchanged(kv), none(this.keys.hosts(name)), none(this.keys.anyAddresses(name)), { key: bytes(this.keys.vni(vni)), target: 'VALUE', result: 'EQUAL', value: bytes(name) }],
      [del(definitionKey), del(this.keys.vni(vni))],
    );
    return result.succeeded;
  }

  /** A new lease of `ttlSeconds`; its id as decimal text. */
  async grantLease(ttlSeconds: number): Promise<string> {
    const granted = await this.etcd.call('granting a lease', () => this.etcd.client.leaseClient.leaseGrant({ TTL: ttlSeconds }));
    return granted.ID;
  }

  /** Gone already is fine: its keys are gone too. */
  async revokeLease(leaseId: string): Promise<void> {
    try {
      await this.etcd.call(`revoking lease ${leaseId}`, () => this.etcd.client.leaseClient.leaseRevoke({ ID: leaseId }));
    } catch (error) {
      if (!(error instanceof NsnetError && error.details?.leaseLost)) throw error;
    }
  }

  /** One keepalive; the lease's remaining TTL in seconds (0: the lease is gone). */
  private keepAliveOnce(leaseId: string): Promise<number> {
    return this.etcd.call(`renewing lease ${leaseId}`, async (call) => {
      const stream = await this.etcd.client.leaseClient.leaseKeepAlive(call);
      try {
        return await new Promise<number>((resolve, reject) => {
          stream.on('data', (response) => resolve(Number(response.TTL)));
          stream.on('error', reject);
          stream.on('end', () => reject(new Error('the keepalive stream ended')));
          stream.write({ ID: leaseId });
        });
      } finally {
        stream.end(); // not cancel(): a cancelled stream's error counts against the endpoint
      }
    });
  }

  /**
   * Renews the lease every third of its TTL (every second while the store
   * does not answer); `onLost` once when etcd says the lease is gone
   * (expired while the store was away, or revoked), and renewing stops.
   */
  keepAlive(leaseId: string, onLost: (why: NsnetError) => void): { stop(): void } {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      let next = 1000;
      try {
        const ttl = await this.keepAliveOnce(leaseId);
        if (stopped) return;
        if (ttl <= 0) {
          keeper.stop();
          onLost(new NsnetError('STORE_UNAVAILABLE', `the store (etcd at ${this.etcd.where}) no longer has lease ${leaseId}: it expired or was revoked`, { leaseId, leaseLost: true }));
          return;
        }
        next = Math.max(500, (ttl * 1000) / 3);
      } catch {
        // Unreachable for now: the lease may outlive it; try again soon.
      }
      if (!stopped) timer = setTimeout(tick, next);
    };
    void tick();
    const keeper = {
      stop: () => {
        stopped = true;
        clearTimeout(timer);
        this.keepers.delete(keeper);
      },
    };
    this.keepers.add(keeper);
    return keeper;
  }

  /** The host's key, on its lease. */
  async registerHost(name: string, host: HostEntry, leaseId: string): Promise<void> {
    const key = this.keys.host(name, host.underlay);
    await this.etcd.call(`writing ${key}`, () => this.etcd.kv.put({ key: bytes(key), value: bytes(JSON.stringify(host)), lease: leaseId }));
  }

  /**
   * The container's IPv4 address (and IPv6, in the same transaction), on the
   * lease, if neither is held; else the host that holds them.
   */
  claimAddresses(name: string, entry: AddressEntry, leaseId: string): Promise<'claimed' | AddressesTaken> {
    return this.claim(name, entry, leaseId, false);
  }

  /**
   * claimAddresses, or the same entry held by the same host (on an older
   * lease: the host restarted, or its lease expired) put on this lease.
   */
  reclaimAddresses(name: string, entry: AddressEntry, leaseId: string): Promise<'claimed' | AddressesTaken> {
    return this.claim(name, entry, leaseId, true);
  }

  private async claim(name: string, entry: AddressEntry, leaseId: string, again: boolean): Promise<'claimed' | AddressesTaken> {
    const key4 = this.keys.address(name, entry.ipv4);
    const key6 = entry.ipv6 === undefined ? undefined : this.keys.address6(name, entry.ipv6);
    const value = JSON.stringify(entry);
    const what = `claiming ${entry.ipv4}${entry.ipv6 ? ` and ${entry.ipv6}` : ''} on network ${name}`;
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const keys = key6 ? [key4, key6] : [key4];
      const result = await this.txn(
        what,
        keys.map(absent),
        [put(key4, value, leaseId), ...(key6 ? [put(key6, entry.ipv4, leaseId)] : [])],
        keys.map(get),
      );
      if (result.succeeded) return 'claimed';
      const held4 = found(result.responses[0]);
      const held6 = key6 ? found(result.responses[1]) : undefined;
      const holder = held4 ? parsed(key4, held4, addressValidator, 'address entry') : await this.holderOf6(name, key6!, held6);
      if (holder === undefined) continue; // released meanwhile
      const ours = holder.host === entry.host && holder.container === entry.container && holder.ipv4 === entry.ipv4 && holder.ipv6 === entry.ipv6;
      if (!again || !ours || !held4 || (key6 && !held6)) return { takenBy: holder.host, taken: [...(held4 ? ['ipv4' as const] : []), ...(held6 ? ['ipv6' as const] : [])] };
      const moved = await this.txn(what, [unchanged(held4), ...(held6 ? [unchanged(held6)] : [])], [put(key4, value, leaseId), ...(key6 ? [put(key6, entry.ipv4, leaseId)] : [])]);
      if (moved.succeeded) return 'claimed';
    }
    throw this.etcd.unavailable(`kept changing while ${what} (${RACE_RETRIES} attempts)`);
  }

  /** The entry of the IPv4 address an IPv6 key names; undefined when either is gone. */
  private async holderOf6(name: string, key6: string, held6: KeyValue | undefined): Promise<AddressEntry | undefined> {
    if (!held6) return undefined;
    const ipv4 = held6.value.toString();
    if (!v.is(IpText, ipv4)) throw corrupt(key6, `is not an address: ${JSON.stringify(held6.value.toString().slice(0, 80))}`);
    const key4 = this.keys.address(name, ipv4);
    const kv = (await this.range(`reading ${key4}`, key4)).kvs[0];
    // An IPv6 key whose IPv4 key is gone is held still (until its lease goes): by a host unknown.
    return kv ? parsed(key4, kv, addressValidator, 'address entry') : { ipv4, mac: '', host: 'an unknown host', container: '' };
  }

  /**
   * Deletes the addresses' keys if they are still `host`'s (and
   * `container`'s, when given); another's or gone is left alone. A full
   * entry, as claimed, is released in one transaction comparing the stored
   * value; otherwise, or when the stored value is written differently, the
   * keys are read and deleted unless changed since.
   */
  async releaseAddresses(name: string, entry: Pick<AddressEntry, 'ipv4' | 'ipv6' | 'host'> & Partial<Pick<AddressEntry, 'container' | 'mac'>>): Promise<void> {
    const key4 = this.keys.address(name, entry.ipv4);
    const key6 = entry.ipv6 === undefined ? undefined : this.keys.address6(name, entry.ipv6);
    const what = `releasing ${entry.ipv4} on network ${name}`;
    const keys = key6 ? [key4, key6] : [key4];
    const full = addressValidator.problem(entry) === undefined;
    if (full) {
      const valueIs = (key: string, value: string): Compare => ({ key: bytes(key), target: 'VALUE', result: 'EQUAL', value: bytes(value) });
      const compare = [valueIs(key4, JSON.stringify(entry)), ...(key6 ? [valueIs(key6, entry.ipv4)] : [])];
      const result = await this.txn(what, compare, keys.map(del), keys.map(get));
      if (result.succeeded || (await this.releaseRead(name, entry, result.responses, what))) return;
    }
    for (let attempt = 0; attempt < RACE_RETRIES; attempt++) {
      const read = await this.txn(what, [], keys.map(get));
      if (await this.releaseRead(name, entry, read.responses, what)) return;
    }
    throw this.etcd.unavailable(`kept changing while ${what} (${RACE_RETRIES} attempts)`);
  }

  /** Deletes the keys read (`responses`: the IPv4 key's, then the IPv6 key's) if still the entry's; whether that is settled (deleted, or not the entry's). */
  private async releaseRead(name: string, entry: Pick<AddressEntry, 'ipv4' | 'ipv6' | 'host'> & { container?: string }, responses: ResponseOp[], what: string): Promise<boolean> {
    const key4 = this.keys.address(name, entry.ipv4);
    const held4 = found(responses[0]);
    if (!held4) return true;
    const holder = parsed(key4, held4, addressValidator, 'address entry');
    if (holder.host !== entry.host || (entry.container !== undefined && holder.container !== entry.container)) return true;
    const held6 = entry.ipv6 === undefined ? undefined : found(responses[1]);
    const with6 = held6 && held6.value.toString() === entry.ipv4 ? held6 : undefined;
    const result = await this.txn(what, [unchanged(held4), ...(with6 ? [unchanged(with6)] : [])], [del(key4), ...(with6 ? [del(this.keys.address6(name, entry.ipv6!))] : [])]);
    return result.succeeded;
  }

  /**
   * Every address entry of the network, the lease each is held by (by IPv4
   * address), and the store's revision they were read at. A value that is
   * not a valid entry is left out and reported in `corrupt` (STATE_CORRUPT
   * naming its key): one bad key does not hide the others.
   */
  async listAddresses(name: string): Promise<{ entries: AddressEntry[]; leases: Map<string, string>; corrupt: NsnetError[]; revision: string }> {
    const prefix = this.keys.addresses(name);
    const result = await this.range(`listing ${prefix}`, prefix, { prefix: true });
    const entries: AddressEntry[] = [];
    const leases = new Map<string, string>();
    const corrupt: NsnetError[] = [];
    for (const kv of result.kvs) {
      try {
        const entry = parsed(kv.key.toString(), kv, addressValidator, 'address entry');
        entries.push(entry);
        leases.set(entry.ipv4, kv.lease);
      } catch (error) {
        corrupt.push(error as NsnetError);
      }
    }
    return { entries, leases, corrupt, revision: result.header.revision };
  }

  /**
   * Reports each change to the network's addresses made after `fromRevision`
   * (a listAddresses revision), in order. While the store is away `onError`
   * hears STORE_UNAVAILABLE and the watch resumes by itself where it left off;
   * when it cannot (the revision was compacted) `onError` hears an error with
   * `details.watchEnded`: list again and watch from there.
   */
  watchAddresses(
    name: string,
    fromRevision: string,
    on: (change: AddressChange) => void,
    onError: (error: NsnetError) => void,
  ): { close(): Promise<void> } {
    const prefix = this.keys.addresses(name);
    const watcher: Watcher = this.etcd.client
      .watch()
      .prefix(prefix)
      .startRevision(String(BigInt(fromRevision) + 1n))
      .watcher();
    const ipv4Of = (kv: KeyValue) => kv.key.toString().slice(prefix.length);
    watcher.on('put', (kv) => {
      const key = kv.key.toString();
      try {
        on({ type: 'put', ipv4: ipv4Of(kv), entry: parsed(key, kv, addressValidator, 'address entry') });
      } catch (error) {
        // A value that is not an entry (STATE_CORRUPT naming its key) is reported as what it is and skipped.
        onError(error instanceof NsnetError ? error : this.etcd.unavailable('sent a change that could not be read', error));
      }
    });
    watcher.on('delete', (kv) => on({ type: 'delete', ipv4: ipv4Of(kv) }));
    watcher.on('disconnected', (error) => onError(this.etcd.unavailable(`stopped answering the watch of ${prefix}`, error)));
    // A watch etcd cancels (its revision compacted, as a rule: etcd 3.4 gives no reason) does not come back by itself.
    watcher.on('error', (error) => {
      const reason = /canceled: \S/.test(error.message) ? `: ${error.message}` : ' (its revision was compacted)';
      onError(new NsnetError('STORE_UNAVAILABLE', `the store (etcd at ${this.etcd.where}) ended the watch of ${prefix}${reason}`, { endpoints: this.etcd.config.endpoints, watchEnded: true }, { cause: error }));
    });
    return {
      close: async () => {
        watcher.removeAllListeners();
        watcher.on('error', () => undefined);
        await this.etcd.call(`closing the watch of ${prefix}`, () => watcher.cancel()).catch(() => undefined);
      },
    };
  }
}
