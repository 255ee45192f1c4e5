/** The last steps of making any network: its firewall entries, then its record. */
import { firewallFor } from '../firewall/firewall';
import { currentStore } from '../state/store';
import type { NetworkRecord } from '../types/network';
import { installFirewallLocked } from './firewall-reinstall';
import type { Undo } from './undo';

/**
 * Adds the network's firewall entries and writes its record, under the state
 * lock; on failure undoes them and whatever `undo` holds (its devices).
 */
export async function installNetworkLocked(record: NetworkRecord, undo: Undo): Promise<void> {
  const firewall = firewallFor(record.activeFirewall);
  try {
    if (firewall) {
      undo.push(`firewall entries of network "${record.name}"`, () => firewall.removeNetwork(record));
      // Where missing (an outside flush), with every other network's entries too.
      await installFirewallLocked(firewall, record.activeFirewall);
      await firewall.addNetwork(record);
    }
    await currentStore().write('networks', record.name, record);
  } catch (error) {
    throw await undo.fail(error);
  }
}
