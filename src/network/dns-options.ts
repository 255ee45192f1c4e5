/**
 * The options of name resolution, checked before anything is made: a
 * container's names (INVALID_DNS_NAME), its name servers, search domains and
 * resolver options (INVALID_DNS); and the names an endpoint is recorded with.
 */
import { isIP } from 'node:net';

import { NsnetError } from '../errors';
import { isDnsName } from '../types/dns';
import { canonicalAddress, isIPv6 } from '../types/ip';

/** The caller's resolv.conf options: name servers, search domains, resolver options. */
export interface ResolverOptions {
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

/** `name` or `name:value`, as resolv.conf's options line holds them. */
const RESOLVER_OPTION = /^[a-zA-Z0-9_-]+(:[a-zA-Z0-9_.-]+)?$/;

/** A name or alias; INVALID_DNS_NAME unless it is a DNS name. */
export function checkDnsName(name: string, what: string): string {
  if (!isDnsName(name)) {
    throw new NsnetError('INVALID_DNS_NAME', `${what} must be a DNS name (labels of letters, digits, '_' and '-', joined by dots; 253 characters at most): ${JSON.stringify(name)}`);
  }
  return name;
}

function invalidDns(message: string): NsnetError {
  return new NsnetError('INVALID_DNS', message);
}

/** Name servers as addresses (canonical; a scoped IPv6 address names an interface the container does not have). */
function checkServers(servers: string[]): string[] {
  return servers.map((server, i) => {
    if (!isIP(server) || server.includes('%')) throw invalidDns(`dns[${i}] must be an IP address: ${JSON.stringify(server)}`);
    return isIPv6(server) ? canonicalAddress(server) : server;
  });
}

/** Checks the caller's resolver options; INVALID_DNS names the first bad entry. */
export function checkResolverOptions(given: ResolverOptions): ResolverOptions {
  const checked: ResolverOptions = {};
  if (given.dns?.length) checked.dns = checkServers(given.dns);
  if (given.dnsSearch?.length) {
    checked.dnsSearch = given.dnsSearch.map((domain, i) => {
      // A trailing dot is the root: the same domain.
      const bare = domain.endsWith('.') ? domain.slice(0, -1) : domain;
      if (!isDnsName(bare)) throw invalidDns(`dnsSearch[${i}] must be a domain name: ${JSON.stringify(domain)}`);
      return bare;
    });
  }
  if (given.dnsOptions?.length) {
    checked.dnsOptions = given.dnsOptions.map((option, i) => {
      if (!RESOLVER_OPTION.test(option)) throw invalidDns(`dnsOptions[${i}] must be a resolver option, as 'ndots:2' or 'edns0': ${JSON.stringify(option)}`);
      return option;
    });
  }
  return checked;
}

const HEX_ID = /^[0-9a-f]{64}$/;

/**
 * An endpoint's names in Docker's order: the container's name, its aliases,
 * its id, and the 12-digit short id of a 64-digit hex id; each once (names
 * compare without letter case). Only DNS names: an id that is none (a 64-digit
 * id is one label over DNS's 63 bytes) is left out, so that the first name,
 * which answers PTR queries, can always be sent.
 */
export function endpointNames(name: string | undefined, aliases: readonly string[], id: string): string[] {
  const names = [name, ...aliases, isDnsName(id) ? id : undefined, HEX_ID.test(id) ? id.slice(0, 12) : undefined];
  const seen = new Set<string>();
  return names.filter((n): n is string => {
    if (n === undefined || seen.has(n.toLowerCase())) return false;
    seen.add(n.toLowerCase());
    return true;
  });
}
