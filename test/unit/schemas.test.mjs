// The schemas of nsnet's inputs: what fails is named by its path, with the
// error class and code of each input.
import { expect } from 'chai';

import { readConfig } from '../../dist/cni/config.js';
import { checkConnectInput } from '../../dist/network/connect-options.js';
import { checkNetworkOptions } from '../../dist/network/options.js';

const failure = (fn) => {
  try {
    fn();
  } catch (error) {
    return { code: error.code, message: error.message, name: error.name };
  }
  return { code: 'no error' };
};

describe('input schemas', () => {
  it('names the failing path of network options (INVALID_ARGUMENT)', () => {
    const cases = [
      [{ name: 'n', ipv6: { subnet: 64 } }, 'ipv6.subnet must be a string'],
      [{ name: 'n', ipv6: { subnet: 'fd00::/64', gw: 'fd00::1' } }, 'unknown network option ipv6.gw'],
      [{ name: 'n', mtu: 67 }, 'mtu must be an integer from 68 to 65535'],
      [{ name: 'n', icc: 'no' }, 'icc must be true or false'],
      [{ name: 'n', firewall: 'pf' }, 'firewall must be one of auto, nftables, iptables, none'],
      [{ name: 'n', bridges: 'br0' }, 'unknown network option bridges'],
      [{ name: 'bad name' }, 'name must be'],
      [null, 'network options must be an object'],
    ];
    for (const [options, message] of cases) {
      const { code, message: text } = failure(() => checkNetworkOptions(options));
      expect(code, JSON.stringify(options)).to.equal('INVALID_ARGUMENT');
      expect(text).to.include(message);
    }
  });

  it('keeps the checks a schema cannot state (gateway inside the subnet, prefix limits, ::1)', () => {
    expect(failure(() => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/24', gateway: '10.0.1.1' })).message).to.include('inside 10.0.0.0/24');
    expect(failure(() => checkNetworkOptions({ name: 'n', subnet: '10.0.0.0/31' })).message).to.include('/30 at most');
    expect(failure(() => checkNetworkOptions({ name: 'n', hostIp: '::1', ipv6: { subnet: 'fd00::/64' } })).message).to.include('::1');
    expect(failure(() => checkNetworkOptions({ name: 'n', hostIp: 'fd00::1' })).message).to.include('ipv6 subnet');
  });

  it('names the failing path of connect options: INVALID_PUBLISH for ports, INVALID_ARGUMENT for the rest', () => {
    const cases = [
      [{ publish: ['80', 42] }, 'INVALID_PUBLISH', 'publish[1] must be'],
      [{ publish: ['80', { containerPort: 80, protocol: 'gre' }] }, 'INVALID_PUBLISH', 'publish[1].protocol must be one of tcp, udp, sctp'],
      [{ publish: ['80', '1:2:3:4'] }, 'INVALID_PUBLISH', 'publish[1]: invalid published port'],
      [{ publish: '80' }, 'INVALID_PUBLISH', 'publish must be a list'],
      [{ ifname: 5 }, 'INVALID_ARGUMENT', 'ifname must be a string'],
      [{ ifname: 'a-name-of-16-byt' }, 'INVALID_ARGUMENT', 'longer than 15 bytes'],
      [{ mac: '01:00:00:00:00:01' }, 'INVALID_ARGUMENT', 'multicast'],
      [{ address: '10.0.0.2' }, 'INVALID_ARGUMENT', 'unknown connect option address'],
    ];
    for (const [options, code, message] of cases) {
      const result = failure(() => checkConnectInput(options));
      expect(result.code, JSON.stringify(options)).to.equal(code);
      expect(result.message).to.include(message);
    }
  });

  it('names the failing key of a CNI network config (code 7), and ignores keys it does not know', () => {
    const base = { cniVersion: '1.1.0', name: 'x' };
    const refuse = (extra) => failure(() => readConfig(JSON.stringify({ ...base, ...extra })));
    expect(refuse({ runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80 }, { hostPort: 'x', containerPort: 80 }] } }).message).to.include(
      '"runtimeConfig.portMappings[1].hostPort"',
    );
    expect(refuse({ args: { cni: { ips: '10.0.0.1' } } }).message).to.include('"args.cni.ips"');
    expect(refuse({ 'cni.dev/valid-attachments': [{ containerID: 'a' }] }).message).to.include('"cni.dev/valid-attachments[0].ifname"');
    expect(refuse({ dns: { domain: '' } })).to.deep.include({ code: 7, name: 'CniError' });
    expect(refuse({ runtimeConfig: { portMappings: [], bandwidth: {} }, args: { other: 1 }, dns: { extra: true } }).code).to.equal('no error');
  });
});
