/**
 * A network's lease record (`leases/<network>.json`), held in memory between
 * connects (state/held-records.ts): a connect on a network of a thousand
 * endpoints neither parses nor stringifies a thousand leases, it reads the
 * file to see that it is still the one written last and writes it again
 * from the text of its entries. Under the state lock.
 */
import { HeldRecords } from '../state/held-records';
import type { StateStore } from '../state/store';
import { addressTablesJson, addressTablesOf, type AddressTables } from './leases';

const leaseRecords = new HeldRecords('leases', addressTablesOf, addressTablesJson);

/** The leases of `network`, to change and save (or give up); undefined when it has none. */
export function takeLeases(store: StateStore, network: string): Promise<AddressTables | undefined> {
  return leaseRecords.take(store, network);
}

export function saveLeases(store: StateStore, network: string, leases: AddressTables): Promise<void> {
  return leaseRecords.save(store, network, leases);
}

export function removeLeases(store: StateStore, network: string): Promise<void> {
  return leaseRecords.remove(store, network);
}
