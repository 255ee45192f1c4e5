// An overlay network's store option: what parseStoreOption makes of it, and
// what it refuses (INVALID_STORE) before any connection is tried.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { parseStoreOption } from '../../dist/cluster/config.js';
import { StoreKeys } from '../../dist/cluster/keys.js';

function refused(given) {
  try {
    parseStoreOption(given);
  } catch (error) {
    expect(error.code, error.message).to.equal('INVALID_STORE');
    return error.message;
  }
  throw new Error(`accepted ${JSON.stringify(given)}`);
}

describe('store option', () => {
  const made = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsnet-store-'));
    made.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('takes a URL, a comma-separated list, or an object; the prefix defaults to /nsnet/v1', () => {
    expect(parseStoreOption('http://10.0.0.1:2379')).to.deep.equal({ endpoints: ['http://10.0.0.1:2379'], prefix: '/nsnet/v1' });
    expect(parseStoreOption('http://a:2379, http://b:2379/')).to.deep.equal({ endpoints: ['http://a:2379', 'http://b:2379'], prefix: '/nsnet/v1' });
    expect(parseStoreOption({ endpoints: ['http://[fd00::1]:2379'], prefix: '/lab/nsnet' })).to.deep.equal({ endpoints: ['http://[fd00::1]:2379'], prefix: '/lab/nsnet' });
  });

  it('keeps readable TLS files as absolute paths, with https endpoints', () => {
    const dir = tempDir();
    for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, name), 'x');
    const config = parseStoreOption({ endpoints: ['https://etcd:2379'], tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
    expect(config.tls).to.deep.equal({ ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
  });

  it('refuses what names no usable store', () => {
    expect(refused('etcd:2379')).to.match(/not an http/);
    expect(refused('ftp://etcd:2379')).to.match(/not an http/);
    expect(refused('http://etcd')).to.match(/names no port/);
    expect(refused('http://:2379')).to.match(/URL|host/);
    expect(refused('http://user:pw@etcd:2379')).to.match(/only a scheme/);
    expect(refused('http://etcd:2379/v3')).to.match(/only a scheme/);
    expect(refused('')).to.match(/endpoints/);
    expect(refused('http://a:2379,')).to.match(/endpoints/);
    expect(refused({ endpoints: [] })).to.match(/non-empty/);
    expect(refused({ endpoints: 'http://a:2379' })).to.match(/endpoints must be a list/);
    expect(refused({ endpoints: ['http://a:2379'], extra: 1 })).to.match(/unknown key "extra"/);
    expect(refused(['http://a:2379'])).to.match(/must be an etcd URL/);
    expect(refused(2379)).to.match(/must be an etcd URL/);
    expect(refused('http://a:2379,https://b:2379')).to.match(/all http/);
  });

  it('refuses TLS files that cannot be read, and TLS over http', () => {
    expect(refused({ endpoints: ['https://a:2379'], tls: { ca: '/nonexistent/ca.pem' } })).to.match(/cannot be read: ENOENT/);
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.pem'), 'x');
    expect(refused({ endpoints: ['https://a:2379'], tls: { cert: join(dir, 'ca.pem') } })).to.match(/go together/);
    expect(refused({ endpoints: ['http://a:2379'], tls: { ca: join(dir, 'ca.pem') } })).to.match(/use https/);
    expect(refused({ endpoints: ['https://a:2379'], tls: 'ca.pem' })).to.match(/tls must be an object/);
    expect(refused({ endpoints: ['https://a:2379'], tls: { ca: 1 } })).to.match(/tls.ca must be a string/);
    expect(refused({ endpoints: ['https://a:2379'], tls: { crt: 'x' } })).to.match(/unknown key "tls.crt"/);
  });

  it('refuses a prefix that is not an absolute key path', () => {
    for (const prefix of ['nsnet', '/nsnet/', '/', '//x', '/a b', '', 7]) expect(refused({ endpoints: ['http://a:2379'], prefix })).to.match(/prefix/);
  });

  it('lays out the keys under the prefix', () => {
    const keys = new StoreKeys('/nsnet/v1');
    expect(keys.definition('net')).to.equal('/nsnet/v1/networks/net/definition');
    expect(keys.vni(4096)).to.equal('/nsnet/v1/vnis/4096');
    expect(keys.host('net', '192.168.0.2')).to.equal('/nsnet/v1/networks/net/hosts/192.168.0.2');
    expect(keys.address('net', '10.0.0.2')).to.equal('/nsnet/v1/networks/net/addresses/10.0.0.2');
    expect(keys.address6('net', 'fd00::2')).to.equal('/nsnet/v1/networks/net/addresses6/fd00::2');
  });
});
