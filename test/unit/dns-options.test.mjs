// The network layer's side of name resolution, with no privileges: the checks
// of names and resolver options, the names an endpoint is recorded with, the
// network's dns switch, a container's resolv.conf text, and the CNI inputs.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { readConfig } from '../../dist/cni/config.js';
import { resolverDns } from '../../dist/cni/result.js';
import { netnsEtcDir } from '../../dist/netns-etc.js';
import { checkConnectInput } from '../../dist/network/connect-options.js';
import { checkResolverOptions, endpointNames } from '../../dist/network/dns-options.js';
import { checkNetworkOptions, differences } from '../../dist/network/options.js';
import { resolvConfPath, resolvConfText } from '../../dist/network/resolv-file.js';

const codeOf = (fn) => {
  try {
    fn();
  } catch (error) {
    return error.code;
  }
  return 'no error';
};

const HEX64 = 'a'.repeat(12) + 'b'.repeat(52);

const network = (fields = {}) => ({
  name: 'web',
  bridge: 'nsbr-web',
  bridgeMac: '02:00:00:00:00:01',
  subnet: '10.7.0.0/24',
  gateway: '10.7.0.1',
  subnetAuto: false,
  mtu: 1500,
  masquerade: true,
  icc: true,
  internal: false,
  hostIp: '0.0.0.0',
  firewall: 'auto',
  activeFirewall: 'nftables',
  created: '2026-01-01T00:00:00.000Z',
  ...fields,
});

describe('names of an endpoint', () => {
  it("are in Docker's order: name, aliases, id, and the short id of a 64-digit hex id (which, a 64-byte label, is no DNS name itself)", () => {
    expect(endpointNames('web', ['www', 'front'], HEX64)).to.deep.equal(['web', 'www', 'front', HEX64.slice(0, 12)]);
    expect(endpointNames(undefined, [], '0123456789abcdef')).to.deep.equal(['0123456789abcdef']);
    expect(endpointNames('db', [], 'my-db')).to.deep.equal(['db', 'my-db']);
  });

  it('hold each name once, compared without letter case, the first spelling kept', () => {
    expect(endpointNames('Web', ['web', 'WWW', 'www', 'Web'], 'web')).to.deep.equal(['Web', 'WWW']);
    expect(endpointNames(undefined, [HEX64.slice(0, 12).toUpperCase()], HEX64)).to.deep.equal([HEX64.slice(0, 12).toUpperCase()]);
  });

  it('leave out an id that is no DNS name (a container id may hold "..")', () => {
    expect(endpointNames('web', [], 'a..b')).to.deep.equal(['web']);
    expect(endpointNames(undefined, [], HEX64)).to.deep.equal([HEX64.slice(0, 12)]);
  });
});

describe('connect options name and aliases', () => {
  it('are checked DNS names, INVALID_DNS_NAME otherwise', () => {
    expect(checkConnectInput({ name: 'web', aliases: ['www', 'db.local', 'a_b'] })).to.include({ name: 'web' });
    expect(checkConnectInput({ name: 'web', aliases: ['www'] }).aliases).to.deep.equal(['www']);
    for (const bad of ['', '-web', 'web-', 'a b', 'a..b', 'é', 'x'.repeat(64), `${'x'.repeat(63)}.`.repeat(4) + 'xx', '.web', 'web.']) {
      expect(codeOf(() => checkConnectInput({ name: bad })), JSON.stringify(bad)).to.equal('INVALID_DNS_NAME');
      expect(codeOf(() => checkConnectInput({ aliases: ['ok', bad] })), JSON.stringify(bad)).to.equal('INVALID_DNS_NAME');
    }
    expect(codeOf(() => checkConnectInput({ name: 7 }))).to.equal('INVALID_DNS_NAME');
    expect(codeOf(() => checkConnectInput({ aliases: 'www' }))).to.equal('INVALID_DNS_NAME');
  });
});

