/**
 * Text fields of stored records that reach the kernel or a firewall script:
 * addresses, prefixes, interface names, MAC addresses. Checked when a record
 * is read, as every other field is, so that a record damaged or edited by
 * hand is STATE_CORRUPT, never a rule or a request of its own making (a
 * bridge name goes into iptables-restore's input as it is).
 */
import { isIP } from 'node:net';

import v = require('valibot');

import { IFNAMSIZ } from './limits';

const text = (fits: (text: string) => boolean, expected: string) => v.custom<string>((value) => typeof value === 'string' && fits(value), expected);

export const IpText = text((address) => isIP(address) !== 0, 'an IP address');

export const CidrText = text((cidr) => {
  const [address, length, ...rest] = cidr.split('/');
  const family = isIP(address);
  return family !== 0 && rest.length === 0 && /^\d{1,3}$/.test(length ?? '') && Number(length) <= (family === 4 ? 32 : 128);
}, 'an IP prefix such as 10.0.0.0/24');

/** A name that goes into firewall rules (a bridge, a host veth): letters, digits, '_', '.' and '-'. */
export const FirewallInterfaceName = text((name) => /^[a-zA-Z0-9_.-]+$/.test(name) && name.length < IFNAMSIZ, `an interface name of letters, digits, '_', '.' and '-', under ${IFNAMSIZ} bytes`);

/** Any name the kernel takes for an interface. */
export const InterfaceName = text(
  (name) => name.length > 0 && Buffer.byteLength(name) < IFNAMSIZ && !/[/:\s\0]/.test(name) && name !== '.' && name !== '..',
  'an interface name',
);

export const MacText = text((mac) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac), 'a MAC address');
