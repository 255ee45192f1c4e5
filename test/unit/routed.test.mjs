// Routed networks without privileges: their names, groups and options
// checked before anything is made, their CNI config and result, and their
// firewall elements.
import { expect } from 'chai';

import { readConfig } from '../../dist/cni/config.js';
import { routedNetworkOptions } from '../../dist/cni/routed.js';
import { addResult } from '../../dist/cni/result.js';
import { routedEndpointChanges, routedNetworkChanges } from '../../dist/firewall/nftables/routed.js';
import { networkRules } from '../../dist/firewall/iptables/rules.js';
import { createRoutedNetwork } from '../../dist/index.js';
import { BRIDGE_LINK_GROUP, IFB_LINK_GROUP } from '../../dist/types/ownership.js';
import { networkDriver } from '../../dist/types/network.js';
import { routedHostEndName, routedHostEndPrefix, routedLinkGroup } from '../../dist/types/routed-network.js';

const network = {
  name: 'pods',
  driver: 'routed',
  bridge: routedHostEndPrefix('pods'),
  bridgeMac: '02:00:00:00:00:01',
  subnet: '10.96.0.0/24',
  gateway: '169.254.1.1',
  ipv6: { subnet: 'fd00:96::/64', gateway: 'fe80::1' },
  mtu: 1500,
  masquerade: true,
  icc: true,
  internal: false,
  hostIp: '0.0.0.0',
  firewall: 'auto',
  activeFirewall: 'nftables',
  subnetAuto: false,
  dns: false,
  created: '2026-01-01T00:00:00.000Z',
};

const endpoint = {
  id: '0123456789abcdef',
  network: 'pods',
  hostIfname: routedHostEndName(network.bridge, '0123456789abcdef'),
  hostMac: '02:00:00:00:00:01',
  ifname: 'eth0',
  mac: '02:00:00:00:00:02',
  ipv4: '10.96.0.1',
  ipv6: 'fd00:96::1',
  gateway: '169.254.1.1',
  gateway6: 'fe80::1',
  ports: [],
  netns: { path: '/run/netns/p' },
};

async function code(promise) {
  return promise.then(() => 'no error', (error) => error.code);
}

