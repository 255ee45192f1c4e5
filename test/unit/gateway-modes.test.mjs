// Gateway modes, trusted host interfaces and ipv4: false as options: what is
// refused, what is stored, what differs, and Docker's `-o` keys on the CLI.
import { expect } from 'chai';

import { applyDriverOpts, applyGatewayFlags } from '../../dist/cli/commands/network-driver-opts.js';
import { readConfig } from '../../dist/cni/config.js';
import { addResult } from '../../dist/cni/result.js';
import { endpointRules, networkRules } from '../../dist/firewall/iptables/rules.js';
import { checkNetworkOptions, differences } from '../../dist/network/options.js';

function failure(fn) {
  try {
    fn();
  } catch (error) {
    return { code: error.code, message: error.message };
  }
  return { code: 'no error' };
}

const record = (options) => {
  const { ipv4, ...checked } = checkNetworkOptions(options);
  return { ...checked, ...(ipv4 ? { subnet: '10.90.1.0/24', gateway: '10.90.1.1' } : {}), bridgeMac: '02:00:00:00:00:01', subnetAuto: ipv4, activeFirewall: 'iptables', created: 'now' };
};

describe('gateway mode options', () => {
  it('stores both families, none when both are nat; a string sets both', () => {
    expect(checkNetworkOptions({ name: 'a' })).to.not.have.property('gatewayMode');
    expect(checkNetworkOptions({ name: 'a', gatewayMode: 'nat' })).to.not.have.property('gatewayMode');
    expect(checkNetworkOptions({ name: 'a', gatewayMode: 'routed' }).gatewayMode).to.deep.equal({ ipv4: 'routed', ipv6: 'routed' });
    expect(checkNetworkOptions({ name: 'a', gatewayMode: { ipv6: 'routed' } }).gatewayMode).to.deep.equal({ ipv4: 'nat', ipv6: 'routed' });
  });

  it('refuses isolated without internal, dns with an IPv4-isolated or IPv6-only network, bad modes and trusted names', () => {
    const refused = [
      { name: 'a', gatewayMode: 'isolated' },
      { name: 'a', gatewayMode: { ipv6: 'isolated' } },
      { name: 'a', gatewayMode: 'isolated', internal: true, dns: true },
      { name: 'a', gatewayMode: 'bridged' },
      { name: 'a', gatewayMode: { ipv4: 'nat', ipv5: 'nat' } },
      { name: 'a', ipv4: false },
      { name: 'a', ipv4: false, subnet: '10.1.0.0/24', ipv6: { subnet: 'fd00:1::/64' } },
      { name: 'a', ipv4: false, ipv6: { subnet: 'fd00:1::/64' }, dns: true },
      { name: 'a', ipv4: false, ipv6: { subnet: 'fd00:1::/64' }, hostIp: '0.0.0.0' },
      { name: 'a', trustedHostInterfaces: ['eth0', 'eth0'] },
      { name: 'a', trustedHostInterfaces: ['eth0;reboot'] },
      { name: 'a', trustedHostInterfaces: ['an-interface-name-too-long'] },
    ];
    for (const options of refused) expect(failure(() => checkNetworkOptions(options)).code, JSON.stringify(options)).to.equal('INVALID_ARGUMENT');
  });

  it('isolated and IPv6-only networks resolve no names by default; IPv6-only publishes on :: by default', () => {
    expect(checkNetworkOptions({ name: 'a', gatewayMode: 'isolated', internal: true }).dns).to.equal(false);
    expect(checkNetworkOptions({ name: 'a', gatewayMode: { ipv6: 'isolated' }, internal: true }).dns).to.equal(true);
    const v6 = checkNetworkOptions({ name: 'a', ipv4: false, ipv6: { subnet: 'fd00:1::/64' } });
    expect(v6).to.include({ dns: false, hostIp: '::', ipv4: false });
  });

  it('a mode, trusted interfaces or the IPv4 family asked otherwise is a difference', () => {
    const routed = record({ name: 'a', gatewayMode: 'routed', trustedHostInterfaces: ['wg0'] });
    expect(differences(routed, checkNetworkOptions({ name: 'a', gatewayMode: 'routed', trustedHostInterfaces: ['wg0'] }))).to.deep.equal([]);
    expect(differences(routed, checkNetworkOptions({ name: 'a', trustedHostInterfaces: ['wg0'] }))).to.deep.equal(['gatewayMode']);
    expect(differences(routed, checkNetworkOptions({ name: 'a', gatewayMode: 'routed' }))).to.deep.equal(['trustedHostInterfaces']);
    // A record made before gateway modes has none: nat.
    expect(differences(record({ name: 'a' }), checkNetworkOptions({ name: 'a', gatewayMode: { ipv4: 'nat' } }))).to.deep.equal([]);
    const v6 = record({ name: 'a', ipv4: false, ipv6: { subnet: 'fd00:1::/64' }, hostIp: '::' });
    expect(differences(v6, checkNetworkOptions({ name: 'a', ipv6: { subnet: 'fd00:1::/64' }, hostIp: '::' }))).to.deep.equal(['ipv4', 'dns']);
  });
});

