/** MAC addresses: random ones as Docker (28+) gives them (locally administered, unicast), and what derives from one. */
import { randomBytes } from 'node:crypto';

import { toText } from '../types/ip';

/** A random locally administered unicast MAC. */
export function randomLocalMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0] & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The IPv6 link-local address the kernel gives an interface with this MAC (EUI-64, addrgenmode eui64). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((byte) => parseInt(byte, 16));
  const bytes = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
  return toText(6, bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n));
}
