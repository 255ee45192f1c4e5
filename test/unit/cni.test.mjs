// The CNI plugin's input checks, result shapes and service wire format, with no privileges.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { readCniArgs, readConfig, readEnvironment } from '../../dist/cni/config.js';
import { addResult, chainResult } from '../../dist/cni/result.js';
import { DEFAULT_CNI_SOCKET, parseRequest } from '../../dist/cni/service.js';

const codeOf = (fn) => {
  try {
    fn();
  } catch (error) {
    return [error.code, error.message];
  }
  return ['no error'];
};

const network = {
  name: 'n',
  bridge: 'nsbr-n',
  bridgeMac: '02:00:00:00:00:01',
  subnet: '10.1.0.0/24',
  gateway: '10.1.0.1',
  ipv6: { subnet: 'fd00:1::/64', gateway: 'fd00:1::1' },
  mtu: 1400,
  internal: false,
};
const endpoint = {
  hostIfname: 'veth1234567',
  hostMac: '02:00:00:00:00:03',
  ifname: 'eth0',
  mac: '02:00:00:00:00:02',
  ipv4: '10.1.0.5',
  ipv6: 'fd00:1::5',
  gateway: '10.1.0.1',
  gateway6: 'fd00:1::1',
  netns: { path: '/run/netns/x' },
  ports: [],
};

