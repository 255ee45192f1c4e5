/**
 * The network layer's side of the resolver service: tells it of an
 * endpoint's names, and of their removal, before the connect or teardown
 * that changed them resolves (CONTRACT STUB: the service's client replaces
 * these bodies).
 */
import type { DnsEndpoint, DnsNetwork } from '../types/dns';

/** Starts the service when none runs; resolves once it answers for the endpoint's names. Fails with DNS_UNAVAILABLE. */
export async function dnsAdd(_network: DnsNetwork, _endpoint: DnsEndpoint): Promise<void> {}

/** Resolves once the service answers no more for the endpoint; with no service running there is nothing to do. */
export async function dnsRemove(_network: string, _endpointId: string): Promise<void> {}

/** Asks a running service to read every name again from the state directory (after reconcile). */
export async function dnsSync(): Promise<void> {}