describe('resolver options (dns, dnsSearch, dnsOptions)', () => {
  it('take addresses, domains and resolv.conf options', () => {
    expect(checkResolverOptions({ dns: ['1.1.1.1', '2001:DB8::0:1'], dnsSearch: ['example.com', 'corp.example.'], dnsOptions: ['ndots:2', 'edns0', 'timeout:1'] })).to.deep.equal({
      dns: ['1.1.1.1', '2001:db8::1'],
      dnsSearch: ['example.com', 'corp.example'],
      dnsOptions: ['ndots:2', 'edns0', 'timeout:1'],
    });
    expect(checkResolverOptions({ dns: [], dnsSearch: [] })).to.deep.equal({});
  });

  it('refuse anything else with INVALID_DNS', () => {
    for (const given of [
      { dns: ['8.8.8'] },
      { dns: ['dns.google'] },
      { dns: ['fe80::1%eth0'] },
      { dnsSearch: ['a b'] },
      { dnsSearch: ['-x.com'] },
      { dnsSearch: ['.'] },
      { dnsOptions: ['ndots 2'] },
      { dnsOptions: ['ndots:2\nnameserver 1.2.3.4'] },
      { dnsOptions: [''] },
    ]) {
      expect(codeOf(() => checkResolverOptions(given)), JSON.stringify(given)).to.equal('INVALID_DNS');
    }
  });
});

describe("a network's dns switch", () => {
  it('is on for a user network, off for the default network bridge, as asked otherwise', () => {
    expect(checkNetworkOptions({ name: 'web' }).dns).to.equal(true);
    expect(checkNetworkOptions({ name: 'bridge' }).dns).to.equal(false);
    expect(checkNetworkOptions({ name: 'web', dns: false }).dns).to.equal(false);
    expect(codeOf(() => checkNetworkOptions({ name: 'web', dns: 'no' }))).to.equal('INVALID_ARGUMENT');
  });

  it('is part of the definition: a different value differs; a record without the field reads as its name says', () => {
    expect(differences(network({ dns: true }), checkNetworkOptions({ name: 'web', dns: false }))).to.deep.equal(['dns']);
    expect(differences(network({ dns: false }), checkNetworkOptions({ name: 'web' }))).to.deep.equal(['dns']);
    expect(differences(network(), checkNetworkOptions({ name: 'web' }))).to.deep.equal([]);
    expect(differences(network(), checkNetworkOptions({ name: 'web', dns: false }))).to.deep.equal(['dns']);
    const bridge = network({ name: 'bridge', bridge: 'nsnet0' });
    expect(differences(bridge, checkNetworkOptions({ name: 'bridge', bridge: 'nsnet0' }))).to.deep.equal([]);
    expect(differences(bridge, checkNetworkOptions({ name: 'bridge', bridge: 'nsnet0', dns: true }))).to.deep.equal(['dns']);
  });
});

