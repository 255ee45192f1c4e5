/**
 * nf_tables set and map elements, changed through netlink in one transaction:
 * the per-container path of the nftables firewall (no `nft` process).
 */
import { endianness } from 'node:os';

import { invalid } from '../../errors';
import { addressBytes, ipFamily } from '../../types/ip';
import { native } from '../../native';
import type { NftConnection } from '../../kernel/nft-connection';
import { IFNAMSIZ } from '../../types/limits';
import { type PortProtocol, PROTOCOL_NUMBERS } from '../../types/ports';

export const NFPROTO_INET = 1;
export const NFPROTO_BRIDGE = 7;

/** Fields of set keys and map values, in nf_tables' byte layout. */
export const field = {
  ipv4(address: string): Buffer {
    if (ipFamily(address) !== 4) throw invalid(`not an IPv4 address: ${address}`);
    return Buffer.from(addressBytes(address));
  },
  ipv6(address: string): Buffer {
    if (ipFamily(address) !== 6) throw invalid(`not an IPv6 address: ${address}`);
    return Buffer.from(addressBytes(address));
  },
  /** inet_proto: one byte. */
  protocol(name: PortProtocol): Buffer {
    const number = PROTOCOL_NUMBERS[name];
    if (number === undefined) throw invalid(`protocol must be tcp, udp or sctp: ${String(name)}`);
    return Buffer.from([number]);
  },
  /** inet_service: a port in network byte order. */
  port(port: number): Buffer {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`port must be 1-65535: ${String(port)}`);
    const buffer = Buffer.alloc(2);
    buffer.writeUInt16BE(port);
    return buffer;
  },
  /** devgroup: an interface group, in host byte order. */
  devgroup(group: number): Buffer {
    const buffer = Buffer.alloc(4);
    if (endianness() === 'LE') buffer.writeUInt32LE(group);
    else buffer.writeUInt32BE(group);
    return buffer;
  },
  /** ifname: the name, NUL-padded to IFNAMSIZ. */
  ifname(name: string): Buffer {
    const buffer = Buffer.alloc(IFNAMSIZ);
    if (Buffer.byteLength(name) >= IFNAMSIZ) throw invalid(`interface name too long: ${name}`);
    buffer.write(name);
    return buffer;
  },
};

/** A concatenation (a . b . c): each field padded to nf_tables' 4-byte registers. */
export function concat(...fields: Buffer[]): Buffer {
  return Buffer.concat(fields.map((f) => Buffer.concat([f, Buffer.alloc((4 - (f.length % 4)) % 4)])));
}

export interface SetElement {
  key: Buffer;
  /** A map's value. */
  data?: Buffer;
}

export interface SetChange {
  /** 'flush' empties the set (its elements are ignored). */
  op: 'add' | 'delete' | 'flush';
  set: string;
  elements: SetElement[];
  /** add: fail with EEXIST if an element is there already. */
  exclusive?: boolean;
  /** The table's family: inet (default) or bridge. */
  family?: 'inet' | 'bridge';
}

/** The message of one change to a set of table `<family> <table>`. */
export function encodeSetChange(table: string, change: SetChange): Buffer {
  return native().encodeSetElements({
    add: change.op === 'add',
    exclusive: Boolean(change.exclusive),
    family: change.family === 'bridge' ? NFPROTO_BRIDGE : NFPROTO_INET,
    table,
    set: change.set,
    elements: change.op === 'flush' ? [] : change.elements,
    flush: change.op === 'flush',
  });
}

// Elements per message: their list is one attribute, whose length has 16 bits.
const ELEMENTS_PER_MESSAGE = 1000;

/** Applies changes to sets of `inet <table>` as one transaction: all or none. */
export async function applySetChanges(conn: NftConnection, table: string, changes: SetChange[]): Promise<void> {
  const requests = changes.flatMap((change) => {
    if (change.op === 'flush') {
      return [{ op: `nft flush set ${change.family ?? 'inet'} ${table} ${change.set}`, message: encodeSetChange(table, change) }];
    }
    const parts = [];
    for (let i = 0; i < change.elements.length; i += ELEMENTS_PER_MESSAGE) {
      const part = { ...change, elements: change.elements.slice(i, i + ELEMENTS_PER_MESSAGE) };
      parts.push({
        op: `nft ${change.op} element ${change.family ?? 'inet'} ${table} ${change.set} (${part.elements.length})`,
        message: encodeSetChange(table, part),
      });
    }
    return parts;
  });
  if (requests.length) await conn.transaction(requests);
}
