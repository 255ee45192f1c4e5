/** Where an asker's forwarded queries go: its own servers, else the host's. */
import type { DnsEndpoint } from '../types/dns';
import { readHostResolvConf } from './host-resolv-conf';

/** The host's resolv.conf is read again at most this often (forwarding must not read a file per query). */
const HOST_CONF_TTL_MS = 1000;

let hostServers: { servers: string[]; at: number } | undefined;

async function hostNameservers(): Promise<string[]> {
  const now = Date.now();
  if (!hostServers || now - hostServers.at > HOST_CONF_TTL_MS) hostServers = { servers: (await readHostResolvConf()).nameservers, at: now };
  return hostServers.servers;
}

/** The container's `dns` servers if it has any, else the host's resolv.conf name servers. */
export async function upstreamsOf(asker: DnsEndpoint): Promise<string[]> {
  return asker.upstreams && asker.upstreams.length > 0 ? asker.upstreams : hostNameservers();
}
