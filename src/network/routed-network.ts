/**
 * Routed networks: creation (see types/routed-network.ts for what one is).
 * No bridge is made: the network is its record, the host's forwarding and
 * its firewall entries; its containers' veths and host routes come with
 * them (routed-veth.ts).
 */
import { invalid, NsnetError, unlessGone } from '../errors';
import { faultOperation } from '../fault';
import { resolveFirewall } from '../firewall/firewall';
import { NetNamespace } from '../netns';
import { currentStore } from '../state/store';
import type { BridgeNetworkOptions, NetworkRecord } from '../types/network';
import { ROUTED_GATEWAY4, ROUTED_GATEWAY6, routedHostEndPrefix, type RoutedNetworkOptions, RoutedNetworkOptionsSchema } from '../types/routed-network';
import { describeProblem, Validator } from '../types/schema';
import { checkHostAddresses } from './host-addresses';
import { randomLocalMac } from './mac';
import { BridgeNetwork } from './network';
import { installNetworkLocked } from './network-install';
import { type CheckedOptions, checkNetworkOptions, differences, refusePool } from './options';
import { checkSubnetFree, pickSubnet } from './subnets';
import { Undo } from './undo';

const routedOptions = new Validator(RoutedNetworkOptionsSchema);

/** The options checked as a bridge network's are (subnets, MTU, hostIp), then made routed. */
function checkRoutedOptions(given: RoutedNetworkOptions): CheckedOptions {
  refusePool('routed', given);
  const options = routedOptions.valid(given, (problem) => invalid(describeProblem(problem, 'routed network option')));
  const { ipv6, ...rest } = options;
  const asBridge: BridgeNetworkOptions = { ...rest, dns: false, ...(ipv6 ? { ipv6: { subnet: ipv6.subnet } } : {}) };
  const checked = checkNetworkOptions(asBridge);
  return {
    ...checked,
    driver: 'routed',
    bridge: routedHostEndPrefix(checked.name),
    ...(checked.subnet === undefined ? {} : { gateway: ROUTED_GATEWAY4 }),
    ...(checked.ipv6 ? { ipv6: { subnet: checked.ipv6.subnet, gateway: ROUTED_GATEWAY6 } } : {}),
  };
}

/** Forwarding on: a routed network's containers reach each other, as well as the world, only through the host's routing. */
async function enableForwarding(record: NetworkRecord): Promise<void> {
  const host = NetNamespace.host();
  await host.sysctl('net.ipv4.ip_forward', 1);
  if (record.ipv6) await unlessGone(() => host.sysctl('net.ipv6.conf.all.forwarding', 1));
}

/**
 * Creates a routed network, or returns the existing one when the options
 * agree (NETWORK_CONFLICT when they do not, or when a network of that name
 * has another driver). It returns the same class as createBridgeNetwork;
 * its `bridge` is the prefix of its host ends (there is no bridge device).
 */
export async function createRoutedNetwork(options: RoutedNetworkOptions): Promise<BridgeNetwork> {
  faultOperation('createRoutedNetwork');
  const wanted = checkRoutedOptions(options);
  const store = currentStore();
  return store.locked(async () => {
    const existing = await store.read<NetworkRecord>('networks', wanted.name);
    if (existing) {
      const differing = differences(existing, wanted);
      if (differing.length) {
        throw new NsnetError('NETWORK_CONFLICT', `network "${wanted.name}" exists with different ${differing.join(', ')}`, { differing });
      }
      await enableForwarding(existing);
      return new BridgeNetwork(existing);
    }
    const networks = await store.list<NetworkRecord>('networks');
    const samePrefix = networks.find((n) => n.bridge === wanted.bridge);
    if (samePrefix) {
      throw new NsnetError('BRIDGE_NAME_TAKEN', `host-end prefix ${wanted.bridge} belongs to network "${samePrefix.name}"; choose another name`);
    }
    const subnet = wanted.subnet ?? (await pickSubnet(networks));
    if (wanted.subnet !== undefined) await checkSubnetFree(subnet, networks);
    if (wanted.ipv6) await checkSubnetFree(wanted.ipv6.subnet, networks);
    await checkHostAddresses([wanted.hostIp], 'hostIp');
    const { ipv4: _ipv4, ...fields } = wanted; // ipv4 is a request, not stored: the record's subnet says it
    const record: NetworkRecord = {
      ...fields,
      subnet,
      gateway: ROUTED_GATEWAY4,
      subnetAuto: wanted.subnet === undefined,
      bridgeMac: randomLocalMac(),
      activeFirewall: resolveFirewall(wanted.firewall),
      created: new Date().toISOString(),
    };
    await enableForwarding(record);
    await installNetworkLocked(record, new Undo());
    return new BridgeNetwork(record);
  });
}
