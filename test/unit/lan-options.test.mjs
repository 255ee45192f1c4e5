// macvlan and ipvlan network options, ip ranges and aux addresses, checked
// with no privileges: what the creations refuse before they look at the host.
import { expect } from 'chai';

import { readConfig } from '../../dist/cni/config.js';
import { addResult } from '../../dist/cni/result.js';
import { allocateAddress, emptyLeaseTable } from '../../dist/ipam/leases.js';
import { Subnet } from '../../dist/ipam/subnet.js';
import { checkLanOptions, lanDifferences } from '../../dist/network/lan-options.js';
import { checkNetworkOptions } from '../../dist/network/options.js';
import { errorCode as code } from '../helpers.mjs';

const lan = { name: 'lan', parent: 'eth0', subnet: '192.168.1.0/24' };

describe('macvlan and ipvlan options', () => {
  it('fills in Docker\'s defaults: mode bridge (l2, flag bridge), the first host as the gateway, no firewall, masquerade or names', () => {
    const macvlan = checkLanOptions('macvlan', lan);
    expect(macvlan).to.include({ driver: 'macvlan', parent: 'eth0', bridge: 'eth0', gateway: '192.168.1.1', macvlanMode: 'bridge', firewall: 'none', activeFirewall: 'none', masquerade: false, dns: false, internal: false });
    expect(macvlan.mtu).to.equal(undefined); // the parent's, read at creation
    expect(checkLanOptions('ipvlan', { ...lan, mode: 'l3' })).to.include({ driver: 'ipvlan', ipvlanMode: 'l3', ipvlanFlag: 'bridge' });
    expect(checkLanOptions('macvlan', { name: 'quiet', internal: true, subnet: '10.5.0.0/24' })).to.include({ parent: 'nsdm-quiet', internal: true });
    expect(checkLanOptions('macvlan', { name: 'a-very-long-network-name', internal: true, subnet: '10.5.0.0/24' }).parent).to.match(/^nsdm-[0-9a-f]{10}$/);
  });

  it('refuses what cannot be: no parent, a parent with an internal network, dns, modes of the other driver, a bad host interface', () => {
    expect(code(() => checkLanOptions('macvlan', { name: 'x', subnet: '10.5.0.0/24' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, internal: true }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, dns: true }))).to.equal('NOT_SUPPORTED_BY_DRIVER');
    expect(code(() => checkLanOptions('macvlan', { ...lan, mode: 'l2' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('ipvlan', { ...lan, mode: 'bridge' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('ipvlan', { ...lan, hostInterface: { name: 'h', address: '192.168.1.9' } }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, parent: 'eth0;rm' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, mode: 'vepa', hostInterface: { name: 'h', address: '192.168.1.9' } }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, hostInterface: { name: 'h', address: '192.168.1.1' } }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, hostInterface: { name: 'h', address: '10.0.0.1' } }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkLanOptions('macvlan', { ...lan, name: 'host' }))).to.equal('INVALID_ARGUMENT');
  });

  it('compares a request with the existing network field by field, aux addresses in any order', () => {
    const wanted = checkLanOptions('macvlan', { ...lan, auxAddresses: { a: '192.168.1.2', b: '192.168.1.3' } });
    const record = { ...wanted, mtu: 1500, bridgeMac: '02:00:00:00:00:01', created: 'now' };
    expect(lanDifferences(record, checkLanOptions('macvlan', { ...lan, auxAddresses: { b: '192.168.1.3', a: '192.168.1.2' } }))).to.deep.equal([]);
    expect(lanDifferences(record, checkLanOptions('macvlan', { ...lan, mode: 'private', mtu: 1400 }))).to.deep.equal(['macvlanMode', 'mtu', 'auxAddresses']);
  });
});

describe('ip ranges and aux addresses', () => {
  it('are checked on every driver: the range a prefix inside the subnet, each aux address a usable one, not the gateway', () => {
    expect(checkNetworkOptions({ name: 'w', subnet: '10.9.0.0/24', ipRange: '10.9.0.128/25', auxAddresses: { r: '10.9.0.2' } })).to.deep.include({ ipRange: '10.9.0.128/25', auxAddresses: { r: '10.9.0.2' } });
    for (const bad of [
      { ipRange: '10.9.1.0/25' },
      { ipRange: '10.9.0.0/16' },
      { ipRange: 'fd00::/64' },
      { auxAddresses: { r: '10.9.0.1' } },
      { auxAddresses: { r: '10.9.0.255' } },
      { auxAddresses: { r: 'fd00::5' } },
      { auxAddresses: { 'bad name': '10.9.0.5' } },
    ]) {
      expect(code(() => checkNetworkOptions({ name: 'w', subnet: '10.9.0.0/24', ...bad })), JSON.stringify(bad)).to.equal('INVALID_ARGUMENT');
    }
    expect(code(() => checkNetworkOptions({ name: 'w', ipRange: '10.9.0.0/25' }))).to.equal('INVALID_ARGUMENT');
  });

  it('hand out unasked addresses from the range only, round robin, and never a reserved one', () => {
    const subnet = Subnet.parse('10.9.0.0/24');
    const table = emptyLeaseTable();
    const reserved = new Map([['10.9.0.1', 'the gateway'], ['10.9.0.6', 'aux address nas']]);
    const pool = { first: 4n, last: 7n };
    const handed = [1, 2, 3].map((i) => allocateAddress(table, subnet, `e${i}`, reserved, undefined, pool));
    expect(handed).to.deep.equal(['10.9.0.4', '10.9.0.5', '10.9.0.7']);
    expect(code(() => allocateAddress(table, subnet, 'e4', reserved, undefined, pool))).to.equal('SUBNET_FULL');
    expect(allocateAddress(table, subnet, 'e5', reserved, '10.9.0.200', pool)).to.equal('10.9.0.200');
    let error;
    try {
      allocateAddress(table, subnet, 'e6', reserved, '10.9.0.6', pool);
    } catch (e) {
      error = e;
    }
    expect(error.code).to.equal('ADDRESS_IN_USE');
    expect(error.message).to.contain('(aux address nas)');
  });
});

describe('CNI "driver": "macvlan"', () => {
  const base = { cniVersion: '1.1.0', name: 'lan', type: 'nsnet', driver: 'macvlan', master: 'eth0', subnet: '192.168.1.0/24', mode: 'vepa' };
  const cniCode = (fn) => {
    try {
      fn();
      return 'no error';
    } catch (error) {
      return error.code;
    }
  };

  it('reads the driver\'s keys, `master` as the reference plugins name the parent', () => {
    const config = readConfig(JSON.stringify({ ...base, ipRange: '192.168.1.64/26', auxAddresses: { r: '192.168.1.2' } }));
    expect(config.network).to.deep.equal({ name: 'lan' });
    expect(config.lan).to.deep.equal({ driver: 'macvlan', options: { name: 'lan', subnet: '192.168.1.0/24', parent: 'eth0', mode: 'vepa', ipRange: '192.168.1.64/26', auxAddresses: { r: '192.168.1.2' } } });
    expect(readConfig(JSON.stringify({ ...base, driver: 'ipvlan', mode: 'l3', flag: 'private' })).lan.options).to.include({ mode: 'l3', flag: 'private' });
  });

  it('refuses the bridge driver\'s keys with it (2), the driver\'s without it (2), and a parent named twice differently (7)', () => {
    expect(cniCode(() => readConfig(JSON.stringify({ ...base, ipMasq: true })))).to.equal(2);
    expect(cniCode(() => readConfig(JSON.stringify({ ...base, flag: 'private' })))).to.equal(2);
    expect(cniCode(() => readConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'b', parent: 'eth0' })))).to.equal(2);
    expect(cniCode(() => readConfig(JSON.stringify({ ...base, parent: 'eth1' })))).to.equal(7);
    expect(cniCode(() => readConfig(JSON.stringify({ ...base, subnet: undefined })))).to.equal(7);
  });

  it('gives a result naming the child only', () => {
    const network = { name: 'lan', bridge: 'eth0', bridgeMac: '02:00:00:00:00:01', subnet: '192.168.1.0/24', mtu: 1500 };
    const endpoint = { hostIfname: 'eth0', link: 'macvlan', ifname: 'eth0', mac: '02:00:00:00:00:02', ipv4: '192.168.1.70', gateway: '192.168.1.1', netns: { path: '/run/netns/x' } };
    expect(addResult('1.0.0', network, endpoint)).to.deep.equal({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/run/netns/x' }],
      ips: [{ interface: 0, address: '192.168.1.70/24', gateway: '192.168.1.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: {},
    });
  });
});
