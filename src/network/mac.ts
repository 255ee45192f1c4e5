/** Random MAC addresses as Docker (28+) gives them: locally administered, unicast. */
import { randomBytes } from 'node:crypto';

export function randomLocalMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0] & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
