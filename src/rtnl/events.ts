/**
 * Kernel notifications of one namespace, `ns.events()`: links, addresses,
 * routes and neighbour entries made, changed and removed, as an async
 * iterator of entries shaped as their list() gives them.
 */
import { invalid, kernelError } from '../errors';
import { native, type NativeEvent, type NetlinkEventsHandle } from '../native';
import { type Address, toAddress } from './addresses';
import { type Link, type Links, toLink } from './links';
import { type Neighbour, toNeighbour } from './neighbours';
import { type RouteEntry, toRouteEntry } from './routes';

export type EventAction = 'new' | 'del';

/**
 * One change. A route's own `type` (unicast, local, ...) is `routeType`
 * here, as `type` names the kind of event.
 */
export type RtnlEvent =
  | ({ type: 'link'; action: EventAction } & Link)
  | ({ type: 'address'; action: EventAction } & Address)
  | ({ type: 'route'; action: EventAction; routeType: string } & Omit<RouteEntry, 'type'>)
  | ({ type: 'neighbour'; action: EventAction } & Neighbour)
  /** The kernel dropped notifications (the reader fell behind): list again what matters. */
  | { type: 'overrun' };

/** The kinds of change to report; all four when none is named. */
export interface EventKinds {
  links?: boolean;
  addresses?: boolean;
  routes?: boolean;
  neighbours?: boolean;
}

const KINDS = ['links', 'addresses', 'routes', 'neighbours'] as const;

/** What an event stream needs of its namespace. */
export interface EventSource {
  readonly label: string;
  readonly links: Links;
  /** The namespace's descriptor for opening a socket inside it (-1: this process's). */
  eventSocketFd(): number;
}

function groupsOf(kinds: Required<EventKinds>): number[] {
  const groups = native().RTNLGRP;
  // Links always: they name the devices of the other kinds' entries.
  const joined = [groups.link];
  if (kinds.addresses) joined.push(groups.ipv4Address, groups.ipv6Address);
  if (kinds.routes) joined.push(groups.ipv4Route, groups.ipv6Route);
  if (kinds.neighbours) joined.push(groups.neighbour);
  return joined;
}

function checkKinds(options: unknown): Required<EventKinds> {
  if (options === undefined) return { links: true, addresses: true, routes: true, neighbours: true };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalid('events options must be an object');
  const given = options as Record<string, unknown>;
  const unknown = Object.keys(given).filter((key) => !(KINDS as readonly string[]).includes(key));
  if (unknown.length) throw invalid(`events options know ${KINDS.join(', ')}, not ${unknown.join(', ')}`);
  for (const key of KINDS) {
    if (given[key] !== undefined && typeof given[key] !== 'boolean') throw invalid(`events option ${key} must be a boolean`);
  }
  const named = KINDS.some((key) => given[key] !== undefined);
  const kinds = Object.fromEntries(KINDS.map((key) => [key, named ? given[key] === true : true])) as Required<EventKinds>;
  if (!KINDS.some((key) => kinds[key])) throw invalid('events options ask for no kind of event');
  return kinds;
}

/**
 * The stream: a socket of the namespace, opened inside it, that has joined
 * the groups asked for. Notifications wait in native memory (a bounded
 * queue, see native/addon/netlink_events.h) until next() takes them; a loss
 * is reported as one `overrun` event, and the stream goes on. While no
 * next() waits, the stream does not keep the process alive.
 */
