/**
 * Big records (the lease and port tables, an entry per address or port) held
 * in memory between uses, each with the bytes of its file as this process
 * last read or wrote them. A use reads the file and compares: while it still
 * holds those bytes, the copy in memory is the record, and neither
 * JSON.parse nor the schema check runs again; a file changed by anyone else
 * (another process, reconcile, a person) is read afresh. Only the bytes in
 * the file decide, never a file's inode or time, which a file system may
 * reuse or not advance between two writes. Used under the state lock.
 */
import type { RecordKind, StoredRecords } from '../types/records';
import type { StateStore } from './store';

interface Held<T> {
  bytes: Buffer;
  value: T;
}

export class HeldRecords<K extends RecordKind, T> {
  private readonly held = new WeakMap<StateStore, Map<string, Held<T>>>();

  constructor(
    private readonly kind: K,
    /** The value in memory of a record as read; it may be changed by the caller. */
    private readonly fromRecord: (record: StoredRecords[K]) => T,
    /** The record's JSON text, without `version`. */
    private readonly toJson: (value: T) => string,
  ) {}

  /**
   * The record, to change: the copy in memory is no longer held until
   * save() (a change given up half-way must not stay in memory as the
   * file's). Undefined when there is none.
   */
  async take(store: StateStore, name: string): Promise<T | undefined> {
    const copies = this.copies(store);
    const held = copies.get(name);
    copies.delete(name);
    const found = await store.readUnlessKnown(this.kind, name, held?.bytes);
    if (found === 'unchanged') return (held as Held<T>).value;
    return found && this.fromRecord(found.record);
  }

  /** The record, to read only: the copy in memory stays held. */
  async peek(store: StateStore, name: string): Promise<T | undefined> {
    const copies = this.copies(store);
    const held = copies.get(name);
    const found = await store.readUnlessKnown(this.kind, name, held?.bytes);
    if (found === 'unchanged') return (held as Held<T>).value;
    copies.delete(name);
    if (!found) return undefined;
    const value = this.fromRecord(found.record);
    copies.set(name, { bytes: found.bytes, value });
    return value;
  }

  /** Writes the record; its value is held as the file's. */
  async save(store: StateStore, name: string, value: T): Promise<void> {
    const copies = this.copies(store);
    copies.delete(name);
    const bytes = await store.writeJson(this.kind, name, this.toJson(value));
    copies.set(name, { bytes, value });
  }

  async remove(store: StateStore, name: string): Promise<void> {
    this.copies(store).delete(name);
    await store.remove(this.kind, name);
  }

  private copies(store: StateStore): Map<string, Held<T>> {
    let copies = this.held.get(store);
    if (!copies) this.held.set(store, (copies = new Map()));
    return copies;
  }
}