describe('CNI plugin input', () => {
  it('checks the environment a command needs (code 4)', () => {
    expect(readEnvironment({ CNI_COMMAND: 'VERSION' }).command).to.equal('VERSION');
    expect(readEnvironment({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' })).to.deep.equal({ command: 'DEL', containerId: 'a', ifname: 'eth0' });
    expect(codeOf(() => readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }))[0]).to.equal(4);
    expect(codeOf(() => readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: '-a', CNI_IFNAME: 'eth0', CNI_NETNS: '/x' }))[0]).to.equal(4);
    expect(codeOf(() => readEnvironment({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'a', CNI_IFNAME: 'a-very-long-name0', CNI_NETNS: '/x' }))[0]).to.equal(4);
    expect(codeOf(() => readEnvironment({}))[0]).to.equal(4);
  });

  it('maps the config to network and connect options, ignoring unknown keys', () => {
    const config = readConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'web',
        type: 'nsnet-cni',
        bridge: 'br-web',
        subnet: '10.2.0.0/24',
        ipv6Subnet: 'fd00:2::/64',
        mtu: 1450,
        ipMasq: false,
        icc: false,
        isGateway: true,
        somethingElse: { any: 'thing' },
        dns: { nameservers: ['10.2.0.1'], search: ['svc.local'] },
        runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'UDP', hostIP: '127.0.0.1' }], ips: ['10.2.0.9/24', 'fd00:2::9'], mac: '02:AA:00:00:00:01' },
      }),
    );
    expect(config.network).to.deep.equal({ name: 'web', bridge: 'br-web', subnet: '10.2.0.0/24', ipv6: { subnet: 'fd00:2::/64' }, mtu: 1450, masquerade: false, icc: false });
    expect(config.connect).to.deep.equal({
      ip: '10.2.0.9',
      ipv6: 'fd00:2::9',
      mac: '02:aa:00:00:00:01',
      publish: [{ hostPort: 8080, containerPort: 80, protocol: 'udp', hostIp: '127.0.0.1' }],
    });
    expect(config.dns).to.deep.equal({ nameservers: ['10.2.0.1'], search: ['svc.local'] });
    expect(readConfig('{"cniVersion":"1.1.0","name":"x","args":{"cni":{"ips":["10.3.0.4"]}}}').connect).to.deep.equal({ ip: '10.3.0.4' });
  });

  it('reads CNI_ARGS as libcni does: IP (a list) and MAC honoured, other keys refused without IgnoreUnknown', () => {
    expect(readCniArgs(undefined)).to.deep.equal({ ips: [] });
    expect(readCniArgs('')).to.deep.equal({ ips: [] });
    // What Podman 4 sends for --ip and --mac-address.
    expect(readCniArgs('IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=x;K8S_POD_INFRA_CONTAINER_ID=abc;IP=10.88.0.77;MAC=02:42:0A:58:00:4D')).to.deep.equal({
      ips: ['10.88.0.77'],
      mac: '02:42:0a:58:00:4d',
    });
    expect(readCniArgs('IP=10.88.0.77/16, fd00:88::77').ips).to.deep.equal(['10.88.0.77/16', 'fd00:88::77']);
    expect(readCniArgs('IgnoreUnknown=true;IP=;MAC=;other=1')).to.deep.equal({ ips: [] });
    expect(readCniArgs('IP=10.0.0.1;IP=10.0.0.2').ips).to.deep.equal(['10.0.0.2']); // the last one, as LoadArgs sets a field again
    const refused = {
      IP: 'invalid pair "IP"',
      'IP=10.0.0.1;': 'invalid pair ""',
      'a=b=c': 'invalid pair "a=b=c"',
      'K8S_POD_NAME=x': 'unknown key(s) K8S_POD_NAME',
      'IgnoreUnknown=0;K8S_POD_NAME=x': 'unknown key(s) K8S_POD_NAME',
      'ip=10.0.0.1': 'unknown key(s) ip', // keys are as written
      'IgnoreUnknown=yes': 'IgnoreUnknown must be 1, true, 0 or false',
      'IP=10.0.0.999': 'IP "10.0.0.999" is not an IP address',
      'IP=10.0.0.1/33': 'IP "10.0.0.1/33"',
      'MAC=zz': 'CNI_ARGS MAC must look like',
      'MAC=01:00:5e:00:00:01': 'multicast',
    };
    for (const [text, why] of Object.entries(refused)) {
      const [code, message] = codeOf(() => readCniArgs(text));
      expect(code, text).to.equal(4);
      expect(message, text).to.contain(`CNI_ARGS`).and.contain(why);
    }
    // Read for ADD, not for a DEL that must work whatever it is given.
    const env = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_ARGS: 'IP=10.0.0.3' };
    expect(readEnvironment({ ...env, CNI_COMMAND: 'ADD' }).args).to.deep.equal({ ips: ['10.0.0.3'] });
    expect(codeOf(() => readEnvironment({ ...env, CNI_COMMAND: 'ADD', CNI_ARGS: 'bogus' }))[0]).to.equal(4);
    expect(readEnvironment({ ...env, CNI_COMMAND: 'DEL', CNI_ARGS: 'bogus' }).args).to.equal(undefined);
  });

  it('merges CNI_ARGS with runtimeConfig and args: one address per family, the MAC of the config first', () => {
    const base = JSON.stringify({ cniVersion: '1.0.0', name: 'x' });
    expect(readConfig(base, readCniArgs('IP=10.3.0.4,fd00:3::4;MAC=02:00:00:00:00:09')).connect).to.deep.equal({
      ip: '10.3.0.4',
      ipv6: 'fd00:3::4',
      mac: '02:00:00:00:00:09',
    });
    // Podman sends the same address as the ips capability and in CNI_ARGS.
    const both = JSON.stringify({ cniVersion: '1.0.0', name: 'x', runtimeConfig: { ips: ['10.3.0.4/24'], mac: '02:00:00:00:00:01' } });
    expect(readConfig(both, readCniArgs('IP=10.3.0.4;MAC=02:00:00:00:00:09')).connect).to.deep.equal({ ip: '10.3.0.4', mac: '02:00:00:00:00:01' });
    expect(readConfig(both, readCniArgs('IP=fd00:3:0:0::4')).connect).to.deep.equal({ ip: '10.3.0.4', ipv6: 'fd00:3::4', mac: '02:00:00:00:00:01' });
    const [code, message] = codeOf(() => readConfig(both, readCniArgs('IP=10.3.0.5')));
    expect(code).to.equal(7);
    expect(message).to.contain('one IPv4 address at most: "runtimeConfig.ips" asks for 10.3.0.4, "CNI_ARGS IP" for 10.3.0.5');
    expect(codeOf(() => readConfig(base, readCniArgs('IP=10.3.0.4,10.3.0.5')))[1]).to.contain('"CNI_ARGS IP" asks for 10.3.0.4 and 10.3.0.5');
  });

  it('refuses bad values naming the key (7), unsupported options (2), versions (1) and non-JSON (6)', () => {
    const base = { cniVersion: '1.1.0', name: 'x' };
    const refuse = (extra) => codeOf(() => readConfig(JSON.stringify({ ...base, ...extra })));
    expect(refuse({ ipMasq: 'yes' })).to.deep.equal([7, 'invalid config key "ipMasq": must be true or false']);
    expect(refuse({ dns: { nameservers: ['not-an-ip'] } })[1]).to.contain('"dns.nameservers"');
    expect(refuse({ runtimeConfig: { ips: ['10.0.0.1', '10.0.0.2'] } })[1]).to.contain('"runtimeConfig.ips"');
    expect(refuse({ runtimeConfig: { ips: ['10.0.0.5/garbage'] } })[0]).to.equal(7);
    expect(refuse({ runtimeConfig: { mac: 'zz' } })[1]).to.contain('"runtimeConfig.mac"');
    expect(refuse({ firewall: 'pf' })[0]).to.equal(7);
    expect(refuse({ name: undefined })[0]).to.equal(7);
    expect(refuse({ vlan: 5 })[0]).to.equal(2);
    expect(refuse({ hairpinMode: false })[0]).to.equal(2);
    expect(refuse({ hairpinMode: true })[0]).to.equal('no error');
    expect(refuse({ cniVersion: '0.2.0' })[0]).to.equal(1);
    expect(codeOf(() => readConfig('nope'))[0]).to.equal(6);
    expect(codeOf(() => readConfig('"a string"'))[0]).to.equal(6);
  });
});

