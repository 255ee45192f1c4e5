// Overlay network options and definitions, checked with no privileges: what
// createOverlayNetwork refuses before it touches the host or the store, and
// how a definition is compared with the one another host stored.
import { expect } from 'chai';

import { overlayNetworkOptions, refuseOverlayFlags } from '../../dist/cli/commands/network-overlay.js';
import { readConfig } from '../../dist/cni/config.js';
import { toCniError } from '../../dist/cni/errors.js';
import { NsnetError } from '../../dist/errors.js';
import { checkOverlayOptions, definitionDifferences, overlayDefinition, vxlanName } from '../../dist/network/overlay-options.js';
import { overlayRecordDifferences } from '../../dist/network/overlay-network.js';
import { errorCode as code } from '../helpers.mjs';

const base = { name: 'across', subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379' };
const storeConfig = { endpoints: ['http://10.0.0.1:2379'], prefix: '/nsnet/v1' };

/** The record createOverlayNetwork would write for `options` on a host at `underlay`, MTU 1450. */
function recordFor(options, underlay = '10.0.0.2') {
  const checked = checkOverlayOptions(options);
  const { ipv4: _ipv4, ...fields } = checked.network;
  return {
    ...fields,
    mtu: checked.mtuGiven ? checked.network.mtu : 1450,
    subnetAuto: false,
    bridgeMac: '02:00:00:00:00:01',
    activeFirewall: 'nftables',
    overlay: { vni: checked.vni ?? 4096, port: checked.port, vxlan: vxlanName(checked.network.name), underlay, store: storeConfig, leaseTtl: checked.leaseTtl },
    created: '2026-12-02T00:00:00.000Z',
  };
}

describe('overlay network options', () => {
  it("fills in the defaults: the first host as every host's gateway, VXLAN port 4789, lease TTL 15 s, bridge nsbr-<name>, names resolved", () => {
    const checked = checkOverlayOptions(base);
    expect(checked.network).to.include({ name: 'across', driver: 'overlay', subnet: '10.77.0.0/16', gateway: '10.77.0.1', bridge: 'nsbr-across', masquerade: true, icc: true, internal: false, dns: true, hostIp: '0.0.0.0', firewall: 'auto' });
    expect(checked).to.include({ port: 4789, leaseTtl: 15, mtuGiven: false, store: 'http://10.0.0.1:2379' });
    expect(checked.vni).to.equal(undefined);
    expect(checked.underlay).to.equal(undefined);
    expect(checkOverlayOptions({ ...base, dns: false }).network.dns).to.equal(false);
    expect(vxlanName('across')).to.equal('nsvx-across');
    expect(vxlanName('a-very-long-network-name')).to.match(/^nsvx-[0-9a-f]{10}$/);
  });

  it('keeps what is given: vni, port, underlay, lease TTL, MTU, IPv6, ip range, aux addresses', () => {
    const checked = checkOverlayOptions({ ...base, vni: 42, port: 8472, underlay: '10.0.0.2', leaseTtl: 3, mtu: 1400, ipv6: { subnet: 'fd00:77::/64' }, ipRange: '10.77.1.0/24', auxAddresses: { router: '10.77.0.2' } });
    expect(checked).to.include({ vni: 42, port: 8472, underlay: '10.0.0.2', leaseTtl: 3, mtuGiven: true });
    expect(checked.network).to.include({ mtu: 1400, ipRange: '10.77.1.0/24' });
    expect(checked.network.ipv6).to.deep.equal({ subnet: 'fd00:77::/64', gateway: 'fd00:77::1' });
  });

  it('refuses bad input with INVALID_ARGUMENT (a pool: NOT_SUPPORTED_BY_DRIVER): ipv4 false, no subnet or store, an IPv6 subnet as the subnet, bad VNI, port, TTL, MTU, dns, names', () => {
    expect(code(() => checkOverlayOptions({ ...base, ipv4: false }))).to.equal('INVALID_ARGUMENT');
    // A warm pool is a bridge network's: said as what it is, not as an unknown option.
    expect(code(() => checkOverlayOptions({ ...base, pool: { size: 2 } }))).to.equal('NOT_SUPPORTED_BY_DRIVER');
    const { subnet: _subnet, ...noSubnet } = base;
    expect(code(() => checkOverlayOptions(noSubnet))).to.equal('INVALID_ARGUMENT');
    const { store: _store, ...noStore } = base;
    expect(code(() => checkOverlayOptions(noStore))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, subnet: 'fd00::/64' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, subnet: '10.77.0.0/31' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, gateway: '10.78.0.1' }))).to.equal('INVALID_ARGUMENT');
    for (const vni of [0, 0x1000000, 1.5, '42']) expect(code(() => checkOverlayOptions({ ...base, vni }))).to.equal('INVALID_ARGUMENT');
    for (const port of [0, 65536]) expect(code(() => checkOverlayOptions({ ...base, port }))).to.equal('INVALID_ARGUMENT');
    for (const leaseTtl of [1, 0, 100000]) expect(code(() => checkOverlayOptions({ ...base, leaseTtl }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, mtu: 10 }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, name: 'host' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, name: 'bad name' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, dns: 'yes' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, ipRange: '10.78.0.0/24' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, store: 42 }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions({ ...base, underlay: 'eth0' }))).to.equal('INVALID_ARGUMENT');
    expect(code(() => checkOverlayOptions(null))).to.equal('INVALID_ARGUMENT');
  });
});