export class RtnlEventStream implements AsyncIterableIterator<RtnlEvent> {
  /** Settles once the socket is open and listening: changes from then on are reported. */
  readonly opened: Promise<void>;
  private handle?: NetlinkEventsHandle;
  private readonly kinds: Required<EventKinds>;
  private names = new Map<number, string>();
  /** Set by a loss: renames may have gone unseen, so the names are read again. */
  private namesStale = false;
  private queue: RtnlEvent[] = [];
  private closed = false;
  /** Calls of next() that wait for events run one after the other. */
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly source: EventSource,
    options: EventKinds | undefined,
    private readonly onClose: (stream: RtnlEventStream) => void,
  ) {
    this.kinds = checkKinds(options);
    this.opened = this.open(source.eventSocketFd());
    this.opened.catch(() => this.close()); // reported by whoever awaits it, and by next()
  }

  private async open(netnsFd: number): Promise<void> {
    const op = `events open in ${this.source.label}`;
    const handle = await native()
      .openEvents(netnsFd, groupsOf(this.kinds))
      .catch((error: unknown) => {
        throw kernelError(op, error);
      });
    if (this.closed) {
      handle.close();
      return;
    }
    this.handle = handle;
    // Listened to first, listed second: a change in between is in both, never in neither.
    await this.readNames();
  }

  private async readNames(): Promise<void> {
    const links = await this.source.links.list();
    this.names = new Map(links.map((link) => [link.index, link.name]));
    this.namesStale = false;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RtnlEvent, undefined>> {
    // An event already parsed, and no earlier call still waiting: at once.
    if (this.waiting === 0 && this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as RtnlEvent, done: false });
    this.waiting += 1;
    const result = this.tail.then(() => this.take()).finally(() => (this.waiting -= 1));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Ends the iteration (as `break` out of for-await does) and closes the socket. */
  async return(): Promise<IteratorResult<RtnlEvent, undefined>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** Closes the socket; a waiting next() ends the iteration. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.handle?.close();
    this.onClose(this);
  }

  private async take(): Promise<IteratorResult<RtnlEvent, undefined>> {
    await this.opened;
    for (;;) {
      const event = this.queue.shift();
      if (event) return { value: event, done: false };
      if (this.closed || !this.handle) return { value: undefined, done: true };
      const batch = await this.handle.next();
      if (!batch) return { value: undefined, done: true };
      if (this.namesStale) await this.readNames();
      const parsed = this.parse(batch.messages);
      await this.nameUnknownLinks(parsed);
      for (const raw of parsed) {
        const event = this.toEvent(raw);
        if (event) this.queue.push(event);
      }
      if (batch.overrun) {
        this.queue.push({ type: 'overrun' });
        this.namesStale = true;
      }
    }
  }

  private parse(messages: Buffer): NativeEvent[] {
    try {
      return native().parseEvents(messages);
    } catch (error) {
      throw kernelError(`events in ${this.source.label}`, error);
    }
  }

  /**
   * Names the links that entries of a batch refer to before their own
   * notification (a new bridge's FDB entry comes before the bridge): from
   * the batch, else from the kernel (a link gone since stays a number).
   */
  private async nameUnknownLinks(parsed: NativeEvent[]): Promise<void> {
    const unknown = new Set<number>();
    for (const raw of parsed) {
      const indexes = raw.type === 'address' ? [raw.entry.index] : raw.type === 'route' ? [raw.entry.oif] : raw.type === 'neighbour' ? [raw.entry.index, raw.entry.master ?? 0] : [];
      for (const index of indexes) if (index && !this.names.has(index)) unknown.add(index);
    }
    if (unknown.size === 0) return;
    for (const raw of parsed) {
      if (raw.type === 'link' && raw.action === 'new' && unknown.delete(raw.entry.index)) this.names.set(raw.entry.index, raw.entry.name);
    }
    const found = await Promise.all([...unknown].map((index) => this.source.links.get(index).catch(() => undefined)));
    for (const link of found) if (link && !this.names.has(link.index)) this.names.set(link.index, link.name);
  }

  private toEvent(raw: NativeEvent): RtnlEvent | undefined {
    const { action } = raw;
    switch (raw.type) {
      case 'link': {
        const link = toLink(raw.entry);
        // A deletion's own entries (addresses, routes) come before it: they are named still.
        if (action === 'new') this.names.set(link.index, link.name);
        else this.names.delete(link.index);
        return this.kinds.links ? { type: 'link', action, ...link } : undefined;
      }
      case 'address':
        return { type: 'address', action, ...toAddress(raw.entry, this.names) };
      case 'route': {
        const { type: routeType, ...route } = toRouteEntry(raw.entry, this.names);
        return { type: 'route', action, routeType, ...route };
      }
      case 'neighbour':
        return { type: 'neighbour', action, ...toNeighbour(raw.entry, this.names) };
      default:
        return undefined;
    }
  }
}
