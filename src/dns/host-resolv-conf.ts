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

function freeze(conf: ResolvConf): ResolvConf {
  return Object.freeze({ nameservers: Object.freeze(conf.nameservers), search: Object.freeze(conf.search), options: Object.freeze(conf.options) }) as ResolvConf;
}

/** The last text read of each file, and what it parsed to. */
const parsed = new Map<string, { text: string; conf: ResolvConf }>();

/**
 * Read synchronously, and parsed again only when its text changed: a setup
 * reads it for every container, and the thread pool's four trips for a
 * small file cost more than the read. (File times cannot tell: a rewrite
 * within a clock tick keeps them.)
 */
async function readConf(path: string): Promise<ResolvConf | undefined> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const known = parsed.get(path);
  if (known?.text === text) return known.conf;
  // Shared by every caller until the file changes: frozen, so that none can change it for the others.
  const conf = freeze(parseResolvConf(text));
  parsed.set(path, { text, conf });
  return conf;
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
