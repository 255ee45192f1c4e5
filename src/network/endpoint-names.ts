/** An endpoint's names in the resolver service: added by a connect, removed first by a teardown. */
import { dnsAdd, dnsRemove } from '../dns/client';
import { dnsEndpointOf, dnsNetworkOf } from '../types/dns';
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import type { Undo } from './undo';

/**
 * Gives the resolver the endpoint's names, while the kernel work goes on (the
 * caller awaits it with the rest); undone before the address is released.
 * Nothing for an endpoint without names (a network that resolves none).
 */
function addNames(network: NetworkRecord, record: EndpointRecord, undo: Undo): Promise<void> | undefined {
  const endpoint = dnsEndpointOf(record);
  if (!endpoint) return undefined;
  undo.push(`names of ${record.hostIfname}`, () => removeNames(record));
  const added = dnsAdd(dnsNetworkOf(network), endpoint);
  added.catch(() => undefined); // awaited by the caller, or in its undo
  return added;
}

/**
 * addNames() one turn of the event loop later, so that the batches queued
 * meanwhile (the endpoint's link requests: RtnlConnection leaves them for
 * setImmediate too) go to the kernel first: the resolver's line is then
 * written in the next turn, and the write, which wakes the resolver (about
 * 0.1 ms of this thread), is made while the kernel works. Awaited with the
 * rest, and before an undo, which then takes the names out too.
 */
export function addNamesAfterBatches(network: NetworkRecord, record: EndpointRecord, undo: Undo): Promise<void> {
  return new Promise<void>(setImmediate).then(() => addNames(network, record, undo));
}

/** Takes the endpoint's names out of the resolver; nothing for an endpoint recorded without names. */
export async function removeNames(record: EndpointRecord): Promise<void> {
  if (record.names?.length) await dnsRemove(record.network, record.id);
}
