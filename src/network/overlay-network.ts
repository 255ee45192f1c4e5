/**
 * Overlay networks: one network across hosts. On each host it is a bridge
 * network (its gateway, firewall, masquerade and published ports are this
 * host's) with a VXLAN device on the bridge; the definition, the hosts and
 * every container's addresses live in an etcd store, which the network's
 * agent watches to program the other hosts' containers into the VXLAN
 * device's forwarding and neighbour tables.
 */
import { parseStoreOption } from '../cluster/config';
import { invalid, NsnetError } from '../errors';
import { faultOperation } from '../fault';
import { resolveFirewall } from '../firewall/firewall';
import { currentStore } from '../state/store';
import { isIPv6 } from '../types/ip';
import type { NetworkRecord } from '../types/network';
import { type OverlayRecord, type StoreConfig, VXLAN_OVERHEAD, VXLAN_OVERHEAD6 } from '../types/overlay';
import type { OverlayNetworkOptions } from '../types/overlay-network';
import { createBridge, deleteBridge, findBridge } from './bridge';
import { checkHostAddresses } from './host-addresses';
import { randomLocalMac } from './mac';
import { BridgeNetwork } from './network';
import { installNetworkLocked } from './network-install';
import { differences } from './options';
import { addVxlanPort, agentLease, removeVxlanPort, stopAgent, storeFor } from './overlay-host';
import { ensureOverlayLinks } from './overlay-links';
import { canonicalJson, type CheckedOverlayOptions, checkOverlayOptions, definitionDifferences, overlayDefinition, vxlanName } from './overlay-options';
import { resolveUnderlay, underlayMtu } from './overlay-underlay';
import { checkSubnetFree } from './subnets';
import { Undo } from './undo';

function conflict(name: string, differing: string[], where: string): NsnetError {
  return new NsnetError('NETWORK_CONFLICT', `network "${name}" exists ${where} with different ${differing.join(', ')}`, { differing });
}

/** Where an existing local record and a new request differ (the MTU only when asked for: else the underlay's decides it). */
export function overlayRecordDifferences(record: NetworkRecord, checked: CheckedOverlayOptions, store: StoreConfig): string[] {
  const differing = differences(record, checked.network).filter((field) => field !== 'mtu' || checked.mtuGiven);
  const overlay = record.overlay;
  if (!overlay) return differing.includes('driver') ? differing : ['driver', ...differing];
  if (checked.vni !== undefined && checked.vni !== overlay.vni) differing.push('vni');
  if (checked.port !== overlay.port) differing.push('port');
  if (checked.underlay !== undefined && checked.underlay !== overlay.underlay) differing.push('underlay');
  if (checked.leaseTtl !== overlay.leaseTtl) differing.push('leaseTtl');
  if (storeKey(store) !== storeKey(overlay.store)) differing.push('store');
  return differing;
}

/** A store configuration as text that does not depend on the order of its keys or endpoints. */
function storeKey(store: StoreConfig): string {
  return canonicalJson({ ...store, endpoints: [...store.endpoints].sort() });
}

/**
 * Creates an overlay network on this host, or returns it when it exists here
 * with the same options (NETWORK_CONFLICT when they differ, or when the
 * store holds a differing definition: `differing` names the fields). The
 * same name with the same options on every host is one network. Nothing is
 * changed on bad input; a failure undoes everything made.
 */