describe('overlay network definitions', () => {
  it('stores what every host must agree on, names resolved or not among it: the MTU and the VNI only when given', () => {
    expect(overlayDefinition(checkOverlayOptions(base))).to.deep.equal({ subnet: '10.77.0.0/16', gateway: '10.77.0.1', port: 4789, dns: true });
    const full = overlayDefinition(checkOverlayOptions({ ...base, vni: 42, mtu: 1400, internal: true, ipv6: { subnet: 'fd00:77::/64' }, auxAddresses: { r: '10.77.0.2' } }));
    expect(full).to.deep.equal({ subnet: '10.77.0.0/16', gateway: '10.77.0.1', port: 4789, dns: true, vni: 42, mtu: 1400, internal: true, ipv6: { subnet: 'fd00:77::/64', gateway: 'fd00:77::1' }, auxAddresses: { r: '10.77.0.2' } });
  });

  it("takes the stored VNI when none is asked for; names each field that differs from another host's", () => {
    const stored = { ...overlayDefinition(checkOverlayOptions(base)), vni: 4096 };
    expect(definitionDifferences(stored, overlayDefinition(checkOverlayOptions(base)))).to.deep.equal([]);
    expect(definitionDifferences(stored, overlayDefinition(checkOverlayOptions({ ...base, vni: 4096 })))).to.deep.equal([]);
    expect(definitionDifferences(stored, overlayDefinition(checkOverlayOptions({ ...base, vni: 7 })))).to.deep.equal(['vni']);
    const other = overlayDefinition(checkOverlayOptions({ ...base, subnet: '10.78.0.0/16', port: 8472, mtu: 1400, internal: true, ipv6: { subnet: 'fd00:78::/64' } }));
    expect(definitionDifferences(stored, other)).to.deep.equal(['subnet', 'gateway', 'ipv6', 'port', 'mtu', 'internal']);
    expect(definitionDifferences(stored, overlayDefinition(checkOverlayOptions({ ...base, dns: false })))).to.deep.equal(['dns']);
    // Stored by a build whose overlay networks resolved no names.
    const { dns: _dns, ...older } = stored;
    expect(definitionDifferences(older, overlayDefinition(checkOverlayOptions({ ...base, dns: false })))).to.deep.equal([]);
    // Written by another host, keys in another order: the same.
    const aux = overlayDefinition(checkOverlayOptions({ ...base, auxAddresses: { a: '10.77.0.2', b: '10.77.0.3' } }));
    expect(definitionDifferences({ ...aux, vni: 4096, auxAddresses: { b: '10.77.0.3', a: '10.77.0.2' } }, aux)).to.deep.equal([]);
    expect(definitionDifferences({ ...aux, vni: 4096, auxAddresses: { a: '10.77.0.2' } }, aux)).to.deep.equal(['auxAddresses']);
    // icc is shared: one host without it would have half-open traffic with the others.
    const closed = overlayDefinition(checkOverlayOptions({ ...base, icc: false }));
    expect(closed.icc).to.equal(false);
    expect(definitionDifferences(stored, closed)).to.deep.equal(['icc']);
    expect(definitionDifferences({ ...closed, vni: 4096 }, overlayDefinition(checkOverlayOptions(base)))).to.deep.equal(['icc']);
    expect(definitionDifferences(stored, overlayDefinition(checkOverlayOptions({ ...base, icc: true })))).to.deep.equal([]);
  });

  it("compares a request with this host's record: the MTU only when asked for, the overlay's own fields, the driver", () => {
    const record = recordFor(base);
    expect(overlayRecordDifferences(record, checkOverlayOptions(base), storeConfig)).to.deep.equal([]);
    expect(overlayRecordDifferences(record, checkOverlayOptions({ ...base, underlay: '10.0.0.2', vni: 4096 }), storeConfig)).to.deep.equal([]);
    expect(overlayRecordDifferences(record, checkOverlayOptions({ ...base, mtu: 1400 }), storeConfig)).to.deep.equal(['mtu']);
    expect(overlayRecordDifferences(record, checkOverlayOptions({ ...base, vni: 9, port: 8472, underlay: '10.0.0.3', leaseTtl: 3 }), storeConfig)).to.deep.equal(['vni', 'port', 'underlay', 'leaseTtl']);
    expect(overlayRecordDifferences(record, checkOverlayOptions(base), { ...storeConfig, prefix: '/other' })).to.deep.equal(['store']);
    // The same store with its endpoints, or its keys, in another order.
    const two = { ...record, overlay: { ...record.overlay, store: { endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.9:2379'], prefix: '/nsnet/v1' } } };
    expect(overlayRecordDifferences(two, checkOverlayOptions(base), { prefix: '/nsnet/v1', endpoints: ['http://10.0.0.9:2379', 'http://10.0.0.1:2379'] })).to.deep.equal([]);
    expect(overlayRecordDifferences(two, checkOverlayOptions(base), { prefix: '/nsnet/v1', endpoints: ['http://10.0.0.9:2379'] })).to.deep.equal(['store']);
    const { overlay: _overlay, driver: _driver, ...bridgeRecord } = record;
    expect(overlayRecordDifferences(bridgeRecord, checkOverlayOptions(base), storeConfig)[0]).to.equal('driver');
  });
});

describe('overlay networks from the command line and from CNI configs', () => {
  const flags = (more = {}) => ({ driver: 'overlay', masquerade: true, icc: true, opt: [], auxAddress: [], trustedHostInterface: [], subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379', ...more });
  const thrown = (fn) => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new Error('nothing thrown');
  };

  it('maps the flags, Docker\'s -o vxlanid_list and --disable-dns among them; refuses what an overlay network does not take', () => {
    expect(overlayNetworkOptions('across', flags({ vni: 7, underlay: '10.0.0.2', vxlanPort: 8472, leaseTtl: 3, mtu: 1400 }))).to.deep.equal({
      name: 'across', subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379', masquerade: true, icc: true, vni: 7, underlay: '10.0.0.2', port: 8472, leaseTtl: 3, mtu: 1400,
    });
    expect(overlayNetworkOptions('across', flags({ opt: ['com.docker.network.driver.overlay.vxlanid_list=4097'] })).vni).to.equal(4097);
    expect(overlayNetworkOptions('across', flags({ disableDns: true })).dns).to.equal(false);
    expect(overlayNetworkOptions('across', flags()).dns).to.equal(undefined);
    expect(overlayNetworkOptions('across', flags({ vni: 4097, opt: ['com.docker.network.driver.overlay.vxlanid_list=4097'] })).vni).to.equal(4097);
    expect(thrown(() => overlayNetworkOptions('across', flags({ vni: 7, opt: ['com.docker.network.driver.overlay.vxlanid_list=4097'] }))).message).to.match(/--vni 7 and -o .*=4097 differ/);
    // Each passes commander's usage error on, with a message that names the flag.
    expect(thrown(() => overlayNetworkOptions('across', flags({ store: undefined }))).message).to.match(/--store/);
    expect(thrown(() => overlayNetworkOptions('across', flags({ subnet: undefined }))).message).to.match(/--subnet/);
    expect(thrown(() => overlayNetworkOptions('across', flags({ parent: 'eth0' }))).message).to.match(/--parent/);
    expect(thrown(() => overlayNetworkOptions('across', flags({ ipv4: false }))).message).to.match(/--ipv4=false/);
    expect(thrown(() => overlayNetworkOptions('across', flags({ opt: ['com.docker.network.bridge.name=x'] }))).message).to.match(/no option of the overlay driver/);
    expect(thrown(() => overlayNetworkOptions('across', flags({ opt: ['com.docker.network.driver.overlay.vxlanid_list=1,2'] }))).message).to.match(/KEY=NUMBER/);
    expect(thrown(() => refuseOverlayFlags(flags({ driver: 'bridge', vni: 7 }))).message).to.match(/--store, --vni: options of the overlay driver, not bridge/);
    expect(() => refuseOverlayFlags(flags())).not.to.throw();
  });

  it('reads "driver": "overlay" with its store, VNI, port, underlay and lease TTL; refuses them on other drivers (code 2), and a config without a store (code 7)', () => {
    const config = readConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'across', type: 'nsnet-cni', driver: 'overlay', subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379', vni: 7, vxlanPort: 8472, underlay: '10.0.0.2', leaseTtl: 3, ipMasq: false }));
    expect(config.network).to.deep.equal({ name: 'across' });
    expect(config.overlay).to.deep.equal({ name: 'across', subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379', vni: 7, port: 8472, underlay: '10.0.0.2', leaseTtl: 3, masquerade: false });
    const cniCode = (json) => thrown(() => readConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'across', type: 'nsnet-cni', ...json }))).code;
    expect(cniCode({ subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379' })).to.equal(2);
    expect(cniCode({ driver: 'routed', vni: 7 })).to.equal(2);
    expect(cniCode({ driver: 'overlay', subnet: '10.77.0.0/16' })).to.equal(7);
    expect(cniCode({ driver: 'overlay', store: 'http://10.0.0.1:2379' })).to.equal(7);
    expect(cniCode({ driver: 'overlay', subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379', parent: 'eth0' })).to.equal(2);
    expect(cniCode({ driver: 'overlay', subnet: '10.77.0.0/16', store: 'http://10.0.0.1:2379', ipv4: false })).to.equal(2);
    expect(toCniError(new NsnetError('STORE_UNAVAILABLE', 'etcd down')).code).to.equal(11);
    expect(toCniError(new NsnetError('INVALID_STORE', 'ftp://x')).code).to.equal(7);
  });
});
