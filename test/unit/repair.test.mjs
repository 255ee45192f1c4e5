// What reconcile repairs on an existing bridge, from its state as read: no privileges.
import { readFileSync } from 'node:fs';

import { expect } from 'chai';

import { eui64LinkLocal } from '../../dist/network/mac.js';
import { bridgeRepairs } from '../../dist/network/repair.js';

const network = {
  name: 'web',
  bridge: 'nsbr-web',
  bridgeMac: '02:00:00:00:00:0a',
  subnet: '10.90.1.0/24',
  gateway: '10.90.1.1',
  subnetAuto: false,
  ipv6: { subnet: 'fd00:5a::/64', gateway: 'fd00:5a::1' },
  mtu: 1500,
  masquerade: true,
  icc: true,
  internal: false,
  hostIp: '0.0.0.0',
  firewall: 'nftables',
  activeFirewall: 'nftables',
  created: '2026-01-01T00:00:00.000Z',
};

const allSet = new Map([
  ['net/ipv6/conf/nsbr-web/accept_ra', '0'],
  ['net/ipv4/conf/nsbr-web/route_localnet', '1'],
  ['net.ipv4.ip_forward', '1'],
  ['net.ipv6.conf.all.forwarding', '1'],
]);
const whole = { mtu: 1500, up: true };
const gateways = [{ cidr: '10.90.1.1/24' }, { cidr: 'fd00:5a::1/64' }, { cidr: 'fe80::1/64' }];

describe('bridge repairs', () => {
  it('finds nothing to do on a bridge as its network wants it', () => {
    expect(bridgeRepairs(network, whole, gateways, allSet)).to.deep.equal([]);
  });

  it('puts back MTU, sysctls, both gateway addresses, then up', () => {
    const sysctls = new Map([...allSet, ['net/ipv4/conf/nsbr-web/route_localnet', '0'], ['net.ipv4.ip_forward', undefined]]);
    const repairs = bridgeRepairs(network, { mtu: 9000, up: false }, [{ cidr: '10.90.1.1/16' }], sysctls);
    expect(repairs.map((r) => r.what)).to.deep.equal([
      'bridge nsbr-web MTU set back to 1500 (was 9000)',
      'sysctl net/ipv4/conf/nsbr-web/route_localnet set back to 1 (was 0)',
      'sysctl net.ipv4.ip_forward set back to 1 (was missing)',
      'gateway address 10.90.1.1/24 put back on bridge nsbr-web',
      'gateway address fd00:5a::1/64 put back on bridge nsbr-web',
      'bridge nsbr-web up again',
    ]);
    expect(repairs.find((r) => r.kind === 'address' && r.address.cidr === 'fd00:5a::1/64').address.nodad).to.equal(true);
    expect(repairs.find((r) => r.kind === 'address' && r.address.cidr === '10.90.1.1/24').address.nodad).to.equal(false);
  });

  it('leaves an IPv6 sysctl the kernel does not have, but not an IPv4 one', () => {
    const sysctls = new Map([...allSet, ['net/ipv6/conf/nsbr-web/accept_ra', undefined], ['net.ipv6.conf.all.forwarding', undefined]]);
    expect(bridgeRepairs(network, whole, gateways, sysctls)).to.deep.equal([]);
    const accepting = new Map([...allSet, ['net/ipv6/conf/nsbr-web/accept_ra', '1']]);
    expect(bridgeRepairs(network, whole, gateways, accepting).map((r) => r.what)).to.deep.equal(['sysctl net/ipv6/conf/nsbr-web/accept_ra set back to 0 (was 1)']);
  });

  it('puts back the link-local address of a dual-stack bridge that is up, derived from its MAC', () => {
    const withoutLinkLocal = gateways.filter((a) => !a.cidr.startsWith('fe80'));
    const repairs = bridgeRepairs(network, whole, withoutLinkLocal, allSet);
    expect(repairs.map((r) => r.what)).to.deep.equal(['link-local address fe80::ff:fe00:a/64 put back on bridge nsbr-web']);
    expect(repairs[0].address).to.deep.equal({ cidr: 'fe80::ff:fe00:a/64', nodad: true });
    // A bridge that is down gets one from the kernel as it goes up; an IPv4-only network needs none.
    expect(bridgeRepairs(network, { ...whole, up: false }, withoutLinkLocal, allSet).map((r) => r.kind)).to.deep.equal(['up']);
    const v4only = { ...network, ipv6: undefined };
    expect(bridgeRepairs(v4only, whole, [{ cidr: '10.90.1.1/24' }], allSet)).to.deep.equal([]);
  });

  it('derives link-local addresses from MACs as the kernel did (ip addr, captured)', () => {
    const listed = JSON.parse(readFileSync(new URL('../fixtures/ip-addr.json', import.meta.url), 'utf8'));
    const pairs = listed.flatMap((link) => link.addr_info.filter((a) => a.local.startsWith('fe80:')).map((a) => [link.address, a.local]));
    expect(pairs).to.have.length.greaterThan(2);
    for (const [mac, linkLocal] of pairs) expect(eui64LinkLocal(mac), mac).to.equal(linkLocal);
  });

  it('wants no gateway address, route_localnet or forwarding on an internal network', () => {
    const internal = { ...network, internal: true, ipv6: undefined };
    const sysctls = new Map([['net/ipv6/conf/nsbr-web/accept_ra', '0']]);
    expect(bridgeRepairs(internal, whole, [], sysctls)).to.deep.equal([]);
  });
});
