/**
 * createOverlayNetwork options: checked as a bridge network's where they
 * agree (subnets, gateway, addressing, bridge name, hostIp, firewall), then
 * the overlay's own; and the definition every host of the network must share.
 */
import { invalid } from '../errors';
import { canonicalAddress, ipFamily } from '../types/ip';
import type { BridgeNetworkOptions } from '../types/network';
import { DEFAULT_VXLAN_PORT, type OverlayDefinition } from '../types/overlay';
import { type OverlayNetworkOptions, OverlayNetworkOptionsSchema, type StoreOption } from '../types/overlay-network';
import { describeProblem, Validator } from '../types/schema';
import { type CheckedOptions, checkNetworkOptions, networkLinkName, refusePool } from './options';

const overlayOptions = new Validator(OverlayNetworkOptionsSchema);

/** Seconds a host's entries outlive its agent when leaseTtl is not given. */
export const DEFAULT_LEASE_TTL = 15;

export interface CheckedOverlayOptions {
  /** As a bridge network's (with the MTU to be found when `mtuGiven` is false). */
  network: CheckedOptions;
  mtuGiven: boolean;
  store: StoreOption;
  vni?: number;
  port: number;
  underlay?: string;
  leaseTtl: number;
}

/** Checks the options without touching anything; bad input -> INVALID_ARGUMENT. */
export function checkOverlayOptions(given: OverlayNetworkOptions): CheckedOverlayOptions {
  if (typeof given === 'object' && given !== null && (given as { ipv4?: unknown }).ipv4 === false) {
    throw invalid('an overlay network needs IPv4 (ipv4: false is refused): its containers are found across hosts by their IPv4 addresses');
  }
  refusePool('overlay', given);
  const options = overlayOptions.valid(given, (problem) => invalid(describeProblem(problem, 'overlay network option')));
  const { store, vni, port, underlay, leaseTtl, ipv4: _ipv4, ...rest } = options;
  const asBridge: BridgeNetworkOptions = rest;
  const network: CheckedOptions = { ...checkNetworkOptions(asBridge), driver: 'overlay' };
  const checked: CheckedOverlayOptions = { network, mtuGiven: options.mtu !== undefined, store, port: port ?? DEFAULT_VXLAN_PORT, leaseTtl: leaseTtl ?? DEFAULT_LEASE_TTL };
  if (vni !== undefined) checked.vni = vni;
  if (underlay !== undefined) {
    ipFamily(underlay, 'underlay');
    checked.underlay = canonicalAddress(underlay);
  }
  return checked;
}

/** The VXLAN device of a network's bridge: `nsvx-<name>`, or a hash of a long name. */
export function vxlanName(network: string): string {
  return networkLinkName('nsvx-', network);
}

/** What goes to the store for `checked` (vni undefined: the store picks the lowest free). */
export function overlayDefinition(checked: CheckedOverlayOptions): Omit<OverlayDefinition, 'vni'> & { vni?: number } {
  const { network } = checked;
  const definition: Omit<OverlayDefinition, 'vni'> & { vni?: number } = {
    subnet: network.subnet as string,
    gateway: network.gateway as string,
    port: checked.port,
    dns: network.dns as boolean,
  };
  if (network.ipv6) definition.ipv6 = network.ipv6;
  if (checked.vni !== undefined) definition.vni = checked.vni;
  if (checked.mtuGiven) definition.mtu = network.mtu;
  if (network.internal) definition.internal = true;
  if (!network.icc) definition.icc = false;
  if (network.ipRange !== undefined) definition.ipRange = network.ipRange;
  if (network.auxAddresses !== undefined) definition.auxAddresses = network.auxAddresses;
  return definition;
}

/**
 * The fields of a wanted definition that differ from the stored one: every
 * field, except a VNI not asked for (the stored one is taken).
 */
export function definitionDifferences(stored: OverlayDefinition, wanted: Omit<OverlayDefinition, 'vni'> & { vni?: number }): string[] {
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  const differing: string[] = [];
  for (const field of ['subnet', 'gateway', 'ipv6', 'port', 'mtu', 'ipRange', 'auxAddresses'] as const) {
    if (!same(stored[field], wanted[field])) differing.push(field);
  }
  if ((stored.internal ?? false) !== (wanted.internal ?? false)) differing.push('internal');
  if ((stored.dns ?? false) !== (wanted.dns ?? false)) differing.push('dns');
  if ((stored.icc ?? true) !== (wanted.icc ?? true)) differing.push('icc');
  if (wanted.vni !== undefined && wanted.vni !== stored.vni) differing.push('vni');
  return differing;
}

/** JSON with object keys sorted: two definitions written by different hosts compare by content. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  ) ?? 'undefined';
}
