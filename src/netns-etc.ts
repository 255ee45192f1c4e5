/** Where a named namespace's own /etc files live (`<dir>/<name>/resolv.conf`), as `ip netns exec` reads them: `NSNET_NETNS_ETC_DIR`, else /etc/netns. */
export function netnsEtcDir(): string {
  return process.env.NSNET_NETNS_ETC_DIR || '/etc/netns';
}
