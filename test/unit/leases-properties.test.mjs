// Properties of the lease allocator (fast-check), over small IPv4 and IPv6
// subnets and random runs of allocations, requests and releases: an address
// is never handed out twice, nor the network, broadcast or gateway address;
// a released address can be had again; a subnet fills exactly its usable range.
import { expect } from 'chai';
import fc from 'fast-check';

import { NsnetError } from '../../dist/errors.js';
import { allocateAddress, emptyLeaseTable, releaseAddresses } from '../../dist/ipam/leases.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { groupsToNumber, ipv4Number, ipv6Groups } from './arbitraries.mjs';

/** A subnet of at most 256 addresses, /31, /32, /127 and /128 among them. */
const smallSubnet = fc.oneof(
  fc.tuple(ipv4Number, fc.integer({ min: 24, max: 32 })).map(([value, prefix]) => Subnet.of(4, value, prefix)),
  fc
    .tuple(ipv6Groups, fc.integer({ min: 120, max: 128 }))
    .map(([groups, prefix]) => Subnet.of(6, groupsToNumber(groups), prefix)),
);

/** Offsets an address may be handed out at, worked out from the family and prefix alone. */
function usableOffsets(subnet) {
  const size = Number(subnet.size);
  const offsets = Array.from({ length: size }, (_, i) => i);
  if (subnet.family === 4 && subnet.prefixLength < 31) return offsets.slice(1, -1); // network and broadcast
  if (subnet.family === 6 && subnet.prefixLength < 128) return offsets.slice(1); // subnet-router anycast
  return offsets;
}

/** The gateway a network keeps back: the first usable address (none when it is the only one). */
function reservedOf(subnet) {
  const usable = usableOffsets(subnet);
  return new Set(usable.length > 1 ? [subnet.address(BigInt(usable[0]))] : []);
}

const operation = fc.oneof(
  fc.record({ op: fc.constant('allocate'), owner: fc.nat(30) }),
  fc.record({ op: fc.constant('request'), owner: fc.nat(30), offset: fc.nat(300) }),
  fc.record({ op: fc.constant('release'), owner: fc.nat(30) }),
);

/** Allocates until SUBNET_FULL; returns the addresses handed out, by owner `n-<i>`. */
function fill(table, subnet, reserved) {
  const handedOut = [];
  for (;;) {
    try {
      handedOut.push(allocateAddress(table, subnet, `n-${handedOut.length}`, reserved));
    } catch (error) {
      expect(error).to.be.instanceOf(NsnetError);
      expect(error.code).to.equal('SUBNET_FULL');
      return handedOut;
    }
    expect(handedOut.length).to.be.at.most(Number(subnet.size));
  }
}

describe('lease allocation (properties)', () => {
  it('never hands out an address in use, reserved, or outside the usable range', () => {
    fc.assert(
      fc.property(smallSubnet, fc.array(operation, { maxLength: 300 }), (subnet, operations) => {
        const table = emptyLeaseTable();
        const reserved = reservedOf(subnet);
        const usable = new Set(usableOffsets(subnet).map((offset) => subnet.address(BigInt(offset))));
        const leased = new Map(); // address -> owner, kept apart from the table
        for (const { op, owner, offset } of operations) {
          if (op === 'release') {
            const released = releaseAddresses(table, `o-${owner}`).sort();
            const expected = [...leased].filter(([, o]) => o === `o-${owner}`).map(([a]) => a).sort();
            expect(released).to.deep.equal(expected);
            for (const address of released) leased.delete(address);
            continue;
          }
          const requested = op === 'request' ? subnet.address(BigInt(offset)) : undefined;
          let address;
          try {
            address = allocateAddress(table, subnet, `o-${owner}`, reserved, requested);
          } catch (error) {
            expect(error).to.be.instanceOf(NsnetError);
            const taken = (a) => reserved.has(a) || leased.has(a);
            if (requested === undefined) {
              expect(error.code).to.equal('SUBNET_FULL');
              expect([...usable].every(taken), `${subnet.cidr} full`).to.equal(true);
            } else if (!usable.has(requested)) {
              expect(error.code).to.equal('ADDRESS_OUT_OF_RANGE');
            } else {
              expect(error.code).to.equal('ADDRESS_IN_USE');
              expect(taken(requested)).to.equal(true);
            }
            continue;
          }
          if (requested !== undefined) expect(address).to.equal(requested);
          expect(usable.has(address), `${address} in ${subnet.cidr}`).to.equal(true);
          expect(reserved.has(address)).to.equal(false);
          expect(leased.has(address), `${address} handed out twice`).to.equal(false);
          leased.set(address, `o-${owner}`);
          expect(table.addresses.size).to.equal(leased.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fills exactly the usable range but the gateway, and hands a released address out again', () => {
    fc.assert(
      fc.property(smallSubnet, fc.nat(), (subnet, pick) => {
        const table = emptyLeaseTable();
        const reserved = reservedOf(subnet);
        const handedOut = fill(table, subnet, reserved);
        const expected = usableOffsets(subnet)
          .map((offset) => subnet.address(BigInt(offset)))
          .filter((address) => !reserved.has(address));
        expect([...handedOut].sort()).to.deep.equal([...expected].sort());
        fc.pre(handedOut.length > 0);
        const owner = `n-${pick % handedOut.length}`;
        const [released] = releaseAddresses(table, owner);
        expect(allocateAddress(table, subnet, 'again', reserved)).to.equal(released);
        expect(fill(table, subnet, reserved)).to.deep.equal([]);
      }),
      { numRuns: 200 },
    );
  });
});
