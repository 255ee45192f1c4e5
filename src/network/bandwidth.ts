/**
 * Bandwidth limits: rates and bursts as tc reads them, checked before
 * anything is made, and the token bucket (tbf) that enforces each, with
 * its parameters computed as the CNI bandwidth plugin computes them.
 */
import { NsnetError } from '../errors';
import type { TbfParameters } from '../rtnl/qdiscs';
import type { BandwidthLimit, BandwidthOptions, BandwidthRecord } from '../types/bandwidth';

/** The largest rate taken: 100 Tbit/s, beyond any interface there is. */
export const MAX_RATE = 100e12;
/** The kernel keeps a burst in 32 bits. */
const MAX_BURST = 0xffffffff;
/** How long a packet may wait in the bucket's queue; with the burst, the queue's length (the CNI plugin's 25 ms). */
export const LATENCY_MS = 25;
/** A burst not asked for: 10 ms at the rate, and never under 16 KiB (a few full-size packets). */
const DEFAULT_BURST_MS = 10;
const MIN_DEFAULT_BURST = 16 * 1024;
/** The kernel's scheduler tick: 64 ns (PSCHED_SHIFT 6). */
const NS_PER_TICK = 64;

/** tc's rate units (tc-rate: case does not matter), in bits per second. */
const RATE_UNITS: Record<string, number> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 2 ** 10,
  mibit: 2 ** 20,
  gibit: 2 ** 30,
  tibit: 2 ** 40,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 2 ** 10,
  mibps: 8 * 2 ** 20,
  gibps: 8 * 2 ** 30,
  tibps: 8 * 2 ** 40,
};

/** tc's size units (tc-size), in bytes: the k, m and g of a size are binary. */
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  kbit: 2 ** 10 / 8,
  mbit: 2 ** 20 / 8,
  gbit: 2 ** 30 / 8,
};

const AMOUNT = /^\s*((?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\s*$/i;

function bad(what: string, message: string): NsnetError {
  return new NsnetError('INVALID_BANDWIDTH', `${what} ${message}`, { option: what });
}

function amount(value: unknown, units: Record<string, number>, what: string, kind: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw bad(what, `must be a finite number of ${kind}: ${value}`);
    return value;
  }
  const match = typeof value === 'string' ? AMOUNT.exec(value) : null;
  const scale = match ? units[(match[2] as string).toLowerCase()] : undefined;
  if (!match || scale === undefined) throw bad(what, `is not a ${kind === 'bits per second' ? 'rate' : 'size'} as tc writes one (${kind === 'bits per second' ? "'10mbit', '1.5gbit', '500kbit'" : "'32kb', '1mb', 65536"}): ${JSON.stringify(value)}`);
  return Number(match[1]) * scale;
}

/** A rate, in bits per second: a number, or tc's text ('10mbit', '1.5gbit', '500kbit', '2mbps'). */
export function parseRate(value: unknown, what = 'rate'): number {
  const bits = Math.round(amount(value, RATE_UNITS, what, 'bits per second'));
  // The kernel counts bytes per second: less than 8 bit/s is no rate.
  if (!(bits >= 8)) throw bad(what, `must be at least 8 bit/s (one byte per second): ${JSON.stringify(value)}`);
  if (bits > MAX_RATE) throw bad(what, `must be at most 100tbit: ${JSON.stringify(value)}`);
  return bits;
}

/** A size, in bytes: a number, or tc's text ('32kb', '1mb', '64k'). */
export function parseSize(value: unknown, what = 'burst'): number {
  const bytes = Math.round(amount(value, SIZE_UNITS, what, 'bytes'));
  if (!(bytes >= 1)) throw bad(what, `must be at least one byte: ${JSON.stringify(value)}`);
  if (bytes > MAX_BURST) throw bad(what, `must be under 4 GiB: ${JSON.stringify(value)}`);
  return bytes;
}

/** A rate as tc writes one, in its largest SI unit that keeps it whole ('10mbit', '1500kbit'). */
export function formatRate(bits: number): string {
  for (const [unit, scale] of [['tbit', 1e12], ['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) {
    if (bits >= scale && bits % scale === 0) return `${bits / scale}${unit}`;
  }
  return `${bits}bit`;
}

/** The burst a limit gets when none is asked for; with `mtu`, a packet of that MTU fits too. */
export function defaultBurst(rate: number, mtu = 0): number {
  return Math.min(MAX_BURST, Math.max(MIN_DEFAULT_BURST, packetSize(mtu), Math.ceil(((rate / 8) * DEFAULT_BURST_MS) / 1000)));
}

/** A packet of the MTU with its Ethernet header. */
const packetSize = (mtu: number) => mtu + 14;

/** Limits as asked for: a burst only where one was given (the default needs the network's MTU). */
export type AskedLimits = { [direction in 'ingress' | 'egress']?: { rate: number; burst?: number } };

function checkLimit(limit: { rate?: unknown; burst?: unknown }, what: string): { rate: number; burst?: number } {
  if (limit.rate === undefined) throw bad(`${what}.rate`, limit.burst === undefined ? 'is missing' : 'is missing: a burst needs a rate');
  const rate = parseRate(limit.rate, `${what}.rate`);
  return limit.burst === undefined ? { rate } : { rate, burst: parseSize(limit.burst, `${what}.burst`) };
}

/** The limits asked for, checked (INVALID_BANDWIDTH), without the device they will need; undefined for none. */
export function checkBandwidth(options: BandwidthOptions | undefined): AskedLimits | undefined {
  if (!options) return undefined;
  const limits: AskedLimits = {};
  if (options.ingress) limits.ingress = checkLimit(options.ingress, 'bandwidth.ingress');
  if (options.egress) limits.egress = checkLimit(options.egress, 'bandwidth.egress');
  return limits.ingress || limits.egress ? limits : undefined;
}

/**
 * The limits on a network of MTU `mtu`: a burst not asked for is the
 * default, and one asked for must hold a whole packet of the MTU and its
 * Ethernet header, or the bucket never lets one of that size through.
 */
export function limitsFor(asked: AskedLimits | undefined, mtu: number): Omit<BandwidthRecord, 'ifb'> | undefined {
  if (!asked) return undefined;
  const limits: Omit<BandwidthRecord, 'ifb'> = {};
  for (const direction of ['ingress', 'egress'] as const) {
    const limit = asked[direction];
    if (!limit) continue;
    const { rate, burst } = limit;
    if (burst !== undefined && burst < packetSize(mtu)) throw bad(`bandwidth.${direction}.burst`, `of ${burst} bytes cannot hold a packet of the network's MTU (${mtu} + 14 bytes)`);
    limits[direction] = { rate, burst: burst ?? defaultBurst(rate, mtu) } satisfies BandwidthLimit;
  }
  return limits;
}

/**
 * The tbf of a limit: rate in bytes per second (the kernel computes its own
 * rate table from it), the burst, a queue of LATENCY_MS at the rate beside
 * it, and the burst's time at the rate in ticks (the kernel takes the burst
 * in bytes, TCA_TBF_BURST; the ticks are what tc fills in beside it).
 */
export function tbfParameters(limit: BandwidthLimit): TbfParameters {
  const rate = Math.floor(limit.rate / 8);
  const queue = Math.floor((rate * LATENCY_MS) / 1000);
  const buffer = Math.floor((limit.burst * 1e9) / rate / NS_PER_TICK);
  return { rate, burst: limit.burst, limit: Math.min(MAX_BURST, queue + limit.burst), buffer: Math.min(MAX_BURST, buffer) };
}
