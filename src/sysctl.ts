/** Sysctl keys (`net.ipv4.ip_forward`) and their files under /proc/sys. */
import { invalid } from './errors';

/**
 * The /proc/sys path of a `net.*` key. Dotted keys split on dots; a key with
 * slashes (`net/ipv4/conf/eth0.100/rp_filter`) splits on slashes, for
 * interface names that contain a dot.
 */
export function sysctlPath(key: unknown): string {
  if (typeof key !== 'string') throw invalid('sysctl key must be a string such as net.ipv4.ip_forward');
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  const valid = parts.length >= 2 && parts[0] === 'net' && parts.every((p) => /^[A-Za-z0-9_.-]+$/.test(p) && p !== '.' && p !== '..');
  if (!valid) throw invalid(`sysctl key must name a net.* setting, e.g. net.ipv4.ip_forward: ${key}`);
  return `/proc/sys/${parts.join('/')}`;
}
