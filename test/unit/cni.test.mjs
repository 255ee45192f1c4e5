// The CNI plugin's input checks, result shapes and service wire format, with no privileges.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { readConfig, readEnvironment } from '../../dist/cni/config.js';
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