describe('routed networks (no privileges)', () => {
  it('names host ends with a per-network prefix, in 15 characters, and gives each network its own group, apart from nsnet\'s others', () => {
    expect(network.bridge).to.match(/^nsr[0-9a-f]{5}$/);
    expect(endpoint.hostIfname).to.equal(`${network.bridge}0123456`).and.to.have.length(15);
    expect(routedHostEndPrefix('pods')).to.not.equal(routedHostEndPrefix('pods2'));
    const group = routedLinkGroup(network);
    expect(group).to.not.equal(routedLinkGroup({ bridge: routedHostEndPrefix('pods2') }));
    expect([BRIDGE_LINK_GROUP, IFB_LINK_GROUP]).to.not.include(group);
    expect(networkDriver(network)).to.equal('routed');
    expect(networkDriver({})).to.equal('bridge');
  });

  it('refuses options a routed network cannot have before it looks at anything', async () => {
    expect(await code(createRoutedNetwork({ name: 'r', subnet: '10.96.0.0/24', dns: true }))).to.equal('INVALID_ARGUMENT');
    expect(await code(createRoutedNetwork({ name: 'r', subnet: '10.96.0.0/24', gateway: '10.96.0.1' }))).to.equal('INVALID_ARGUMENT');
    expect(await code(createRoutedNetwork({ name: 'r', bridge: 'br0' }))).to.equal('INVALID_ARGUMENT');
    expect(await code(createRoutedNetwork({ name: 'r', ipv6: { subnet: 'fd00::/64', gateway: 'fd00::1' } }))).to.equal('INVALID_ARGUMENT');
    expect(await code(createRoutedNetwork({ name: 'host' }))).to.equal('INVALID_ARGUMENT');
    expect(await code(createRoutedNetwork({ name: 'r', subnet: '127.0.0.0/24' }))).to.equal('INVALID_ARGUMENT');
  });

  it('reads "driver": "routed" from a CNI config, refusing a bridge or a gateway', () => {
    const config = readConfig('{"cniVersion":"1.1.0","name":"pods","driver":"routed","subnet":"10.96.0.0/24","ipv6Subnet":"fd00:96::/64","ipMasq":false}');
    expect(config.driver).to.equal('routed');
    expect(routedNetworkOptions(config.network)).to.deep.equal({ name: 'pods', subnet: '10.96.0.0/24', ipv6: { subnet: 'fd00:96::/64' }, masquerade: false });
    for (const extra of ['"gateway":"10.96.0.1"', '"bridge":"br0"', '"ipRange":"10.96.0.128/25"', '"gatewayMode":"routed"', '"ipv4":false']) {
      expect(() => readConfig(`{"cniVersion":"1.1.0","name":"pods","driver":"routed",${extra}}`)).to.throw(/unsupported config key/);
    }
    // A macvlan network takes none of the bridge's gateway options either.
    for (const extra of ['"gatewayMode":"routed"', '"trustedHostInterfaces":["wg0"]', '"ipv4":false']) {
      expect(() => readConfig(`{"cniVersion":"1.1.0","name":"lan","driver":"macvlan","parent":"eth0","subnet":"192.168.1.0/24",${extra}}`)).to.throw(/unsupported config key/);
    }
    // macvlan and ipvlan are drivers of their own in a config, with their own checks.
    expect(() => readConfig('{"cniVersion":"1.1.0","name":"pods","driver":"macvlan"}')).to.throw(/a macvlan network needs its LAN's subnet/);
    expect(readConfig('{"cniVersion":"1.1.0","name":"pods"}').driver).to.equal(undefined);
  });

  it('answers a CNI ADD with no bridge: the host end, then the container\'s interface with its /32 and /128', () => {
    const result = addResult('1.1.0', network, endpoint);
    expect(result.interfaces.map((i) => i.name)).to.deep.equal([endpoint.hostIfname, 'eth0']);
    expect(result.ips).to.deep.equal([
      { interface: 1, address: '10.96.0.1/32', gateway: '169.254.1.1' },
      { interface: 1, address: 'fd00:96::1/128', gateway: 'fe80::1' },
    ]);
    expect(result.routes).to.deep.equal([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  });

  it('puts a routed endpoint\'s host end where a bridge goes in the sets, and its network\'s icc as one pair of groups', () => {
    const sets = (changes) => changes.map((c) => `${c.op} ${c.set} ${c.elements.length}`);
    expect(sets(routedEndpointChanges(network, endpoint, 'add'))).to.deep.equal(['add bridges 1', 'add masquerade_bridges 1']);
    expect(sets(routedEndpointChanges({ ...network, internal: true }, endpoint, 'add'))).to.deep.equal(['add bridges 1', 'add internal_bridges 1']);
    expect(sets(routedEndpointChanges({ ...network, masquerade: false }, endpoint, 'delete'))).to.deep.equal(['delete bridges 1']);
    const [icc] = routedNetworkChanges(network, 'add');
    // devgroup . devgroup: two 32-bit groups in host byte order.
    const group = routedLinkGroup(network);
    expect(icc.set).to.equal('icc_groups');
    expect(icc.elements[0].key).to.have.length(8);
    expect([icc.elements[0].key.readUInt32LE(0), icc.elements[0].key.readUInt32LE(4)]).to.deep.equal([group, group]);
    expect(routedNetworkChanges({ ...network, icc: false }, 'add')).to.deep.equal([]);
  });

  it('matches every host end of a routed network in iptables by its prefix', () => {
    const specs = networkRules({ ...network, activeFirewall: 'iptables' }, 4).map((r) => r.spec);
    expect(specs.some((spec) => spec.startsWith(`-i ${network.bridge}+ -o ${network.bridge}+ -j ACCEPT`))).to.equal(true);
    expect(specs.some((spec) => spec.includes(`-s 10.96.0.0/24 ! -o ${network.bridge}+ -j MASQUERADE`))).to.equal(true);
    expect(specs.every((spec) => !/-[io] nsr[0-9a-f]{5} /.test(spec))).to.equal(true);
  });
});
