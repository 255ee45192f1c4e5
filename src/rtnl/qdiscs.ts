/**
 * Traffic control of one namespace, as far as bandwidth limits need it: a
 * token bucket (tbf) as a device's root qdisc, the ingress qdisc with a
 * filter redirecting everything to another device, and reading back the
 * qdiscs and ingress filters there are. Devices are known by index: the
 * kernel's traffic-control messages name no device by name.
 */
import type { ChainedRequest } from '../kernel/rtnl-connection';
import { native } from '../native';
import type { RtnlContext } from './context';

/** TC_H_ROOT and TC_H_INGRESS: where a qdisc hangs. */
export const ROOT_PARENT = 0xffffffff;
export const INGRESS_PARENT = 0xfffffff1;

/** A tbf's parameters as the kernel takes them (see tbfParameters()). */
export interface TbfParameters {
  /** Bytes per second. */
  rate: number;
  /** Bytes the bucket holds. */
  burst: number;
  /** Bytes that may wait in the queue. */
  limit: number;
  /** The burst's time at the rate, in scheduler ticks (64 ns). */
  buffer: number;
}

/** A qdisc as the kernel reports it; `rate` (bytes per second) and `burst`-derived `buffer` for a tbf. */
export interface Qdisc {
  index: number;
  kind: string;
  handle: number;
  parent: number;
  tbf?: { rate: number; limit: number; buffer: number };
}

export interface Filter {
  kind: string;
  parent: number;
  /** The device a mirred action redirects to, if the filter has one. */
  redirect?: number;
}

const RTM_NEWQDISC = 36;
const RTM_NEWTFILTER = 44;
const TCMSG_LENGTH = 20;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
const TCA_U32_ACT = 7;
const TCA_ACT_KIND = 1;
const TCA_ACT_OPTIONS = 2;
const TCA_MIRRED_PARMS = 2;
/** Offsets in tc_tbf_qopt: rate.rate (in tc_ratespec), limit, buffer; in tc_mirred: ifindex. */
const TBF_RATE = 8;
const TBF_LIMIT = 24;
const TBF_BUFFER = 28;
const MIRRED_IFINDEX = 24;

const attributes = (data: Buffer) => native().parseAttributes(data);
const text = (data: Buffer) => data.toString('latin1').replace(/\0.*$/s, '');

function find(list: { type: number; data: Buffer }[], type: number): Buffer | undefined {
  return list.filter((attribute) => attribute.type === type).pop()?.data;
}

/** The header and attributes of each message of `type` in `replies`. */
function messagesOf(replies: Buffer, type: number): { header: Buffer; attrs: { type: number; data: Buffer }[] }[] {
  return native()
    .parseMessages(replies)
    .filter((message) => message.type === type && message.payload.length >= TCMSG_LENGTH)
    .map((message) => ({ header: message.payload.subarray(0, TCMSG_LENGTH), attrs: attributes(message.payload.subarray(TCMSG_LENGTH)) }));
}

function tbfOf(options: Buffer | undefined): Qdisc['tbf'] {
  const parms = options && find(attributes(options), TCA_TBF_PARMS);
  if (!options || !parms || parms.length < TBF_BUFFER + 4) return undefined;
  const rate64 = find(attributes(options), TCA_TBF_RATE64);
  const rate = rate64 && rate64.length >= 8 ? Number(rate64.readBigUInt64LE(0)) : parms.readUInt32LE(TBF_RATE);
  return { rate, limit: parms.readUInt32LE(TBF_LIMIT), buffer: parms.readUInt32LE(TBF_BUFFER) };
}

function redirectOf(options: Buffer | undefined): number | undefined {
  const actions = options && find(attributes(options), TCA_U32_ACT);
  for (const action of actions ? attributes(actions) : []) {
    const parts = attributes(action.data);
    const kind = find(parts, TCA_ACT_KIND);
    const actionOptions = find(parts, TCA_ACT_OPTIONS);
    const parms = kind && text(kind) === 'mirred' && actionOptions && find(attributes(actionOptions), TCA_MIRRED_PARMS);
    if (parms && parms.length >= MIRRED_IFINDEX + 4) return parms.readUInt32LE(MIRRED_IFINDEX);
  }
  return undefined;
}

/** The requests that put a tbf on device `index` (handle 1:, the root; `replace`: whatever root qdisc it has). */
export function tbfRequest(ctx: RtnlContext, index: number, tbf: TbfParameters, replace = false): ChainedRequest {
  return { op: `qdisc ${replace ? 'replace' : 'add'} dev ${index} root tbf rate ${tbf.rate * 8}bit in ${ctx.label}`, message: native().encodeTbfQdisc({ index, ...tbf, replace }) };
}

export function ingressRequest(ctx: RtnlContext, index: number): ChainedRequest {
  return { op: `qdisc add dev ${index} ingress in ${ctx.label}`, message: native().encodeIngressQdisc(index) };
}

export function redirectRequest(ctx: RtnlContext, index: number, target: number): ChainedRequest {
  return { op: `filter add dev ${index} ingress u32 mirred redirect dev ${target} in ${ctx.label}`, message: native().encodeRedirectFilter(index, target) };
}

/** Deletes the qdisc under `parent` (and its filters); none there is fine. */
export function qdiscDeleteRequest(ctx: RtnlContext, index: number, parent: number): ChainedRequest {
  const where = parent === INGRESS_PARENT ? 'ingress' : 'root';
  return { op: `qdisc delete dev ${index} ${where} in ${ctx.label}`, message: native().encodeQdiscDelete(index, parent), goneIsDone: true };
}

/** The qdiscs of a dump's replies (RTM_NEWQDISC messages); unknown attributes are passed over. */
export function parseQdiscs(replies: Buffer): Qdisc[] {
  return messagesOf(replies, RTM_NEWQDISC).map(({ header, attrs }) => {
    const kind = text(find(attrs, TCA_KIND) ?? Buffer.alloc(0));
    const qdisc: Qdisc = { index: header.readInt32LE(4), kind, handle: header.readUInt32LE(8), parent: header.readUInt32LE(12) };
    const tbf = kind === 'tbf' ? tbfOf(find(attrs, TCA_OPTIONS)) : undefined;
    if (tbf) qdisc.tbf = tbf;
    return qdisc;
  });
}

/** The filters of a dump's replies (RTM_NEWTFILTER messages), with the device a mirred action redirects to. */
export function parseFilters(replies: Buffer): Filter[] {
  return messagesOf(replies, RTM_NEWTFILTER).map(({ header, attrs }) => {
    // u32 reports its hash tables as filters too: only the one with actions redirects.
    const filter: Filter = { kind: text(find(attrs, TCA_KIND) ?? Buffer.alloc(0)), parent: header.readUInt32LE(12) };
    const redirect = redirectOf(find(attrs, TCA_OPTIONS));
    if (redirect !== undefined) filter.redirect = redirect;
    return filter;
  });
}

/** Every qdisc of the namespace. */
export async function listQdiscs(ctx: RtnlContext): Promise<Qdisc[]> {
  return parseQdiscs(await (await ctx.connection()).query(`qdisc dump in ${ctx.label}`, native().encodeQdiscDump()));
}

/** The filters on the ingress qdisc of device `index` (none without one). */
export async function listIngressFilters(ctx: RtnlContext, index: number): Promise<Filter[]> {
  return parseFilters(await (await ctx.connection()).query(`filter dump dev ${index} ingress in ${ctx.label}`, native().encodeIngressFilterDump(index)));
}
