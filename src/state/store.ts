/**
 * The state directory: small JSON records written atomically (write to a
 * temporary file, then rename), and one lock for every change. No fsync:
 * a record survives a crash of the process, and what a power loss may lose
 * is what reconcile() rebuilds or removes.
 *
 *   <stateDir>/networks/<name>.json     network definitions
 *   <stateDir>/leases/<network>.json    address leases of a network
 *   <stateDir>/endpoints/<id>.json      endpoints
 *   <stateDir>/containers/<id>.json     containers (setupContainer)
 *   <stateDir>/ports/<protocol>.json    who publishes each host port
 *   <stateDir>/attachments/<id>.json    CNI attachments (network, container, interface)
 *
 * Each record carries the `version` of its format, written here; reading
 * one checks it against the schema of its kind (src/types/records.ts), so
 * that a record of the wrong shape is STATE_CORRUPT naming its file, never a
 * failure further on.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { asKernelError, kernelError, NsnetError } from '../errors';
import { faultPoint } from '../fault';
import { native } from '../native';
import { RECORD_KINDS, RECORD_VERSION, type RecordKind, recordValidator, type StoredRecords } from '../types/records';
import { shown } from '../types/schema';
import { withFileLock } from './lock';
const DEFAULT_STATE_DIR = '/var/lib/nsnet';

/** `NSNET_STATE_DIR`, else /var/lib/nsnet. */
export function stateDir(): string {
  return process.env.NSNET_STATE_DIR || DEFAULT_STATE_DIR;
}

const stores = new Map<string, StateStore>();

/** The store of the current state directory (one instance per directory). */
export function currentStore(): StateStore {
  const dir = stateDir();
  let store = stores.get(dir);
  if (!store) stores.set(dir, (store = new StateStore(dir)));
  return store;
}

export class StateStore {
  private ready?: Promise<void>;
  /**
   * The bytes of each file as this process last wrote it (from records its
   * types vouch for) or read and checked it: a file that still holds them
   * needs no check, as only a change from outside could make it corrupt.
   * Lease and port tables grow with every endpoint and are read by every
   * connect.
   */
  private readonly checkedBytes = new Map<string, Buffer>();

  constructor(readonly dir = stateDir()) {}

  /** Runs `fn` holding the state lock (across processes). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.init();
    return withFileLock(path.join(this.dir, 'lock'), fn);
  }

  /** A record, of the type of its kind (naming the type, as older callers do, is the same). */
  read<K extends RecordKind>(kind: K, name: string): Promise<StoredRecords[K] | undefined>;
  read<T extends StoredRecords[RecordKind]>(kind: RecordKind, name: string): Promise<T | undefined>;
  async read(kind: RecordKind, name: string): Promise<unknown> {
    await this.init();
    const file = this.file(kind, name);
    const data = await asKernelError(`state read ${file}`, () => native().readFile(file));
    if (data === null) {
      this.checkedBytes.delete(file);
      return undefined;
    }
    let stored: unknown;
    try {
      stored = JSON.parse(data.toString('utf8'));
    } catch {
      throw corrupt(file, 'is not valid JSON; move it away and run reconcile');
    }
    const known = this.checkedBytes.get(file)?.equals(data) ?? false;
    const record = checked(kind, file, stored, known);
    if (!known) this.checkedBytes.set(file, data);
    return record;
  }

  /** Replaces a record atomically (a crash leaves the old or the new one). */
  async write<K extends RecordKind>(kind: K, name: string, value: StoredRecords[K]): Promise<void> {
    await this.init();
    const file = this.file(kind, name);
    const data = serialise(value);
    this.checkedBytes.delete(file);
    faultPoint('state write', file);
    await asKernelError(`state write ${file}`, () => native().replaceFile(file, data));
    this.checkedBytes.set(file, data);
  }

  /** Writes a new record; false (and nothing changed) if it exists already. */
  async create<K extends RecordKind>(kind: K, name: string, value: StoredRecords[K]): Promise<boolean> {
    await this.init();
    const file = this.file(kind, name);
    const data = serialise(value);
    faultPoint('state create', file);
    try {
      await native().createFile(file, data);
      this.checkedBytes.set(file, data);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw kernelError(`state create ${file}`, error);
    }
  }

  async remove(kind: RecordKind, name: string): Promise<void> {
    const file = this.file(kind, name);
    this.checkedBytes.delete(file);
    faultPoint('state remove', file);
    await asKernelError(`state remove ${file}`, () => fs.rm(file, { force: true }));
  }

  /** Every record of a kind. */
  list<K extends RecordKind>(kind: K): Promise<StoredRecords[K][]>;
  list<T extends StoredRecords[RecordKind]>(kind: RecordKind): Promise<T[]>;
  async list(kind: RecordKind): Promise<unknown[]> {
    await this.init();
    const dir = path.join(this.dir, kind);
    const names = (await asKernelError(`state list ${dir}`, () => fs.readdir(dir))).filter((f) => f.endsWith('.json'));
    const records = await Promise.all(names.map((f) => this.read(kind, f.slice(0, -'.json'.length))));
    return records.filter((record) => record !== undefined);
  }

  private file(kind: RecordKind, name: string): string {
    return path.join(this.dir, kind, `${name}.json`);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      try {
        for (const kind of RECORD_KINDS) await fs.mkdir(path.join(this.dir, kind), { recursive: true, mode: 0o700 });
      } catch (error) {
        this.ready = undefined;
        throw kernelError(`state directory ${this.dir}`, error);
      }
    })();
    return this.ready;
  }
}

/**
 * A record as its file holds it, with `version` last. Spliced into the text
 * rather than spread into a copy: a lease or port table holds an entry per
 * address or port, and copying it costs more than writing it. Last, because
 * taking out the property parsed last leaves the object a fast one (taking
 * out the first makes every later use of a small record slower).
 */
function serialise(record: object): Buffer {
  const json = JSON.stringify(record, null, 2);
  const body = json === '{}' ? '{' : `${json.slice(0, -2)},`;
  return Buffer.from(`${body}\n  "version": ${RECORD_VERSION}\n}\n`);
}

function corrupt(file: string, why: string): NsnetError {
  return new NsnetError('STATE_CORRUPT', `${file} ${why}`, { file });
}

/** A stored record, checked against the schema of its kind (unless `known` good), without its `version`. */
function checked(kind: RecordKind, file: string, stored: unknown, known: boolean): unknown {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw corrupt(file, 'is not a JSON object; move it away and run reconcile');
  }
  // Records written before records had a version are of version 1. The
  // object was just parsed, so it is ours to take the version out of.
  const record = stored as Record<string, unknown>;
  const version = record.version ?? RECORD_VERSION;
  delete record.version;
  if (version !== RECORD_VERSION) {
    throw corrupt(file, `is of record format ${shown(version)}, written by another release of nsnet; this one reads format ${RECORD_VERSION}`);
  }
  const problem = known ? undefined : recordValidator(kind).problem(record);
  if (problem) {
    throw corrupt(file, `is not a valid ${kind} record: ${problem.path || 'it'} must be ${problem.expected}, got ${shown(problem.value)}; move it away and run reconcile`);
  }
  return record;
}
