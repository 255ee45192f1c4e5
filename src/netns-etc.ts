/**
 * Where a named namespace's own /etc files live, as `ip netns exec` looks for
 * them (`/etc/netns/<name>/resolv.conf` is bound over /etc/resolv.conf for
 * programs run in it); NSNET_NETNS_ETC_DIR moves it, for tests.
 */
export function netnsEtcDir(): string {
  return process.env.NSNET_NETNS_ETC_DIR || '/etc/netns';
}