describe("a container's resolv.conf", () => {
  let dir;
  let saved;
  const host = (text) => {
    writeFileSync(join(dir, 'resolv.conf'), text);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-resolv-'));
    saved = { conf: process.env.NSNET_HOST_RESOLV_CONF, etc: process.env.NSNET_NETNS_ETC_DIR };
    process.env.NSNET_HOST_RESOLV_CONF = join(dir, 'resolv.conf');
    host('nameserver 192.0.2.53\nnameserver 127.0.0.1\nsearch corp.example\noptions timeout:2 ndots:3\n');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [key, value] of [['NSNET_HOST_RESOLV_CONF', saved.conf], ['NSNET_NETNS_ETC_DIR', saved.etc]]) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('goes to <NSNET_NETNS_ETC_DIR or /etc/netns>/<namespace>/resolv.conf', () => {
    delete process.env.NSNET_NETNS_ETC_DIR;
    expect(netnsEtcDir()).to.equal('/etc/netns');
    expect(resolvConfPath('ct1')).to.equal('/etc/netns/ct1/resolv.conf');
    process.env.NSNET_NETNS_ETC_DIR = '/run/x';
    expect(resolvConfPath('ct1')).to.equal('/run/x/ct1/resolv.conf');
  });

  it('on a network that resolves names: the gateways, the host search domains, ndots:0 unless the host or caller sets ndots', async () => {
    host('nameserver 192.0.2.53\nsearch corp.example\noptions timeout:2\n');
    const dual = network({ ipv6: { subnet: 'fd00:7::/64', gateway: 'fd00:7::1' } });
    expect(await resolvConfText(dual, {})).to.equal(
      '# Written by nsnet for this container.\nnameserver 10.7.0.1\nnameserver fd00:7::1\nsearch corp.example\noptions timeout:2 ndots:0\n',
    );
    // The caller's servers are the resolver's upstreams, not in the file.
    expect(await resolvConfText(network({ dns: true }), { dns: ['1.1.1.1'], dnsSearch: ['svc.example'], dnsOptions: ['ndots:2', 'edns0'] })).to.equal(
      '# Written by nsnet for this container.\nnameserver 10.7.0.1\nsearch svc.example corp.example\noptions timeout:2 ndots:2 edns0\n',
    );
  });

  it('on a dns:false network, the default network or none: the caller servers, else the host ones a container can reach', async () => {
    const expected = '# Written by nsnet for this container.\nnameserver 192.0.2.53\nsearch corp.example\noptions timeout:2 ndots:3\n';
    expect(await resolvConfText(network({ dns: false }), {})).to.equal(expected);
    expect(await resolvConfText(network({ name: 'bridge' }), {})).to.equal(expected);
    expect(await resolvConfText(undefined, {})).to.equal(expected);
    expect(await resolvConfText(network({ name: 'bridge' }), { dns: ['9.9.9.9', '2001:db8::53'], dnsSearch: ['a.example'], dnsOptions: ['ndots:1'] })).to.equal(
      '# Written by nsnet for this container.\nnameserver 9.9.9.9\nnameserver 2001:db8::53\nsearch a.example corp.example\noptions timeout:2 ndots:1\n',
    );
  });

  it("reads the host's file again once it changed: rewritten in place with the same length at once, or replaced by a rename", async () => {
    const file = join(dir, 'resolv.conf');
    const servers = async () => (await resolvConfText(undefined, {})).split('\n').filter((line) => line.startsWith('nameserver'));
    host('nameserver 192.0.2.53\n');
    expect(await servers()).to.deep.equal(['nameserver 192.0.2.53']);
    host('nameserver 192.0.2.54\n'); // same size, same inode
    expect(await servers()).to.deep.equal(['nameserver 192.0.2.54']);
    writeFileSync(`${file}.new`, 'nameserver 192.0.2.55\n');
    renameSync(`${file}.new`, file);
    expect(await servers()).to.deep.equal(['nameserver 192.0.2.55']);
  });

  it('with no host resolv.conf: no servers but the caller ones', async () => {
    rmSync(join(dir, 'resolv.conf'));
    expect(await resolvConfText(undefined, {})).to.equal('# Written by nsnet for this container.\n');
    expect(await resolvConfText(undefined, { dns: ['9.9.9.9'] })).to.equal('# Written by nsnet for this container.\nnameserver 9.9.9.9\n');
  });
});

describe('CNI and names', () => {
  const config = (runtimeConfig) => JSON.stringify({ cniVersion: '1.0.0', name: 'web', type: 'nsnet-cni', runtimeConfig });

  it("takes the aliases capability's names of this network only", () => {
    expect(readConfig(config({ aliases: { web: ['www', 'front'], other: ['x'] } })).connect).to.deep.equal({ aliases: ['www', 'front'] });
    expect(readConfig(config({ aliases: { other: ['x'] } })).connect).to.deep.equal({});
    expect(codeOf(() => readConfig(config({ aliases: { web: 'www' } })))).to.equal(7);
  });

  it("answers a result's dns with the network's gateways where it resolves names, nothing elsewhere", () => {
    expect(resolverDns(network())).to.deep.equal({ nameservers: ['10.7.0.1'] });
    expect(resolverDns(network({ ipv6: { subnet: 'fd00:7::/64', gateway: 'fd00:7::1' } }))).to.deep.equal({ nameservers: ['10.7.0.1', 'fd00:7::1'] });
    expect(resolverDns(network({ dns: false }))).to.deep.equal({});
    expect(resolverDns(network({ name: 'bridge' }))).to.deep.equal({});
  });
});
