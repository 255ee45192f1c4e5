/**
 * The entries of a big JSON object (a lease or port table: one entry per
 * address or port), each kept with its JSON text, so that writing the object
 * again after one change joins the texts instead of stringifying every
 * entry. Values are replaced, never changed in place: the text of an entry
 * is made when it is set.
 */
export class JsonEntries<V> {
  private readonly values = new Map<string, V>();
  private readonly texts = new Map<string, string>();

  static of<V>(record: Readonly<Record<string, V>>): JsonEntries<V> {
    const entries = new JsonEntries<V>();
    for (const key of Object.keys(record)) entries.set(key, record[key] as V);
    return entries;
  }

  get size(): number {
    return this.values.size;
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  set(key: string, value: V): void {
    this.values.set(key, value);
    this.texts.set(key, `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }

  delete(key: string): boolean {
    this.texts.delete(key);
    return this.values.delete(key);
  }

  entries(): IterableIterator<[string, V]> {
    return this.values.entries();
  }

  /** The object as JSON text, `{"key":value,...}`. */
  json(): string {
    let body = '';
    for (const text of this.texts.values()) body = body ? `${body},${text}` : text;
    return `{${body}}`;
  }

  /** The object itself. */
  toRecord(): Record<string, V> {
    return Object.fromEntries(this.values);
  }
}
