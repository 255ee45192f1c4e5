/**
 * nsnet's firewall after an outside flush (`nft flush ruleset`, `iptables
 * -F` or `-X`): its tables or chains are gone, and with them every network's
 * and endpoint's entries. Whatever next changes the firewall puts it all
 * back from the records, as reconcile does (without emptying anything, so
 * that the entries of a connect in flight in another process stay): a
 * network's creation when the fixed part is missing, a connect when its
 * entries cannot go in. A connect that still fails says to run reconcile.
 */
import { messageOf, NetlinkError, NsnetError } from '../errors';
import type { Firewall } from '../firewall/firewall';
import { processAlive } from '../state/process-alive';
import { currentStore } from '../state/store';
import type { EndpointRecord } from '../types/endpoint';
import type { ActiveFirewall, NetworkRecord } from '../types/network';

/**
 * Puts back the fixed part of `firewall` and the entries of every network on
 * it and of their endpoints, ready or being connected by a live process (its
 * entries may have gone in before the flush; if that connect fails, its undo
 * removes them), and `own`. Under the state lock.
 */
async function reinstallLocked(firewall: Firewall, active: ActiveFirewall, own?: EndpointRecord): Promise<void> {
  const store = currentStore();
  const networks = (await store.list<NetworkRecord>('networks')).filter((n) => n.activeFirewall === active);
  const names = new Set(networks.map((n) => n.name));
  const endpoints = (await store.list<EndpointRecord>('endpoints')).filter((e) => names.has(e.network) && (e.status === 'ready' || (e.status === 'creating' && processAlive(e.pid))) && e.id !== own?.id);
  await firewall.reinstall(networks, own ? [...endpoints, own] : endpoints);
}

/** The fixed part where missing; if it was missing, with every recorded entry. Under the state lock. */
export async function installFirewallLocked(firewall: Firewall, active: ActiveFirewall): Promise<void> {
  if (await firewall.installed()) return;
  await reinstallLocked(firewall, active);
}

/**
 * The failures of a change that nsnet's tables or chains being gone would
 * explain: a set that is not there (nftables), a chain or fixed rule that is
 * not there (iptables-restore).
 */
function mayBeFlushed(error: unknown): boolean {
  if (error instanceof NetlinkError) return error.code === 'ENOENT';
  return error instanceof NsnetError && error.code === 'FIREWALL_FAILED';
}

/**
 * Adds an endpoint's entries; after a flush, puts everything back with them,
 * once. Not only when the fixed part is missing still: another connect may
 * have put it back meanwhile, without these entries.
 */
export async function addEndpointEntries(firewall: Firewall, network: NetworkRecord, record: EndpointRecord): Promise<void> {
  try {
    await firewall.addEndpoint(network, record);
  } catch (error) {
    if (!mayBeFlushed(error)) throw error;
    try {
      await currentStore().locked(() => reinstallLocked(firewall, network.activeFirewall, record));
    } catch (again) {
      throw new NsnetError(
        'FIREWALL_NEEDS_RECONCILE',
        `nsnet's ${network.activeFirewall} state is gone (${messageOf(error)}) and could not be put back from the records (${messageOf(again)}); run \`nsnet reconcile\``,
        undefined,
        { cause: again },
      );
    }
  }
}