describe('CNI plugin results', () => {
  it('has the reference plugin shape, per version', () => {
    const v1 = addResult('1.0.0', network, endpoint);
    expect(v1).to.deep.equal({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'nsbr-n', mac: '02:00:00:00:00:01' },
        { name: 'veth1234567', mac: '02:00:00:00:00:03' },
        { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/run/netns/x' },
      ],
      ips: [
        { interface: 2, address: '10.1.0.5/24', gateway: '10.1.0.1' },
        { interface: 2, address: 'fd00:1::5/64', gateway: 'fd00:1::1' },
      ],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      dns: {},
    });
    expect(addResult('0.3.1', network, endpoint).ips.map((ip) => ip.version)).to.deep.equal(['4', '6']);
    expect(addResult('1.1.0', network, endpoint).interfaces.map((i) => i.mtu)).to.deep.equal([1400, 1400, 1400]);
    const internal = addResult('1.0.0', { ...network, internal: true }, { ...endpoint, gateway: undefined, gateway6: undefined });
    expect(internal.routes).to.equal(undefined);
    expect(internal.ips[0]).to.deep.equal({ interface: 2, address: '10.1.0.5/24' });
  });

  it('appends to a previous result, shifting interface indexes', () => {
    const previous = { cniVersion: '1.0.0', interfaces: [{ name: 'lo', sandbox: '/run/netns/x' }], ips: [{ interface: 0, address: '127.0.0.1/8' }], dns: { domain: 'd' } };
    const merged = chainResult(previous, addResult('1.0.0', network, endpoint));
    expect(merged.interfaces.map((i) => i.name)).to.deep.equal(['lo', 'nsbr-n', 'veth1234567', 'eth0']);
    expect(merged.ips.map((ip) => ip.interface)).to.deep.equal([0, 3, 3]);
    expect(merged.dns).to.deep.equal({ domain: 'd' });
  });
});

describe('CNI service wire format', () => {
  it('splits CNI_* entries from stdin', () => {
    const data = Buffer.concat([Buffer.from('CNI_COMMAND=ADD\0CNI_ARGS=A=b;C=d\0\0'), Buffer.from('{"x":"\0y"}')]);
    expect(parseRequest(data)).to.deep.equal({ env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=b;C=d' }, stdin: '{"x":"\0y"}' });
    expect(parseRequest(Buffer.from('\0{}'))).to.deep.equal({ env: {}, stdin: '{}' });
  });
});

describe('CNI socket path', () => {
  // The front end is C and keeps its own copy of the path: the two must agree.
  it('is the same in the service and in the front end', () => {
    const programs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'programs');
    const sources = readdirSync(programs, { recursive: true }).filter((f) => /\.[ch]$/.test(f));
    const defined = sources.flatMap((f) => [...readFileSync(join(programs, f), 'utf8').matchAll(/^#define \w*SOCKET\w* "(\/[^"]*)"/gm)].map((m) => m[1]));
    expect(defined).to.not.be.empty;
    expect(new Set(defined)).to.deep.equal(new Set([DEFAULT_CNI_SOCKET]));
  });
});
