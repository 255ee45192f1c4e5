/**
 * The state directory: small JSON records written atomically (write to a
 * temporary file, then rename), and one lock for every change. No fsync:
 * a record survives a crash of the process, and what a power loss may lose
 * is what reconcile() rebuilds or removes. Files are read and written on the
 * JS thread: on a local file system each takes microseconds, where a hand-off
 * to a worker thread and back takes a hundred (the methods stay async, so
 * that the store may move off the thread again without its callers changing).
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
 * failure further on. reconcile() mends such files (src/network/rebuild.ts)
 * with `unreadable` and `moveAside`.
 */
import { isAscii } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { asKernelError, kernelError, NsnetError, syncKernelCall } from '../errors';
import { faultPoint } from '../fault';
import { native } from '../native';
import { RECORD_KINDS, RECORD_VERSION, type RecordKind, recordValidator, type StoredRecords } from '../types/records';
import { shown } from '../types/schema';
import { withFileLock } from './lock';
import { processAlive } from './process-alive';
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
  private ready = false;
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
    this.init();
    return withFileLock(path.join(this.dir, 'lock'), fn);
  }

  /** A record, of the type of its kind (naming the type, as older callers do, is the same). */
  read<K extends RecordKind>(kind: K, name: string): Promise<StoredRecords[K] | undefined>;
  read<T extends StoredRecords[RecordKind]>(kind: RecordKind, name: string): Promise<T | undefined>;
  async read(kind: RecordKind, name: string): Promise<unknown> {
    const file = this.file(kind, name);
    const data = this.readBytes(file);
    return data ? this.parse(kind, file, data) : undefined;
  }

  /**
   * For a caller that keeps a big record in memory between uses (a lease or
   * port table): 'unchanged' while its file still holds `known` (the bytes
   * this process last read or wrote there), without parsing it again; else
   * the record, checked as read() checks it, and its bytes.
   */
  async readUnlessKnown<K extends RecordKind>(
    kind: K,
    name: string,
    known: Buffer | undefined,
  ): Promise<'unchanged' | { record: StoredRecords[K]; bytes: Buffer } | undefined> {
    const file = this.file(kind, name);
    const data = this.readBytes(file);
    if (!data) return undefined;
    if (known?.equals(data)) return 'unchanged';
    return { record: this.parse(kind, file, data) as StoredRecords[K], bytes: data };
  }

  /** Replaces a record atomically (a crash leaves the old or the new one). */
  async write<K extends RecordKind>(kind: K, name: string, value: StoredRecords[K]): Promise<void> {
    this.writeBytes(this.file(kind, name), serialise(value));
  }

  /**
   * write() of a record the caller turned into JSON itself (a big table,
   * written again from the text of its entries), from values its types
   * vouch for; `version` is added here. Returns the bytes written.
   */
  async writeJson(kind: RecordKind, name: string, json: string): Promise<Buffer> {
    const data = Buffer.from(`${json === '{}' ? '{' : `${json.slice(0, -1)},`}"version":${RECORD_VERSION}}\n`);
    this.writeBytes(this.file(kind, name), data);
    return data;
  }

  /** Writes a new record; false (and nothing changed) if it exists already. */
  async create<K extends RecordKind>(kind: K, name: string, value: StoredRecords[K]): Promise<boolean> {
    this.init();
    const file = this.file(kind, name);
    const data = serialise(value);
    faultPoint('state create', file);
    try {
      native().createFileSync(file, data);
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
    syncKernelCall(`state remove ${file}`, () => removeIfThere(file));
  }

  /** Every record of a kind. */
  list<K extends RecordKind>(kind: K): Promise<StoredRecords[K][]>;
  list<T extends StoredRecords[RecordKind]>(kind: RecordKind): Promise<T[]>;
  async list(kind: RecordKind): Promise<unknown[]> {
    // One native call reads the whole directory: a listing of 2,000 records spends more on calls, paths and buffers than on reads.
    this.init();
    const dir = path.join(this.dir, kind);
    const files = native().readJsonFilesSync(dir);
    if (!files) return this.listEach(kind); // to fail as a listing fails
    const prefix = `${dir}/`;
    // ASCII (as nsnet writes records) is decoded once, each record's text a slice of it: 2,000 texts of their own keep the collector busy.
    const ascii = isAscii(files.data) ? files.data.toString('latin1') : undefined;
    const records: unknown[] = [];
    let start = 0;
    for (let i = 0; i < files.names.length; i++) {
      const file = `${prefix}${files.names[i]}.json`;
      const end = files.ends[i];
      // Not read, or a name that is not UTF-8 (the file of the name as read is not there): read on its own, to fail or skip as a read does.
      const own = end < 0 || files.names[i].includes('\uFFFD');
      const data = own ? this.readBytes(file) : files.data.subarray(start, end);
      if (data) records.push(this.parse(kind, file, data, own ? undefined : ascii?.slice(start, end)));
      if (end >= 0) start = end;
    }
    return records;
  }

  /** list(), a file at a time. */
  private async listEach(kind: RecordKind): Promise<unknown[]> {
    const prefix = `${path.join(this.dir, kind)}/`;
    const records: unknown[] = [];
    for (const name of await this.names(kind)) {
      const file = `${prefix}${name}.json`;
      const data = this.readBytes(file);
      if (data) records.push(this.parse(kind, file, data));
    }
    return records;
  }

  /**
   * The records of a kind that cannot be read (STATE_CORRUPT), by name; not
   * those of another release's format, which are no one's to mend here.
   */
  async unreadable(kind: RecordKind): Promise<{ name: string; error: NsnetError }[]> {
    const found: { name: string; error: NsnetError }[] = [];
    for (const name of await this.names(kind)) {
      await this.read(kind, name).catch((error: unknown) => {
        if (!(error instanceof NsnetError) || error.code !== 'STATE_CORRUPT' || error.details?.format !== undefined) throw error;
        found.push({ name, error });
      });
    }
    return found;
  }

  /**
   * Renames a record's file to `<file>.corrupt-<time>`, which no listing
   * reads, kept for a person to look at; returns its new path.
   */
  async moveAside(kind: RecordKind, name: string): Promise<string> {
    const file = this.file(kind, name);
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/:/g, '-')}`;
    this.checkedBytes.delete(file);
    await asKernelError(`state move ${file}`, () => fs.promises.rename(file, aside));
    return aside;
  }

  /**
   * Removes the temporary files of writes that died half-way (by processes
   * that no longer run); returns their paths.
   */
  async removeLeftovers(): Promise<string[]> {
    this.init();
    const removed: string[] = [];
    for (const kind of RECORD_KINDS) {
      const dir = path.join(this.dir, kind);
      for (const name of await asKernelError(`state list ${dir}`, () => fs.promises.readdir(dir))) {
        const pid = LEFTOVER.exec(name)?.[1];
        if (pid === undefined || processAlive(Number(pid))) continue;
        await asKernelError(`state remove ${name}`, () => fs.promises.rm(path.join(dir, name), { force: true }));
        removed.push(path.join(dir, name));
      }
    }
    return removed;
  }

  private readBytes(file: string): Buffer | null {
    this.init();
    const data = syncKernelCall(`state read ${file}`, () => native().readFileSync(file));
    if (data === null) this.checkedBytes.delete(file);
    return data;
  }

  /** A record from its bytes (`text`: their text, when the caller has it). */
  private parse(kind: RecordKind, file: string, data: Buffer, text = data.toString('utf8')): unknown {
    let stored: unknown;
    try {
      stored = JSON.parse(text);
    } catch {
      throw corrupt(file, 'is not valid JSON');
    }
    const known = this.checkedBytes.get(file)?.equals(data) ?? false;
    const record = checked(kind, file, stored, known);
    if (!known) this.checkedBytes.set(file, data);
    return record;
  }

  private writeBytes(file: string, data: Buffer): void {
    this.init();
    this.checkedBytes.delete(file);
    faultPoint('state write', file);
    syncKernelCall(`state write ${file}`, () => native().replaceFileSync(file, data));
    this.checkedBytes.set(file, data);
  }

  /** The names of the records of a kind, without reading them. */
  async names(kind: RecordKind): Promise<string[]> {
    this.init();
    const dir = path.join(this.dir, kind);
    const files = syncKernelCall(`state list ${dir}`, () => fs.readdirSync(dir));
    return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
  }

  private file(kind: RecordKind, name: string): string {
    return path.join(this.dir, kind, `${name}.json`);
  }

  private init(): void {
    if (this.ready) return;
    try {
      for (const kind of RECORD_KINDS) fs.mkdirSync(path.join(this.dir, kind), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw kernelError(`state directory ${this.dir}`, error);
    }
    this.ready = true;
  }
}

/** Unlinks a record's file; gone already is fine (rmSync's force would first lstat it). */
function removeIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
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

/** The temporary file of a write (native/core/state_files.cc): `<record>.json.<pid>.<n>.tmp` or `.<pid>.new<n>`. */
const LEFTOVER = /\.json\.(\d+)\.(?:\d+\.tmp|new\d+)$/;

/** What to do about a file reconcile can mend: every command but reconcile refuses to go on with it. */
const MEND = 'run `nsnet reconcile` to rebuild it from the other records or move it aside';

function corrupt(file: string, why: string): NsnetError {
  return new NsnetError('STATE_CORRUPT', `${file} ${why}; ${MEND}`, { file, problem: why });
}

/** A stored record, checked against the schema of its kind (unless `known` good), without its `version`. */
function checked(kind: RecordKind, file: string, stored: unknown, known: boolean): unknown {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
    throw corrupt(file, 'is not a JSON object');
  }
  // Records written before records had a version are of version 1. The
  // object was just parsed, so it is ours to take the version out of.
  const record = stored as Record<string, unknown>;
  const version = record.version ?? RECORD_VERSION;
  delete record.version;
  if (!Number.isInteger(version)) throw corrupt(file, `is of record format ${shown(version)}, which is no format of nsnet's`);
  if (version !== RECORD_VERSION) {
    // Not for reconcile to mend: the release that wrote it reads it.
    throw new NsnetError(
      'STATE_CORRUPT',
      `${file} is of record format ${shown(version)}, written by another release of nsnet; this one reads format ${RECORD_VERSION}`,
      { file, format: version },
    );
  }
  const problem = known ? undefined : recordValidator(kind).problem(record);
  if (problem?.unknownKey) throw corrupt(file, `is not a valid ${kind} record: it has a key of the wrong kind, ${problem.path}`);
  if (problem) {
    throw corrupt(file, `is not a valid ${kind} record: ${problem.path || 'it'} must be ${problem.expected}, got ${shown(problem.value)}`);
  }
  return record;
}
