// Subnet arithmetic and lease allocation: pure functions, no privileges.
import { expect } from 'chai';

import { allocateAddress, emptyLeaseTable, releaseAddresses } from '../../dist/ipam/leases.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { toText } from '../../dist/types/ip.js';
import { checkNetworkOptions, defaultBridgeName, differences } from '../../dist/network/options.js';
import { errorCode as code } from '../helpers.mjs';

describe('Subnet', () => {
  it('parses IPv4 and IPv6 prefixes and refuses host bits', () => {
    const v4 = Subnet.parse('10.89.3.0/24');
    expect([v4.family, v4.prefixLength, v4.size, v4.cidr]).to.deep.equal([4, 24, 256n, '10.89.3.0/24']);
    expect(Subnet.parse('fd00:5a::/64').cidr).to.equal('fd00:5a::/64');
    expect(code(() => Subnet.parse('10.89.3.1/24'))).to.equal('INVALID_ARGUMENT');
    expect(code(() => Subnet.parse('10.89.3.0'))).to.equal('INVALID_ARGUMENT');
  });

  it('knows containment and overlap, across families too', () => {
    const a = Subnet.parse('10.0.0.0/16');
    expect(a.contains('10.0.255.255')).to.equal(true);
    expect(a.contains('10.1.0.0')).to.equal(false);
    expect(a.contains('fd00::1')).to.equal(false);
    expect(a.overlaps(Subnet.parse('10.0.128.0/17'))).to.equal(true);
    expect(a.overlaps(Subnet.parse('10.1.0.0/16'))).to.equal(false);
    expect(a.overlaps(Subnet.parse('::/0'))).to.equal(false);
  });

  it('keeps network and broadcast back on IPv4, except /31 and /32', () => {
    expect(Subnet.parse('10.0.0.0/24').usableRange).to.deep.equal({ first: 1n, last: 254n });
    expect(Subnet.parse('10.0.0.0/31').usableRange).to.deep.equal({ first: 0n, last: 1n });
    expect(Subnet.parse('fd00::/120').usableRange).to.deep.equal({ first: 1n, last: 255n });
  });

  it('prints IPv6 in RFC 5952 form', () => {
    expect(toText(6, 0n)).to.equal('::');
    expect(toText(6, 1n)).to.equal('::1');
    expect(Subnet.parse('fd00:0:0:1::/64').address(2n)).to.equal('fd00:0:0:1::2');
    expect(Subnet.parse('2001:db8::/32').address((1n << 64n) + 5n)).to.equal('2001:db8:0:1::5');
  });
});

describe('leases', () => {
  const subnet = Subnet.parse('10.0.0.0/29'); // .1 to .6 usable
  const gateway = new Set(['10.0.0.1']);

  it('hands out addresses round-robin, skipping the gateway, until SUBNET_FULL', () => {
    const table = emptyLeaseTable();
    const got = ['a', 'b', 'c', 'd', 'e'].map((owner) => allocateAddress(table, subnet, owner, gateway));
    expect(got).to.deep.equal(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(code(() => allocateAddress(table, subnet, 'f', gateway))).to.equal('SUBNET_FULL');
    expect(releaseAddresses(table, 'b')).to.deep.equal(['10.0.0.3']);
    expect(allocateAddress(table, subnet, 'f', gateway)).to.equal('10.0.0.3');
  });

  it('does not reuse a released address at once', () => {
    const table = emptyLeaseTable();
    expect(allocateAddress(table, subnet, 'a', gateway)).to.equal('10.0.0.2');
    releaseAddresses(table, 'a');
    expect(allocateAddress(table, subnet, 'b', gateway)).to.equal('10.0.0.3');
  });

  it('honours a static address, or says why not', () => {
    const table = emptyLeaseTable();
    expect(allocateAddress(table, subnet, 'a', gateway, '10.0.0.5')).to.equal('10.0.0.5');
    expect(code(() => allocateAddress(table, subnet, 'b', gateway, '10.0.0.5'))).to.equal('ADDRESS_IN_USE');
    expect(code(() => allocateAddress(table, subnet, 'b', gateway, '10.0.0.1'))).to.equal('ADDRESS_IN_USE');
    expect(code(() => allocateAddress(table, subnet, 'b', gateway, '10.0.0.7'))).to.equal('ADDRESS_OUT_OF_RANGE');
    expect(code(() => allocateAddress(table, subnet, 'b', gateway, '10.0.0.0'))).to.equal('ADDRESS_OUT_OF_RANGE');
    expect(code(() => allocateAddress(table, subnet, 'b', gateway, '10.0.1.2'))).to.equal('ADDRESS_OUT_OF_RANGE');
  });

  it('allocates in a huge IPv6 subnet without walking it', () => {
    const table = emptyLeaseTable();
    const v6 = Subnet.parse('fd00::/64');
    expect(allocateAddress(table, v6, 'a', new Set(['fd00::1']))).to.equal('fd00::2');
    expect(allocateAddress(table, v6, 'b', new Set(['fd00::1']), 'fd00::ffff:1')).to.equal('fd00::ffff:1');
  });
});

describe('network options', () => {
  it('fills in defaults and the gateway', () => {
    const checked = checkNetworkOptions({ name: 'web', subnet: '10.90.1.0/24', ipv6: { subnet: 'fd00:5a::/64' } });
    expect(checked).to.deep.include({ bridge: 'nsbr-web', gateway: '10.90.1.1', mtu: 1500, masquerade: true, icc: true, internal: false });
    expect(checked.ipv6).to.deep.equal({ subnet: 'fd00:5a::/64', gateway: 'fd00:5a::1' });
  });

  it('names bridges of long network names by a hash, within 15 bytes', () => {
    const long = defaultBridgeName('a-very-long-network-name');
    expect(long).to.match(/^nsbr-[0-9a-f]{10}$/);
    expect(defaultBridgeName('a-very-long-network-names')).to.not.equal(long);
  });

  it('compares what was asked with what exists', () => {
    const record = { ...checkNetworkOptions({ name: 'web', subnet: '10.90.1.0/24' }), subnet: '10.90.1.0/24', gateway: '10.90.1.1' };
    expect(differences(record, checkNetworkOptions({ name: 'web' }))).to.deep.equal([]);
    expect(differences(record, checkNetworkOptions({ name: 'web', subnet: '10.90.2.0/24', icc: false }))).to.deep.equal(['icc', 'subnet']);
  });
});
