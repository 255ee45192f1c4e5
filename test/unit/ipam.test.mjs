// Subnet arithmetic and lease allocation: pure functions, no privileges.
import { expect } from 'chai';

import { addressTablesJson, allocateAddress, emptyLeaseTable, leasePointers, leasesEmpty, releaseAddresses, releaseLeases, rewindPointers, spreadStart } from '../../dist/ipam/leases.js';
import { specialRange } from '../../dist/ipam/special-ranges.js';
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

  it('starts the search of each host that shares a subnet at a point of its own, inside the range, once', () => {
    const wide = Subnet.parse('10.9.0.0/16');
    const starts = ['192.168.90.1', '192.168.90.2', '192.168.90.3'].map((underlay) => {
      const table = emptyLeaseTable();
      spreadStart(table, wide, underlay);
      return allocateAddress(table, wide, 'a', new Set(['10.9.0.1']));
    });
    expect(new Set(starts).size, starts.join()).to.equal(3);
    // The same host always starts at the same point.
    const again = emptyLeaseTable();
    spreadStart(again, wide, '192.168.90.2');
    expect(allocateAddress(again, wide, 'a', new Set(['10.9.0.1']))).to.equal(starts[1]);
    // A pointer that exists is kept; a range bounds the start.
    const moved = emptyLeaseTable();
    allocateAddress(moved, subnet, 'a', gateway);
    spreadStart(moved, subnet, '192.168.90.1');
    expect(allocateAddress(moved, subnet, 'b', gateway)).to.equal('10.0.0.3');
    for (const underlay of ['192.168.90.1', '192.168.90.2', '192.168.90.3', 'fd00::1']) {
      const ranged = emptyLeaseTable();
      spreadStart(ranged, subnet, underlay, { first: 4n, last: 5n });
      expect(allocateAddress(ranged, subnet, 'a', gateway, undefined, { first: 4n, last: 5n })).to.be.oneOf(['10.0.0.4', '10.0.0.5']);
    }
    // A range with no usable address (a /32 ip range on the network address): SUBNET_FULL, as without a start.
    const none = emptyLeaseTable();
    spreadStart(none, subnet, '192.168.90.1', { first: 1n, last: 0n });
    expect(code(() => allocateAddress(none, subnet, 'a', gateway, undefined, { first: 1n, last: 0n }))).to.equal('SUBNET_FULL');
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

describe('refused subnets and network names', () => {
  it('knows the special ranges a subnet may not overlap', () => {
    const special = {
      '0.0.0.0/8': 'this network',
      '0.1.0.0/16': 'this network',
      '127.5.0.0/16': 'loopback',
      '224.1.0.0/24': 'multicast',
      '239.255.0.0/16': 'multicast',
      '240.0.0.0/4': 'reserved',
      '255.255.255.0/24': 'reserved',
      '192.0.0.0/2': 'multicast', // spans 224.0.0.0/4
      '0.0.0.0/0': 'this network',
      '::/120': 'unspecified',
      '::1/128': 'loopback',
      '::ffff:10.0.0.0/120': 'IPv4-mapped',
      'fe80::/64': 'link-local',
      'febf::/16': 'link-local',
      'ff05::/64': 'multicast',
      '::/0': 'unspecified',
    };
    for (const [cidr, why] of Object.entries(special)) expect(specialRange(Subnet.parse(cidr)), cidr).to.contain(why);
    for (const cidr of ['10.0.0.0/8', '1.0.0.0/8', '126.0.0.0/8', '128.0.0.0/8', '169.254.0.0/16', '223.255.255.0/24', 'fd00::/64', '2001:db8::/32', 'fec0::/10', '::2/127', '::fffe:0:0/96']) {
      expect(specialRange(Subnet.parse(cidr)), cidr).to.equal(undefined);
    }
  });

  it('checkNetworkOptions refuses them, and the mode names host and none, with INVALID_ARGUMENT', () => {
    const refused = [
      [{ name: 'host' }, 'container mode'],
      [{ name: 'none' }, 'container mode'],
      [{ name: 'x', subnet: '224.1.0.0/24' }, 'subnet 224.1.0.0/24 is not usable for a network: it overlaps multicast'],
      [{ name: 'x', subnet: '240.0.0.0/24' }, 'reserved'],
      [{ name: 'x', subnet: '0.0.0.0/24' }, 'this network'],
      [{ name: 'x', subnet: '127.0.0.0/16' }, 'loopback'],
      [{ name: 'x', ipv6: { subnet: '::ffff:10.0.0.0/120' } }, 'ipv6.subnet ::ffff:10.0.0.0/120 is not usable'],
      [{ name: 'x', ipv6: { subnet: 'ff05::/64' } }, 'multicast'],
      [{ name: 'x', ipv6: { subnet: 'fe80::/64' } }, 'link-local'],
      [{ name: 'x', ipv6: { subnet: '::/120' } }, 'unspecified'],
    ];
    for (const [options, text] of refused) {
      let error;
      try {
        checkNetworkOptions(options);
      } catch (e) {
        error = e;
      }
      expect(error?.code, JSON.stringify(options)).to.equal('INVALID_ARGUMENT');
      expect(error.message).to.contain(text);
    }
    for (const name of ['Host', 'hosts', 'none1', 'bridge']) expect(checkNetworkOptions({ name }).name).to.equal(name);
  });
});

describe('lease pointers', () => {
  const subnet = Subnet.parse('10.5.0.0/24');
  const gateway = new Set(['10.5.0.1']);

  it('an undone lease puts the pointer back, so the next one gets the address it would have got', () => {
    const leases = { ipv4: emptyLeaseTable() };
    allocateAddress(leases.ipv4, subnet, 'a', gateway);
    const before = leasePointers(leases);
    expect(allocateAddress(leases.ipv4, subnet, 'b', gateway)).to.equal('10.5.0.3');
    const move = { before, after: leasePointers(leases) };
    releaseLeases(leases, 'b');
    expect(rewindPointers(leases, move)).to.equal(true);
    expect(allocateAddress(leases.ipv4, subnet, 'c', gateway)).to.equal('10.5.0.3');
  });

  it('leaves a pointer that moved on since, and one that did not move', () => {
    const leases = { ipv4: emptyLeaseTable() };
    const before = leasePointers(leases);
    allocateAddress(leases.ipv4, subnet, 'a', gateway);
    const move = { before, after: leasePointers(leases) };
    allocateAddress(leases.ipv4, subnet, 'b', gateway); // another connect, after ours
    releaseLeases(leases, 'a');
    expect(rewindPointers(leases, move)).to.equal(false);
    expect(leases.ipv4.last).to.equal('3');
    const still = leasePointers(leases);
    expect(rewindPointers(leases, { before: still, after: still })).to.equal(false); // a static address moves nothing
  });

  it('a first lease undone leaves leases as empty as none', () => {
    const leases = { ipv4: emptyLeaseTable(), ipv6: emptyLeaseTable() };
    const before = leasePointers(leases);
    allocateAddress(leases.ipv4, subnet, 'a', gateway);
    allocateAddress(leases.ipv6, Subnet.parse('fd00:5::/64'), 'a', new Set(['fd00:5::1']));
    expect(leasesEmpty(leases)).to.equal(false);
    releaseLeases(leases, 'a');
    expect(leasesEmpty(leases)).to.equal(false); // the pointers still say where the next lease goes
    rewindPointers(leases, { before, after: leasePointers(leases) });
    expect(addressTablesJson(leases)).to.equal('{"ipv4":{"addresses":{}},"ipv6":{"addresses":{}}}');
    expect(leasesEmpty(leases)).to.equal(true);
  });

  it('says why a static address is refused', () => {
    const table = emptyLeaseTable();
    const refusal = (address) => {
      try {
        allocateAddress(table, subnet, 'x', gateway, address);
      } catch (error) {
        return [error.code, error.message];
      }
      return ['no error'];
    };
    expect(refusal('10.6.0.1')).to.deep.equal(['ADDRESS_OUT_OF_RANGE', '10.6.0.1 is outside 10.5.0.0/24']);
    expect(refusal('10.5.0.0')[1]).to.contain('(its network address)');
    expect(refusal('10.5.0.255')[1]).to.contain('(its broadcast address)');
    expect(refusal('10.5.0.1')).to.deep.equal(['ADDRESS_IN_USE', '10.5.0.1 is reserved on 10.5.0.0/24 (the gateway)']);
    expect(allocateAddress(table, subnet, 'x', gateway, '10.5.0.9')).to.equal('10.5.0.9');
    expect(refusal('10.5.0.9')).to.deep.equal(['ADDRESS_IN_USE', '10.5.0.9 is already in use on 10.5.0.0/24']);
    const v6 = Subnet.parse('fd00:5::/64');
    let error;
    try {
      allocateAddress(emptyLeaseTable(), v6, 'x', new Set(), 'fd00:5::');
    } catch (e) {
      error = e;
    }
    expect(error.message).to.contain('subnet-router anycast');
  });
});