describe('iptables rules of gateway modes', () => {
  const endpoint = {
    id: 'e1',
    network: 'a',
    hostIfname: 'veth1',
    ipv4: '10.90.1.2',
    ports: [
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 8081, containerPort: 80, protocol: 'tcp' },
    ],
  };
  const specs = (rules) => rules.map((r) => `${r.table} ${r.first ? '-I' : '-A'} ${r.chain} ${r.spec.replace(/ -m comment.*$/, '')}`);

  it('routed: no DNAT, no masquerade, one accept per container port ahead of the drop', () => {
    const network = record({ name: 'a', gatewayMode: 'routed' });
    expect(specs(endpointRules(network, endpoint, 4))).to.deep.equal([
      `filter -I NSNET-INTO -d 10.90.1.2 -o ${network.bridge} -p tcp -m tcp --dport 80 ! -i ${network.bridge} -j ACCEPT`,
    ]);
    expect(specs(networkRules(network, 4)).filter((s) => s.includes('! -o') && s.includes('MASQUERADE'))).to.deep.equal([]);
  });

  it('nat: DNAT, and accepts only from trusted interfaces; nat-unprotected: the network accepts everything', () => {
    const nat = record({ name: 'a', trustedHostInterfaces: ['wg0', 'vxlan.1'] });
    const rules = specs(endpointRules(nat, endpoint, 4));
    expect(rules.filter((s) => s.includes('DNAT'))).to.have.length(2);
    expect(rules.filter((s) => s.includes('ACCEPT'))).to.deep.equal(
      ['wg0', 'vxlan.1'].map((name) => `filter -I NSNET-INTO -d 10.90.1.2 -o ${nat.bridge} -p tcp -m tcp --dport 80 -i ${name} -j ACCEPT`),
    );
    expect(specs(endpointRules(record({ name: 'a' }), endpoint, 4)).filter((s) => s.includes('ACCEPT'))).to.deep.equal([]);
    const unprotected = specs(networkRules(record({ name: 'a', gatewayMode: 'nat-unprotected' }), 4));
    expect(unprotected).to.include(`filter -A NSNET-INTO -o nsbr-a -m devgroup ! --src-group 0x6e736e74 -j ACCEPT`);
  });
});

describe('network create --opt and --gateway-mode', () => {
  it('maps Docker bridge driver options, later ones winning, flags after them', () => {
    const wanted = { name: 'a' };
    applyDriverOpts(wanted, [
      'com.docker.network.bridge.gateway_mode_ipv4=routed',
      'com.docker.network.bridge.gateway_mode_ipv6=nat-unprotected',
      'com.docker.network.bridge.trusted_host_interfaces=vxlan.1:eth3',
      'com.docker.network.bridge.enable_icc=false',
      'com.docker.network.bridge.name=br-a',
      'com.docker.network.driver.mtu=1400',
    ]);
    expect(wanted).to.deep.equal({
      name: 'a',
      gatewayMode: { ipv4: 'routed', ipv6: 'nat-unprotected' },
      trustedHostInterfaces: ['vxlan.1', 'eth3'],
      icc: false,
      bridge: 'br-a',
      mtu: 1400,
    });
    applyGatewayFlags(wanted, { gatewayModeIpv6: 'routed' });
    expect(wanted.gatewayMode).to.deep.equal({ ipv4: 'routed', ipv6: 'routed' });
    applyGatewayFlags(wanted, { gatewayMode: 'nat' });
    expect(wanted.gatewayMode).to.deep.equal({ ipv4: 'nat', ipv6: 'nat' });
  });

  it('refuses an unknown key, a bad mode and a bad boolean', () => {
    for (const opt of ['com.docker.network.bridge.unknown=1', 'com.docker.network.bridge.gateway_mode_ipv4=bridge', 'com.docker.network.bridge.enable_icc=yes', 'noequals']) {
      expect(failure(() => applyDriverOpts({ name: 'a' }, [opt])).code, opt).to.equal('INVALID_ARGUMENT');
    }
    expect(failure(() => applyGatewayFlags({ name: 'a' }, { gatewayMode: 'open' })).code).to.equal('INVALID_ARGUMENT');
  });
});

describe('CNI: gateway modes and IPv6-only networks', () => {
  it('the conflist takes gatewayMode, trustedHostInterfaces and ipv4 as createBridgeNetwork does', () => {
    const config = readConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', gatewayMode: { ipv4: 'routed' }, trustedHostInterfaces: ['wg0'], ipv4: false }));
    expect(config.network).to.deep.equal({ name: 'n', gatewayMode: { ipv4: 'routed' }, trustedHostInterfaces: ['wg0'], ipv4: false });
    expect(failure(() => readConfig(JSON.stringify({ cniVersion: '1.0.0', name: 'n', gatewayMode: 'open' }))).code).to.equal(7);
  });

  it('an IPv6-only endpoint has one address and one default route in the result', () => {
    const network = { name: 'n', bridge: 'nsbr-n', bridgeMac: '02:00:00:00:00:01', ipv6: { subnet: 'fd00:1::/64', gateway: 'fd00:1::1' }, mtu: 1500, internal: false };
    const endpoint = { hostIfname: 'veth1', hostMac: '02:00:00:00:00:03', ifname: 'eth0', mac: '02:00:00:00:00:02', netns: { path: '/run/netns/x' }, ipv6: 'fd00:1::5', gateway6: 'fd00:1::1' };
    const result = addResult('1.0.0', network, endpoint);
    expect(result.ips).to.deep.equal([{ interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' }]);
    expect(result.routes).to.deep.equal([{ dst: '::/0' }]);
  });
});
