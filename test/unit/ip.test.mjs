// IP text: one canonical form, the one inet_ntop prints (as the addon and
// Node do), so that a lease key and the kernel's view of an address agree.
import { SocketAddress } from 'node:net';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { canonicalAddress, isIPv6, toNumber, toText } from '../../dist/types/ip.js';

const tricky = [
  '::ffff:1.2.3.4',
  '0:0:0:0:0:ffff:102:304',
  '::ffff:0:0',
  '::1.2.3.4',
  '::1:0',
  '::2',
  '2001:db8:0:0:1:0:0:1',
  '2001:db8::1:0:0:1',
  '1:0:0:1:0:0:0:1',
  '::1',
  'fe80::',
  '0:0:0:0:0:0:0:0',
  '2001:DB8::ABCD',
  'FD00:0000:0000:0000:0000:0000:0000:0001',
  '64:ff9b::1.2.3.4',
  '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:8',
];

describe('IP text', () => {
  it("prints IPv6 as Node's inet_ntop does", () => {
    for (const address of tricky) {
      const node = new SocketAddress({ address, family: 'ipv6' }).address;
      expect(canonicalAddress(address), address).to.equal(node);
      expect(toText(6, toNumber(address)), address).to.equal(node);
    }
  });

  it("prints IPv6 as the addon's inet_ntop does (an address encoded and parsed back)", () => {
    for (const address of tricky) {
      const [parsed] = native().parseAddresses(native().encodeAddress(true, { index: 1, address, prefixLength: 128 }));
      expect(canonicalAddress(address), address).to.equal(parsed.address);
    }
  });

  it('prints an IPv4-mapped address in dotted form, and IPv4 as it is', () => {
    expect(canonicalAddress('::ffff:102:304')).to.equal('::ffff:1.2.3.4');
    expect(canonicalAddress('10.0.0.1')).to.equal(new SocketAddress({ address: '10.0.0.1' }).address);
    expect(toText(4, 0x0a000001n)).to.equal('10.0.0.1');
  });

  it('reads "::a.b.c.d" as inet_pton does (the groups a.b and c.d, not IPv4-mapped)', () => {
    expect(toNumber('::1.2.3.4')).to.equal(0x01020304n);
    expect(toNumber('::ffff:1.2.3.4')).to.equal(0xffff01020304n);
  });

  it('refuses what inet_pton refuses (short, octal and hex IPv4 forms, zone ids)', () => {
    for (const address of ['127.1', '010.0.0.1', '0x7f.0.0.1', 'fe80::1%eth0', '1.2.3']) {
      expect(() => canonicalAddress(address), address).to.throw().with.property('code', 'INVALID_ARGUMENT');
    }
  });

  it('tells IPv6 by its family', () => {
    expect(isIPv6('::')).to.equal(true);
    expect(isIPv6('::ffff:1.2.3.4')).to.equal(true);
    expect(isIPv6('10.0.0.1')).to.equal(false);
  });
});
