/**
 * An overlay network's addresses are one space across hosts: each address a
 * connect's IPAM picks is claimed in the store (a transaction that succeeds
 * only when no host holds it) once the endpoint is recorded, while its links
 * are made, and released once they are gone.
 */
import { NsnetError } from '../errors';
import type { EndpointRecord } from '../types/endpoint';
import type { NetworkRecord } from '../types/network';
import type { AddressEntry, OverlayRecord } from '../types/overlay';
import { agentLease, storeFor } from './overlay-host';

/** The endpoint's key in the store: its addresses, MAC and host, and its names for the other hosts' resolvers. */
export function addressEntry(overlay: OverlayRecord, record: EndpointRecord): AddressEntry {
  const entry: AddressEntry = { ipv4: record.ipv4 as string, mac: record.mac, host: overlay.underlay, container: record.id };
  if (record.ipv6 !== undefined) entry.ipv6 = record.ipv6;
  if (record.names?.length) entry.names = record.names;
  return entry;
}

/**
 * A claim refused for addresses picked automatically: the addresses other
 * hosts hold (the ones refused, and every other host's as listed then), for
 * the connect to skip when it picks again.
 */
export class AddressesHeldElsewhere extends NsnetError {
  constructor(
    network: string,
    readonly held: string[],
  ) {
    super('ADDRESS_IN_USE', `the addresses picked on overlay network "${network}" are held by another host`, { network, held });
  }
}

/**
 * Claims the endpoint's addresses for this host, held by the agent's lease;
 * AddressesHeldElsewhere when another host holds one picked automatically,
 * ADDRESS_IN_USE when one was asked for, STORE_UNAVAILABLE when the store
 * does not answer. A key of this host's own for these addresses is stale
 * (left by a crash between claim and record, or a release the store
 * missed), since this connect holds their leases here: it is taken back.
 */
export async function claimOverlayAddresses(network: NetworkRecord, record: EndpointRecord, asked: { ipv4: boolean; ipv6: boolean }): Promise<void> {
  const overlay = network.overlay as OverlayRecord;
  const store = storeFor(overlay.store);
  const entry = addressEntry(overlay, record);
  const leaseId = await agentLease(network);
  let result = await store.claimAddresses(network.name, entry, leaseId);
  if (result !== 'claimed' && result.takenBy === overlay.underlay) {
    await store.releaseAddresses(network.name, { ipv4: entry.ipv4, ipv6: entry.ipv6, host: entry.host });
    result = await store.claimAddresses(network.name, entry, leaseId);
  }
  if (result === 'claimed') return;
  const taken = result.taken.map((family) => entry[family] as string);
  // Only the family asked for is refused: a collision of the one picked automatically is skipped.
  const refused = result.taken.filter((family) => asked[family]).map((family) => entry[family] as string);
  if (refused.length) {
    throw new NsnetError('ADDRESS_IN_USE', `${refused.join(' and ')} in use on overlay network "${network.name}" by host ${result.takenBy}`, {
      takenBy: result.takenBy,
    });
  }
  // With the other hosts' addresses, all skipped at once: a search that ran into another host's
  // addresses would otherwise try them one connect at a time.
  const others = (await store.listAddresses(network.name)).entries.filter((held) => held.host !== overlay.underlay);
  throw new AddressesHeldElsewhere(network.name, [...taken, ...others.flatMap((held) => (held.ipv6 === undefined ? [held.ipv4] : [held.ipv4, held.ipv6]))]);
}

/**
 * Releases the endpoint's claim (only if still this host's). The store
 * unreachable, the key stays with this host's lease: the agent removes keys
 * no endpoint here holds when it starts, and a connect that picks the
 * address again takes it back.
 */
export async function releaseOverlayAddresses(network: NetworkRecord, record: EndpointRecord): Promise<void> {
  if (record.ipv4 === undefined) return;
  const overlay = network.overlay as OverlayRecord;
  try {
    await storeFor(overlay.store).releaseAddresses(network.name, addressEntry(overlay, record));
  } catch (error) {
    if (!(error instanceof NsnetError && error.code === 'STORE_UNAVAILABLE')) throw error;
  }
}
