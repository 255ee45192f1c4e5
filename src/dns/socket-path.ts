/** Where the resolver service's control socket is, for the service and its client. */
export const DEFAULT_DNS_SOCKET = '/run/nsnet/dns.sock';

/** `NSNET_DNS_SOCKET`, else DEFAULT_DNS_SOCKET. */
export function dnsSocketPath(): string {
  return process.env.NSNET_DNS_SOCKET || DEFAULT_DNS_SOCKET;
}

/** The file holding the service's pid, beside its socket. */
export function dnsPidPath(socketPath: string): string {
  return `${socketPath}.pid`;
}
