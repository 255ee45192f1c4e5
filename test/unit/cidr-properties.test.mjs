// Properties of IP text and subnet arithmetic (fast-check): canonical text as
// inet_ntop prints it whatever form an address was written in, subnets that
// round-trip through their text, and containment and overlap checked against
// plain prefix comparison.
import { isIP } from 'node:net';

import { expect } from 'chai';
import fc from 'fast-check';

import { NsnetError } from '../../dist/errors.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { addressBytes, canonicalAddress, parseCidr, toNumber, toText } from '../../dist/types/ip.js';
import { groupsToNumber, inetNtop, ipv4Number, ipv6, ipv6Form, ipv6Groups, ipv6Text, numberToIpv4 } from './arbitraries.mjs';

const bitsOf = (family) => (family === 4 ? 32 : 128);

/** The eight groups of an IPv6 address's number. */
const groupsOf = (value) => Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(16 * (7 - i))) & 0xffffn));

/** { family, value }: an address as a number. */
const address = fc.oneof(
  ipv4Number.map((value) => ({ family: 4, value })),
  ipv6Groups.map((groups) => ({ family: 6, value: groupsToNumber(groups) })),
);

/** { family, value, prefixLength }: a prefix of a random address (host bits not yet cleared). */
const prefix = address.chain(({ family, value }) =>
  fc.integer({ min: 0, max: bitsOf(family) }).map((prefixLength) => ({ family, value, prefixLength })),
);

/** Whether `value` lies in the prefix `base/prefixLength` of `family`: the top bits agree. */
function inPrefix(family, base, prefixLength, value) {
  const hostBits = BigInt(bitsOf(family) - prefixLength);
  return value >> hostBits === base >> hostBits;
}

/** What `parse` returns, or undefined when it refused with INVALID_ARGUMENT (any other exception fails). */
function parsedOrRefused(parse) {
  try {
    return parse();
  } catch (error) {
    expect(error).to.be.instanceOf(NsnetError);
    expect(error.code).to.equal('INVALID_ARGUMENT');
    return undefined;
  }
}

describe('IP text (properties)', () => {
  it('prints every text form of an IPv6 address as inet_ntop does', () => {
    fc.assert(
      fc.property(ipv6, ({ groups, text }) => {
        const expected = inetNtop(text, 6);
        expect(canonicalAddress(text), text).to.equal(expected);
        expect(toText(6, groupsToNumber(groups))).to.equal(expected);
        expect(toNumber(text)).to.equal(groupsToNumber(groups));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps IPv4 text as it is and round-trips it through numbers and bytes', () => {
    fc.assert(
      fc.property(ipv4Number, (value) => {
        const text = numberToIpv4(value);
        expect(canonicalAddress(text)).to.equal(inetNtop(text, 4));
        expect(toText(4, toNumber(text))).to.equal(text);
        expect(Array.from(addressBytes(text)).join('.')).to.equal(text);
      }),
    );
  });

  it('refuses any other text with an NsnetError, never another exception', () => {
    const text = fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F:./%]{0,45}$/));
    fc.assert(
      fc.property(text, (cidr) => {
        const parsed = parsedOrRefused(() => parseCidr(cidr));
        if (parsed) expect(isIP(parsed.address)).to.equal(parsed.family);
        const subnet = parsedOrRefused(() => Subnet.parse(cidr));
        if (subnet) expect(subnet.contains(subnet.address(0n))).to.equal(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Subnet (properties)', () => {
  it('round-trips through its canonical text, from any text form of its network address', () => {
    fc.assert(
      fc.property(prefix, ipv6Form, ({ family, value, prefixLength }, form) => {
        const subnet = Subnet.of(family, value, prefixLength);
        const written = family === 4 ? subnet.address(0n) : ipv6Text(groupsOf(subnet.base), form);
        expect(Subnet.parse(`${written}/${prefixLength}`).cidr).to.equal(subnet.cidr);
        const again = Subnet.parse(subnet.cidr);
        expect([again.family, again.base, again.prefixLength, again.cidr]).to.deep.equal([
          family,
          subnet.base,
          prefixLength,
          subnet.cidr,
        ]);
        expect(inPrefix(family, subnet.base, prefixLength, value)).to.equal(true);
        expect(subnet.cidr).to.equal(`${inetNtop(subnet.address(0n), family)}/${prefixLength}`);
      }),
    );
  });

  it('refuses a network address with host bits set, with INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(prefix, ({ family, value, prefixLength }) => {
        const base = Subnet.of(family, value, prefixLength).base;
        fc.pre(base !== value);
        const text = `${toText(family, value)}/${prefixLength}`;
        expect(() => Subnet.parse(text)).to.throw(NsnetError).with.property('code', 'INVALID_ARGUMENT');
      }),
    );
  });

  it('contains exactly the addresses that share its prefix, of its own family only', () => {
    fc.assert(
      fc.property(prefix, address, (p, other) => {
        const subnet = Subnet.of(p.family, p.value, p.prefixLength);
        const text = toText(other.family, other.value);
        const expected = other.family === p.family && inPrefix(p.family, subnet.base, p.prefixLength, other.value);
        expect(subnet.contains(text), `${subnet.cidr} ${text}`).to.equal(expected);
        expect(subnet.contains(toText(p.family, p.value))).to.equal(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('overlaps symmetrically, exactly when one holds the other', () => {
    // Pairs of one family, often sharing a prefix, so that overlaps are common.
    const pair = prefix.chain((a) =>
      fc.record({
        a: fc.constant(a),
        b: fc.oneof(
          fc.integer({ min: 0, max: bitsOf(a.family) }).map((prefixLength) => ({ ...a, prefixLength })),
          prefix,
        ),
      }),
    );
    fc.assert(
      fc.property(pair, ({ a, b }) => {
        const x = Subnet.of(a.family, a.value, a.prefixLength);
        const y = Subnet.of(b.family, b.value, b.prefixLength);
        const holds = (outer, inner) =>
          outer.family === inner.family && outer.prefixLength <= inner.prefixLength && outer.contains(inner.address(0n));
        expect(x.overlaps(y), `${x.cidr} ${y.cidr}`).to.equal(y.overlaps(x));
        expect(x.overlaps(y)).to.equal(holds(x, y) || holds(y, x));
      }),
      { numRuns: 2000 },
    );
  });
});