export async function createOverlayNetwork(options: OverlayNetworkOptions): Promise<BridgeNetwork> {
  faultOperation('createOverlayNetwork');
  const checked = checkOverlayOptions(options);
  const store = parseStoreOption(checked.store);
  const name = checked.network.name;
  const state = currentStore();
  return state.locked(async () => {
    const existing = await state.read<NetworkRecord>('networks', name);
    if (existing) {
      const differing = overlayRecordDifferences(existing, checked, store);
      if (differing.length) throw conflict(name, differing, 'on this host');
      // The store may have lost the definition (removed by a host that saw this one's keys expire) or hold another.
      const wanted = { ...overlayDefinition(checked), vni: (existing.overlay as OverlayRecord).vni };
      const stored = await storeFor(store).defineNetwork(name, wanted);
      const storeDiffering = definitionDifferences(stored, wanted);
      if (storeDiffering.length) throw conflict(name, storeDiffering, 'in the store');
      await ensureOverlayLinks(existing);
      await agentLease(existing);
      return new BridgeNetwork(existing);
    }
    const networks = await state.list<NetworkRecord>('networks');
    const sameBridge = networks.find((n) => n.bridge === checked.network.bridge);
    if (sameBridge) throw new NsnetError('BRIDGE_NAME_TAKEN', `bridge ${checked.network.bridge} belongs to network "${sameBridge.name}"`);
    if (await findBridge({ name, bridge: checked.network.bridge })) {
      throw new NsnetError('BRIDGE_NAME_TAKEN', `bridge ${checked.network.bridge} exists without a network record`);
    }
    await checkSubnetFree(checked.network.subnet as string, networks);
    if (checked.network.ipv6) await checkSubnetFree(checked.network.ipv6.subnet, networks);
    const { hostIp } = checked.network;
    if (hostIp !== checked.network.gateway && hostIp !== checked.network.ipv6?.gateway) await checkHostAddresses([hostIp], 'hostIp');
    const underlay = checked.underlay ?? (await resolveUnderlay(store.endpoints[0] as string));
    // Read even when the MTU is given: it checks that the underlay address is this host's.
    const carried = (await underlayMtu(underlay)) - (isIPv6(underlay) ? VXLAN_OVERHEAD6 : VXLAN_OVERHEAD);
    // A larger MTU would have the kernel drop (or fragment) every full-size packet between hosts.
    if (checked.mtuGiven && checked.network.mtu > carried) throw invalid(`mtu ${checked.network.mtu} is more than the underlay of ${underlay} carries inside VXLAN (${carried})`);
    const mtu = checked.mtuGiven ? checked.network.mtu : carried;
    // All checked: the definition in the store is the first change, undone if a later step fails.
    const wanted = overlayDefinition(checked);
    const clusterStore = storeFor(store);
    const defined = await clusterStore.defineNetwork(name, wanted);
    const differing = definitionDifferences(defined, wanted);
    if (differing.length) throw conflict(name, differing, 'in the store');
    const undo = new Undo();
    // A definition this host made alone goes again; one other hosts use stays.
    undo.push(`definition of network "${name}" in the store`, () => clusterStore.removeDefinitionIfUnused(name));
    const overlay: OverlayRecord = { vni: defined.vni, port: defined.port, vxlan: vxlanName(name), underlay, store, leaseTtl: checked.leaseTtl };
    const { ipv4: _ipv4, ...fields } = checked.network;
    const record: NetworkRecord = {
      ...fields,
      mtu,
      subnet: defined.subnet,
      gateway: defined.gateway,
      subnetAuto: false,
      bridgeMac: randomLocalMac(),
      activeFirewall: resolveFirewall(checked.network.firewall),
      overlay,
      created: new Date().toISOString(),
    };
    try {
      await createBridge(record);
      undo.push(`bridge ${record.bridge}`, () => deleteBridge(record));
      await addVxlanPort(record);
      undo.push(`VXLAN device ${overlay.vxlan}`, () => removeVxlanPort(record));
    } catch (error) {
      throw await undo.fail(error);
    }
    await installNetworkLocked(record, undo);
    try {
      await agentLease(record);
    } catch (error) {
      undo.push(`record of network "${name}"`, () => state.remove('networks', name));
      undo.push(`agent of network "${name}"`, () => stopAgent(record, { remove: true }));
      throw await undo.fail(error);
    }
    return new BridgeNetwork(record);
  });
}
