/**
 * Endpoints: a namespace's veth on a network's bridge, with its addresses and
 * default route. A connect plans the endpoint and leases its addresses
 * (endpoint-plan.ts), then makes the veth (plumbing.ts), configures the
 * namespace, then publishes its ports; any failure undoes every step done so
 * far, and a disconnect is the one teardown (teardown.ts). An overlay
 * network's addresses are claimed in its store while the veth is made; a
 * claim another host won undoes the connect, which picks again.
 */
import { faultOperation } from '../fault';
import { firewallFor } from '../firewall/firewall';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import { currentStore } from '../state/store';
import type { EndpointRecord } from '../types/endpoint';
import { type NetworkRecord, networkDriver } from '../types/network';
import type { ConnectInput } from './connect-options';
import { FAMILIES, gatewayEndpoints, namespaceEndpoints, routeChoice, routeVia } from './default-route';
import { markReady, planEndpoint, recordEndpoint, rewriteEndpoint } from './endpoint-plan';
import { addNamesAfterBatches } from './endpoint-names';
import { addEndpointEntries } from './firewall-reinstall';
import { withFreeHostEnd } from './host-end-name';
import { checkHostAddresses } from './host-addresses';
import { freeInterfaceName } from './interface-name';
import { createChild } from './lan-child';
import { isLanNetwork } from './lan-network';
import { AddressesHeldElsewhere } from './overlay-claim';
import { allOrFirstFailure, createConfiguredVeth, createVeth, plumb, step } from './plumbing';
import { createRoutedVeth } from './routed-veth';
import { applyLimits, makeIfb } from './shaping';
import { forgetEndpointLocked, type TeardownOptions, teardownEndpoint, teardownIncomplete } from './teardown';
import { Undo } from './undo';

export interface ConnectPlace {
  /**
   * `ns` was just made here and holds nothing but lo (or is being made: a
   * promise of it): its side is configured in the veth's own job.
   */
  freshNamespace?: boolean;
}

/**
 * Connects `ns` to `network` as `input` (checked options) asks; undoes
 * everything on failure. A namespace still being made (freshNamespace) has
 * the endpoint planned and its addresses picked meanwhile.
 */
export async function connect(network: NetworkRecord, ns: NetNamespace | Promise<NetNamespace>, input: ConnectInput, place: ConnectPlace = {}): Promise<EndpointRecord> {
  const skipped = new Map<string, string>();
  for (let again = place; ; again = { ...place, freshNamespace: false }) {
    try {
      return await connectOnce(network, ns, input, again, skipped);
    } catch (error) {
      // Undone whole (else the error carries a note and is not this class): pick others and connect again,
      // in a namespace no longer fresh (its lo is up, its next link not interface 2).
      if (!(error instanceof AddressesHeldElsewhere)) throw error;
      for (const address of error.held) skipped.set(address, 'held by another host');
    }
  }
}

