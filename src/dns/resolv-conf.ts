/** A container's /etc/resolv.conf, from the host's and the caller's options. */
import type { ResolvConf } from './host-resolv-conf';

export interface ContainerResolvOptions {
  /** The servers the container asks: the network's resolver, or (without one) the caller's or the host's. */
  nameservers: string[];
  /** The host's search domains and options, which the container inherits. */
  host: ResolvConf;
  /** Added by the caller (`dnsSearch`, `dnsOptions`). */
  search?: string[];
  options?: string[];
  /** `options ndots:0` unless the caller sets ndots: names of the network are single labels. */
  defaultNdots0: boolean;
}

/** resolv.conf(5) text; a caller's option replaces the host's of the same name. */
export function containerResolvConf(given: ContainerResolvOptions): string {
  const search = [...new Set([...(given.search ?? []), ...given.host.search])];
  const options = new Map<string, string>();
  for (const option of [...given.host.options, ...(given.options ?? [])]) options.set(option.split(':')[0]!, option);
  if (given.defaultNdots0 && !options.has('ndots')) options.set('ndots', 'ndots:0');
  const lines = ['# Written by nsnet for this container.', ...given.nameservers.map((server) => `nameserver ${server}`)];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (options.size > 0) lines.push(`options ${[...options.values()].join(' ')}`);
  return `${lines.join('\n')}\n`;
}
