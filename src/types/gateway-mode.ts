/**
 * Docker 28's gateway modes of a bridge network, per address family
 * (`com.docker.network.bridge.gateway_mode_ipv4` / `_ipv6`), and the host
 * interfaces trusted to reach containers directly (`trusted_host_interfaces`).
 */
import v = require('valibot');

import { FirewallInterfaceName } from './record-text';
import { strictJsonObject } from './schema';

/**
 * - nat: published ports DNATed from the host, containers masqueraded going
 *   out; nothing reaches a container by its own address from outside.
 * - nat-unprotected: as nat, but any port of a container is reachable by its address.
 * - routed: no NAT either way; a container's published ports are reachable
 *   by its own address (unpublished ones stay filtered).
 * - isolated: no address on the bridge (internal networks only).
 */
export const GATEWAY_MODES = ['nat', 'nat-unprotected', 'routed', 'isolated'] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];

export const GatewayModeSchema = v.picklist(GATEWAY_MODES);

/** The option: one mode for both families, or each its own (an absent one is 'nat'). */
export const GatewayModeOptionSchema = v.union([
  GatewayModeSchema,
  strictJsonObject({ ipv4: v.optional(GatewayModeSchema), ipv6: v.optional(GatewayModeSchema) }),
]);
export type GatewayModeOption = v.InferOutput<typeof GatewayModeOptionSchema>;

/** As stored: both families' modes; absent from records made before gateway modes, or with nat for both. */
export const GatewayModesSchema = v.object({ ipv4: GatewayModeSchema, ipv6: GatewayModeSchema });
export type GatewayModes = v.InferOutput<typeof GatewayModesSchema>;

export const TrustedHostInterfacesSchema = v.array(FirewallInterfaceName);

export type IpFamilyNumber = 4 | 6;

/** The mode of one family of a network (record or checked options). */
export function gatewayMode(network: { gatewayMode?: GatewayModes }, family: IpFamilyNumber): GatewayMode {
  return network.gatewayMode?.[family === 4 ? 'ipv4' : 'ipv6'] ?? 'nat';
}

/** Both families' modes from the option; undefined when both are nat (what records made before modes mean). */
export function gatewayModesOf(option: GatewayModeOption | undefined): GatewayModes | undefined {
  const modes = typeof option === 'string' ? { ipv4: option, ipv6: option } : { ipv4: option?.ipv4 ?? 'nat', ipv6: option?.ipv6 ?? 'nat' };
  return modes.ipv4 === 'nat' && modes.ipv6 === 'nat' ? undefined : modes;
}

/** The host interfaces whose packets may reach the network's containers directly. */
export function trustedHostInterfaces(network: { trustedHostInterfaces?: string[] }): string[] {
  return network.trustedHostInterfaces ?? [];
}
