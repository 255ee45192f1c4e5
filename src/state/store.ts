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
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { asKernelError, kernelError, NsnetError } from '../errors';
import { native } from '../native';
import { withFileLock } from './lock';

export type RecordKind = 'networks' | 'leases' | 'endpoints' | 'containers' | 'ports' | 'attachments';
const KINDS: RecordKind[] = ['networks', 'leases', 'endpoints', 'containers', 'ports', 'attachments'];
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

  constructor(readonly dir = stateDir()) {}

  /** Runs `fn` holding the state lock (across processes). */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.init();
    return withFileLock(path.join(this.dir, 'lock'), fn);
  }

  async read<T>(kind: RecordKind, name: string): Promise<T | undefined> {
    await this.init();
    const file = this.file(kind, name);
    const data = await asKernelError(`state read ${file}`, () => native().readFile(file));
    if (data === null) return undefined;
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch {
      throw new NsnetError('STATE_CORRUPT', `${file} is not valid JSON; move it away and run reconcile`);
    }
  }

  /** Replaces a record atomically (a crash leaves the old or the new one). */
  async write(kind: RecordKind, name: string, value: unknown): Promise<void> {
    await this.init();
    const file = this.file(kind, name);
    const data = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
    await asKernelError(`state write ${file}`, () => native().replaceFile(file, data));
  }

  /** Writes a new record; false (and nothing changed) if it exists already. */
  async create(kind: RecordKind, name: string, value: unknown): Promise<boolean> {
    await this.init();
    const file = this.file(kind, name);
    const data = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
    try {
      await native().createFile(file, data);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw kernelError(`state create ${file}`, error);
    }
  }

  async remove(kind: RecordKind, name: string): Promise<void> {
    const file = this.file(kind, name);
    await asKernelError(`state remove ${file}`, () => fs.rm(file, { force: true }));
  }

  async list<T>(kind: RecordKind): Promise<T[]> {
    await this.init();
    const dir = path.join(this.dir, kind);
    const names = (await asKernelError(`state list ${dir}`, () => fs.readdir(dir))).filter((f) => f.endsWith('.json'));
    const records = await Promise.all(names.map((f) => this.read<T>(kind, f.slice(0, -'.json'.length))));
    return records.filter((record): record is Awaited<T> => record !== undefined) as T[];
  }

  private file(kind: RecordKind, name: string): string {
    return path.join(this.dir, kind, `${name}.json`);
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      try {
        for (const kind of KINDS) await fs.mkdir(path.join(this.dir, kind), { recursive: true, mode: 0o700 });
      } catch (error) {
        this.ready = undefined;
        throw kernelError(`state directory ${this.dir}`, error);
      }
    })();
    return this.ready;
  }
}