async function connectOnce(
  network: NetworkRecord,
  namespace: NetNamespace | Promise<NetNamespace>,
  input: ConnectInput,
  place: ConnectPlace,
  skipped: ReadonlyMap<string, string>,
): Promise<EndpointRecord> {
  faultOperation('connect');
  // The namespace's other networks (none in one just made): they name its interface and decide its default routes.
  const given = place.freshNamespace ? undefined : await namespace;
  const others = given ? (await namespaceEndpoints(given.inode)).filter((other) => other.network !== network.name) : [];
  const ifname = given && others.length && !input.ifnameGiven ? await freeInterfaceName(given) : input.ifname;
  const plan = planEndpoint(network, { ...input, ifname });
  await checkHostAddresses(
    plan.publish.map((request) => request.hostIp ?? network.hostIp),
    'hostIp of a published port',
  );
  // The namespace's own socket opens (a job of the pool, inside) while the
  // addresses are leased; a failure to open it surfaces at its first use.
  // (One made here has it open already.)
  given?.connection().catch(() => undefined);
  const undo = new Undo();
  const host = NetNamespace.host();
  // Recorded before the veth is made: a crash in between leaves a record
  // 'creating' that reconcile finds, and with it the veth, even where the
  // namespace stays (a veth made first would be nobody's).
  const { record, leases, claim } = await recordEndpoint(network, namespace, plan, skipped);
  const ns = given ?? (await namespace);
  // Undone last first: the veth goes before its address is released.
  undo.push(`records of ${record.hostIfname}`, () => currentStore().locked(() => forgetEndpointLocked(record, leases)));
  // The ifb, for an egress limit, is made while the veth is.
  const ifb = record.bandwidth?.ifb === undefined ? undefined : makeIfb(record, network.mtu, undo, () => rewriteEndpoint(network, record));
  ifb?.catch(() => undefined); // awaited below, or in the undo
  // Once the veth's job has gone to the kernel.
  const named = addNamesAfterBatches(network, record, undo);
  try {
    let hostIndex = 0;
    // Only a veth this connect made: one that could not be made may be someone else's namesake.
    const made = (hostEnd: Link): void => {
      hostIndex = hostEnd.index;
      undo.push(`host end ${hostEnd.name}`, () => host.links.delete(hostEnd.index), { guardsEarlier: true });
    };
    // A host end named as one the host has already gets another name, recorded before its veth is made.
    const freeHostEnd = <T>(create: () => Promise<T>): Promise<T> => withFreeHostEnd(network, record, create, () => rewriteEndpoint(network, record));
    // The default routes this endpoint takes, by the namespace's networks' priorities (all, in a namespace just made).
    const routes = routeChoice(record, others, input.keepDefaultRoute);
    const takeRoutes = (): void => {
      // Undone, the routes this endpoint took go back to the network that had them (before a veth goes;
      // after a macvlan or ipvlan child, which takes them with it).
      const previous = gatewayEndpoints(others);
      for (const family of FAMILIES) {
        const before = previous[family];
        if (routes[family] === 'replace' && before) undo.push(`default route of ${before.ifname}`, () => routeVia(ns, before, family));
      }
    };
    if (isLanNetwork(network)) {
      takeRoutes();
      await createChild(network, ns, record, place.freshNamespace === true, undo, routes);
    } else if (networkDriver(network) === 'routed') {
      const madeRouted = (hostEnd: Link): void => {
        made(hostEnd);
        takeRoutes();
      };
      await freeHostEnd(() => createRoutedVeth(network, ns, record, place.freshNamespace === true, madeRouted, routes));
    } else if (place.freshNamespace) {
      await freeHostEnd(() => createConfiguredVeth(network, ns, record, made));
    } else {
      const hostEnd = await freeHostEnd(() => step('create veth', () => createVeth(network, ns, record)));
      made(hostEnd);
      takeRoutes();
      await plumb(network, ns, record, hostEnd, routes);
    }
    if (record.bandwidth) {
      const ifbIndex = (await ifb)?.index;
      await step('limit bandwidth', () => applyLimits(record, hostIndex, ifbIndex));
    }
    // An overlay network's addresses were being claimed meanwhile: this host's before the ports lead
    // here and the endpoint is ready (names added meanwhile go with an undo).
    await claim;
    // Marked ready while the ports are published: a failure still undoes both.
    const ready: EndpointRecord = { ...record, status: 'ready' };
    const firewall = firewallFor(network.activeFirewall);
    // Last, as Docker does: the ports lead somewhere only now.
    // Undone even when adding them failed: a reconcile meanwhile may have written them back
    // from the record (the ports are this endpoint's by its port records, so nobody else's go).
    if (firewall) undo.push(`firewall entries of ${record.hostIfname}`, () => firewall.removeEndpoint(network, record));
    const published = firewall ? step('publish ports', () => addEndpointEntries(firewall, network, record)) : undefined;
    await allOrFirstFailure([published, markReady(network, ready), named]);
    return ready;
  } catch (error) {
    // An ifb, or names, still being added are undone with the rest; a claim under way is released once it is settled.
    await Promise.all([ifb?.catch(() => undefined), named?.catch(() => undefined), claim?.catch(() => undefined)]);
    throw await undo.fail(error);
  }
}

/**
 * Removes an endpoint (see teardown.ts); TEARDOWN_INCOMPLETE names what it
 * could not remove.
 */
export async function disconnect(record: EndpointRecord, options: TeardownOptions = {}): Promise<void> {
  faultOperation('disconnect');
  const failures = await teardownEndpoint(record, options);
  if (failures.length) throw teardownIncomplete(`endpoint ${record.id} on network "${record.network}"`, failures);
}
