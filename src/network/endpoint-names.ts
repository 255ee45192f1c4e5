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
export function addNames(network: NetworkRecord, record: EndpointRecord, undo: Undo): Promise<void> | undefined {
  const endpoint = dnsEndpointOf(record);
  if (!endpoint) return undefined;
  undo.push(`names of ${record.hostIfname}`, () => removeNames(record));
  const added = dnsAdd(dnsNetworkOf(network), endpoint);
  added.catch(() => undefined); // awaited by the caller, or in its undo
  return added;
}

/** Takes the endpoint's names out of the resolver; nothing for an endpoint recorded without names. */
export async function removeNames(record: EndpointRecord): Promise<void> {
  if (record.names?.length) await dnsRemove(record.network, record.id);
}
