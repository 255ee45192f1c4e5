/**
 * The host's resolver configuration: where forwarded queries go, and the
 * search domains and options a container's resolv.conf inherits.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

const DEFAULT_HOST_RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's list of its upstream servers, behind its 127.0.0.53 stub. */
const RESOLVED_UPSTREAMS = '/run/systemd/resolve/resolv.conf';
const RESOLVED_STUB = '127.0.0.53';

/** `NSNET_HOST_RESOLV_CONF`, else /etc/resolv.conf. */
export function hostResolvConfPath(): string {
  return process.env.NSNET_HOST_RESOLV_CONF || DEFAULT_HOST_RESOLV_CONF;
}

/** Parses resolv.conf(5) text; unknown lines and malformed addresses are skipped, as libc does. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === 'nameserver' && values[0] && isIP(values[0].replace(/%.*$/, ''))) conf.nameservers.push(values[0]);
    // The last search (or domain) line wins.
    else if (keyword === 'search' || keyword === 'domain') conf.search = values.filter(Boolean);
    else if (keyword === 'options') conf.options.push(...values.filter(Boolean));
  }
  return conf;
}

/**
 * Read on the JS thread: a small local file takes microseconds, where
 * readFile's four trips through the thread pool (open, stat, read, close)
 * queued behind a setup's own work and ended after the rest of it.
 */
async function readConf(path: string): Promise<ResolvConf | undefined> {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The host's resolv.conf (none at all reads as empty). */
export async function readHostResolvConf(): Promise<ResolvConf> {
  return (await readConf(hostResolvConfPath())) ?? { nameservers: [], search: [], options: [] };
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * Name servers a container can reach itself, for a network without nsnet's
 * resolver: the host's, with systemd-resolved's stub followed to its
 * upstreams and loopback addresses (the host's own, not the container's)
 * left out, as Docker does.
 */
export async function reachableHostNameservers(conf: ResolvConf): Promise<string[]> {
  let servers = conf.nameservers;
  if (servers.length > 0 && servers.every((server) => server === RESOLVED_STUB)) {
    servers = (await readConf(RESOLVED_UPSTREAMS))?.nameservers ?? [];
  }
  return servers.filter((server) => !isLoopback(server));
}
