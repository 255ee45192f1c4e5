/** Checks on user input, run before anything reaches the kernel. */
import { invalid } from './errors';
import { IFNAMSIZ, MAX_MTU, MIN_MTU } from './types/limits';

/** A Linux interface name: 1-15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
export function checkInterfaceName(name: unknown, what = 'interface name'): string {
  if (typeof name !== 'string' || name.length === 0) throw invalid(`${what} must be a non-empty string`);
  if (Buffer.byteLength(name) >= IFNAMSIZ) {
    throw invalid(`${what} "${name}" is longer than ${IFNAMSIZ - 1} bytes`);
  }
  if (/[/:\s\0]/.test(name) || name === '.' || name === '..') {
    throw invalid(`${what} "${name}" may not contain '/', ':' or whitespace, nor be '.' or '..'`);
  }
  return name;
}

/** A name for an interface to make or rename: also not 'all' or 'default', which the kernel refuses (EINVAL). */
export function checkNewInterfaceName(name: unknown, what = 'interface name'): string {
  checkInterfaceName(name, what);
  // The names of the per-interface sysctl directories that are no interface: net.ipv4.conf.all, .default.
  if (name === 'all' || name === 'default') throw invalid(`${what} "${name}" is reserved by the kernel (net.ipv4.conf.${name})`);
  return name as string;
}

/** A unicast MAC address in colon form; returned in lower case. */
export function checkMac(mac: unknown, what = 'MAC address'): string {
  if (typeof mac !== 'string' || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) {
    throw invalid(`${what} must look like 02:42:ac:11:00:02, got ${String(mac)}`);
  }
  const lower = mac.toLowerCase();
  if (parseInt(lower.slice(0, 2), 16) & 1) throw invalid(`${what} ${mac} is a multicast address`);
  if (lower === '00:00:00:00:00:00') throw invalid(`${what} may not be all zeros`);
  return lower;
}

export function checkMtu(mtu: unknown): number {
  if (!Number.isInteger(mtu) || (mtu as number) < MIN_MTU || (mtu as number) > MAX_MTU) {
    throw invalid(`MTU must be an integer from ${MIN_MTU} to ${MAX_MTU}, got ${String(mtu)}`);
  }
  return mtu as number;
}

export function checkUint(value: unknown, what: string, max = 0xffffffff, min = 0): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value as number;
}

/** A boolean option. */
export function checkBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw invalid(`${what} must be true or false, got ${String(value)}`);
  return value;
}

/** An interface alias (IFLA_IFALIAS): printable, under 256 bytes. */
export function checkAlias(alias: unknown): string {
  if (typeof alias !== 'string' || Buffer.byteLength(alias) > 255 || /[\0\n]/.test(alias)) {
    throw invalid('alias must be a string of at most 255 bytes without NUL or newline');
  }
  return alias;
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (!allowed.includes(value as T)) {
    throw invalid(`${what} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}
