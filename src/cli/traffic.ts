/**
 * What `nsnet stats` shows of containers' counters: totals, rates over the
 * interval between two samples, as JSON entries and as table rows.
 */
import type { LinkStats } from '../rtnl/links';
import type { InterfaceCounters, TrafficSample, TrafficTarget } from '../network/traffic';
import { humanBytes, humanRate } from './units';

/** Bytes per second over the last interval; null without an earlier sample (of the same endpoint's interface, for an interface's). */
interface Rates {
  rxRate: number | null;
  txRate: number | null;
}

export interface InterfaceTraffic extends LinkStats, Rates {
  ifname: string;
  network: string;
}

export interface ContainerTraffic extends Rates {
  id: string;
  mode: TrafficTarget['mode'];
  /** The container whose namespace (and so whose interfaces and figures) this one shares. */
  joined?: string;
  networks: string[];
  /** The sums over its interfaces; null in host mode, which has none of its own. */
  rxBytes: number | null;
  txBytes: number | null;
  interfaces: InterfaceTraffic[];
}

/** Each target still there in `sample`, with rates since `previous`. */
export function containerTraffic(targets: readonly TrafficTarget[], sample: TrafficSample, previous?: TrafficSample): ContainerTraffic[] {
  const seconds = previous ? (sample.at - previous.at) / 1000 : 0;
  return targets.flatMap((target) => {
    const counters = sample.counters.get(target.id);
    if (!counters) return [];
    const earlier = previous?.counters.get(target.id);
    // By endpoint: the same name in a container made again between two samples is another interface.
    const before = new Map((earlier ?? []).map((c) => [c.endpoint, c.stats]));
    const interfaces = counters.map((c) => interfaceTraffic(c, before.get(c.endpoint), seconds));
    const counted = target.netns !== undefined;
    const rated = counted && earlier !== undefined;
    const entry: ContainerTraffic = {
      id: target.id,
      mode: target.mode,
      networks: interfaces.map((i) => i.network),
      rxBytes: counted ? sum(interfaces.map((i) => i.rxBytes)) : null,
      txBytes: counted ? sum(interfaces.map((i) => i.txBytes)) : null,
      rxRate: rated ? sumOrNull(interfaces.map((i) => i.rxRate)) : null,
      txRate: rated ? sumOrNull(interfaces.map((i) => i.txRate)) : null,
      interfaces,
    };
    if (target.joined) entry.joined = target.joined;
    return [entry];
  });
}

function interfaceTraffic(counters: InterfaceCounters, before: LinkStats | undefined, seconds: number): InterfaceTraffic {
  const { stats } = counters;
  // Counters that went back belong to another interface of that name (a container made anew).
  // Whole bytes per second: the interval's own length varies by more than a byte's worth.
  const rate = (now: number, then: number | undefined) =>
    then === undefined || seconds <= 0 || now < then ? null : Math.round((now - then) / seconds);
  return {
    ifname: counters.ifname,
    network: counters.network,
    ...stats,
    rxRate: rate(stats.rxBytes, before?.rxBytes),
    txRate: rate(stats.txBytes, before?.txBytes),
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const sumOrNull = (values: (number | null)[]) => (values.includes(null) ? null : sum(values as number[]));

export const TRAFFIC_HEADER = ['CONTAINER', 'NETWORK', 'NET I/O', 'RX RATE', 'TX RATE'];

/**
 * A row per container (NET I/O is received / sent, as Docker's), and under
 * one with several interfaces a row per interface.
 */
export function trafficRows(entries: readonly ContainerTraffic[]): string[][] {
  return entries.flatMap((entry) => {
    const io = entry.rxBytes === null || entry.txBytes === null ? '-' : `${humanBytes(entry.rxBytes)} / ${humanBytes(entry.txBytes)}`;
    const row = [entry.id, networkCell(entry), io, humanRate(entry.rxRate), humanRate(entry.txRate)];
    if (entry.interfaces.length < 2) return [row];
    const perInterface = entry.interfaces.map((i) => [
      `  ${i.ifname}`,
      i.network,
      `${humanBytes(i.rxBytes)} / ${humanBytes(i.txBytes)}`,
      humanRate(i.rxRate),
      humanRate(i.txRate),
    ]);
    return [row, ...perInterface];
  });
}

function networkCell(entry: ContainerTraffic): string {
  if (entry.joined) return `container:${entry.joined}`;
  if (entry.mode === 'host' || entry.mode === 'none') return entry.mode;
  return entry.networks.join(',') || '-';
}
