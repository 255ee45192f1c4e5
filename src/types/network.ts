/** Bridge networks: the options createBridgeNetwork takes, and the record stored for a network. */
import { type Static, Type } from '@sinclair/typebox';

import { MAX_MTU, MIN_MTU } from './limits';

export const FIREWALL_BACKENDS = ['auto', 'nftables', 'iptables', 'none'] as const;
export type FirewallBackend = (typeof FIREWALL_BACKENDS)[number];

/** The backend in use, resolved from `firewall` when the network was made. */
export const ACTIVE_FIREWALLS = ['nftables', 'iptables', 'none'] as const;
export type ActiveFirewall = (typeof ACTIVE_FIREWALLS)[number];

export const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

const oneOf = <T extends readonly string[]>(values: T) => Type.Union(values.map((value) => Type.Literal(value as T[number])));

export const BridgeNetworkOptionsSchema = Type.Object(
  {
    /** [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63} */
    name: Type.String({ pattern: NETWORK_NAME.source }),
    /** Bridge device; `nsbr-<name>` (or a hash of a long name) when omitted. */
    bridge: Type.Optional(Type.String()),
    /** IPv4 subnet; else the first free /24 of 10.89.0.0/16. */
    subnet: Type.Optional(Type.String()),
    /** Defaults to the first host address of the subnet. */
    gateway: Type.Optional(Type.String()),
    ipv6: Type.Optional(Type.Object({ subnet: Type.String(), gateway: Type.Optional(Type.String()) }, { additionalProperties: false })),
    mtu: Type.Optional(Type.Integer({ minimum: MIN_MTU, maximum: MAX_MTU })),
    masquerade: Type.Optional(Type.Boolean()),
    icc: Type.Optional(Type.Boolean()),
    internal: Type.Optional(Type.Boolean()),
    /** Default host address of published ports. */
    hostIp: Type.Optional(Type.String()),
    firewall: Type.Optional(oneOf(FIREWALL_BACKENDS)),
  },
  { additionalProperties: false },
);
export type BridgeNetworkOptions = Static<typeof BridgeNetworkOptionsSchema>;

/** What is stored for a network, and what compares equal on re-creation. */
export const NetworkRecordSchema = Type.Object({
  name: Type.String(),
  bridge: Type.String(),
  /** The bridge's pinned MAC address (locally administered, random). */
  bridgeMac: Type.String(),
  subnet: Type.String(),
  gateway: Type.String(),
  /** The subnet was picked by nsnet, not asked for. */
  subnetAuto: Type.Boolean(),
  ipv6: Type.Optional(Type.Object({ subnet: Type.String(), gateway: Type.String() })),
  mtu: Type.Integer(),
  masquerade: Type.Boolean(),
  icc: Type.Boolean(),
  internal: Type.Boolean(),
  hostIp: Type.String(),
  firewall: oneOf(FIREWALL_BACKENDS),
  activeFirewall: oneOf(ACTIVE_FIREWALLS),
  created: Type.String(),
});
export type NetworkRecord = Static<typeof NetworkRecordSchema>;
