// The overlay store client against a real etcd (Debian's, started in the
// sandbox by test/etcd.mjs): definitions, VNIs, address claims across
// concurrent clients, leases, the watch, a store that stops answering, and
// values that are not nsnet's. etcdctl is the oracle of what is stored.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

import { ClusterStore } from '../../dist/cluster/store.js';
import { startEtcd, useEtcd } from '../etcd.mjs';
import { eventually, expectReject } from '../helpers.mjs';

const PREFIX = '/nsnet/v1';

/** Every thread of process `pid` is stopped (state T in its stat line). */
function stoppedThreads(pid) {
  return readdirSync(`/proc/${pid}/task`).every((task) => {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  });
}

const definition = (more = {}) => ({ subnet: '10.70.0.0/16', gateway: '10.70.0.1', port: 4789, ...more });
const entry = (ipv4, host, more = {}) => ({ ipv4, mac: `02:42:0a:46:${(Number(ipv4.split('.')[3]) >> 8).toString(16).padStart(2, '0')}:${(Number(ipv4.split('.')[3]) & 255).toString(16).padStart(2, '0')}`, host, container: `c-${ipv4}`, ...more });

describe('overlay store (etcd)', function () {
  this.timeout(30_000);
  const server = useEtcd();
  const stores = [];
  const open = (options) => {
    const store = ClusterStore.open({ endpoints: [server.etcd.url], prefix: PREFIX }, options);
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('stores a definition once: later hosts get the stored one; VNIs are the lowest free from 4096, or refused when another network has them', async () => {
    const a = open();
    const b = open();
    const first = await a.defineNetwork('def1', definition());
    expect(first.vni).to.equal(4096);
    expect(await b.defineNetwork('def1', definition({ mtu: 1400 }))).to.deep.equal(first);
    expect(await b.readDefinition('def1')).to.deep.equal(first);
    expect(await b.readDefinition('nothing')).to.equal(undefined);
    expect((await a.defineNetwork('def2', definition({ subnet: '10.71.0.0/16', gateway: '10.71.0.1' }))).vni).to.equal(4097);
    expect((await a.defineNetwork('def3', definition({ vni: 4098 }))).vni).to.equal(4098);
    const conflict = await expectReject(b.defineNetwork('def4', definition({ vni: 4097 })), 'NsnetError', 'NETWORK_CONFLICT');
    expect(conflict.message).to.match(/def2/);
    expect(await b.readDefinition('def4')).to.equal(undefined);
    // Two at once with no VNI: both get one, not the same one.
    const [x, y] = await Promise.all([a.defineNetwork('race1', definition()), b.defineNetwork('race2', definition())]);
    expect(x.vni).to.not.equal(y.vni);
    const stored = server.etcd.stored(`${PREFIX}/vnis/`);
    expect(stored.get(`${PREFIX}/vnis/4096`)).to.equal('def1');
    expect(stored.get(`${PREFIX}/vnis/${x.vni}`)).to.equal('race1');
    expect(stored.get(`${PREFIX}/vnis/${y.vni}`)).to.equal('race2');
    expect(JSON.parse(server.etcd.stored(`${PREFIX}/networks/def1/definition`).get(`${PREFIX}/networks/def1/definition`))).to.deep.equal(first);
  });

  it('removes a definition and its VNI only when no host and no address is left', async () => {
    const store = open();
    const { vni } = await store.defineNetwork('gone1', definition({ vni: 5000 }));
    const lease = await store.grantLease(30);
    await store.registerHost('gone1', { underlay: '192.168.50.1', since: new Date().toISOString() }, lease);
    expect(await store.removeDefinitionIfUnused('gone1')).to.equal(false);
    await store.revokeLease(lease);
    expect(await store.removeDefinitionIfUnused('gone1')).to.equal(true);
    expect(server.etcd.stored(`${PREFIX}/networks/gone1/`).size).to.equal(0);
    expect(server.etcd.stored(`${PREFIX}/vnis/${vni}`).size).to.equal(0);
    expect(await store.removeDefinitionIfUnused('gone1')).to.equal(false);
  });

  it('3 clients x 20 concurrent claims of the lowest free address end with 60 distinct addresses', async () => {
    const clients = ['192.168.60.1', '192.168.60.2', '192.168.60.3'].map((host) => ({ host, store: open() }));
    for (const client of clients) client.lease = await client.store.grantLease(60);
    const claimedBy = new Map();
    let lost = 0;
    async function claimLowest(client, n) {
      for (let candidate = 2; ; candidate++) {
        const ipv4 = `10.72.0.${candidate}`;
        if (claimedBy.has(ipv4)) continue; // known taken: as a local IPAM would skip it
        const result = await client.store.claimAddresses('claims', entry(ipv4, client.host, { container: `${client.host}-${n}`, ipv6: `fd72::${candidate}` }), client.lease);
        if (result === 'claimed') {
          claimedBy.set(ipv4, client.host);
          return ipv4;
        }
        lost++;
        expect(result.takenBy).to.be.oneOf(clients.map((c) => c.host));
      }
    }
    const results = await Promise.all(clients.flatMap((client) => Array.from({ length: 20 }, (_, n) => claimLowest(client, n))));
    expect(new Set(results).size).to.equal(60);
    expect(lost, 'some claims raced (else the test shows nothing)').to.be.greaterThan(0);
    const stored = server.etcd.stored(`${PREFIX}/networks/claims/addresses/`);
    expect(stored.size).to.equal(60);
    for (const [key, value] of stored) {
      const ipv4 = key.slice(`${PREFIX}/networks/claims/addresses/`.length);
      expect(JSON.parse(value).host).to.equal(claimedBy.get(ipv4));
    }
    const stored6 = server.etcd.stored(`${PREFIX}/networks/claims/addresses6/`);
    expect([...stored6.values()].sort()).to.deep.equal([...stored.keys()].map((key) => key.split('/').pop()).sort());
  });

  it('claims both addresses or neither; releases only what is still the caller\'s', async () => {
    const store = open();
    const lease = await store.grantLease(60);
    expect(await store.claimAddresses('both', entry('10.73.0.2', '192.168.73.1', { ipv6: 'fd73::2' }), lease)).to.equal('claimed');
    // Its IPv6 address taken: the IPv4 one is not claimed either.
    expect(await store.claimAddresses('both', entry('10.73.0.3', '192.168.73.2', { ipv6: 'fd73::2' }), lease)).to.deep.equal({ takenBy: '192.168.73.1', taken: ['ipv6'] });
    expect(server.etcd.stored(`${PREFIX}/networks/both/addresses/10.73.0.3`).size).to.equal(0);
    await store.releaseAddresses('both', { ipv4: '10.73.0.2', ipv6: 'fd73::2', host: '192.168.73.2' });
    expect(server.etcd.stored(`${PREFIX}/networks/both/`).size, "another host's release leaves it").to.equal(2);
    await store.releaseAddresses('both', { ipv4: '10.73.0.2', ipv6: 'fd73::2', host: '192.168.73.1' });
    expect(server.etcd.stored(`${PREFIX}/networks/both/`).size).to.equal(0);
    await store.releaseAddresses('both', { ipv4: '10.73.0.2', host: '192.168.73.1' }); // gone is fine
  });

  it("releases in one transaction only the entry of the container given: the same address claimed again for another container stays", async () => {
    const store = open();
    const lease = await store.grantLease(60);
    const first = entry('10.73.1.2', '192.168.73.1', { ipv6: 'fd73::1:2' });
    expect(await store.claimAddresses('again', first, lease)).to.equal('claimed');
    const revision = BigInt((await store.listAddresses('again')).revision);
    await store.releaseAddresses('again', first);
    expect(server.etcd.stored(`${PREFIX}/networks/again/`).size).to.equal(0);
    expect(BigInt((await store.listAddresses('again')).revision), 'one transaction: one revision').to.equal(revision + 1n);
    const second = { ...first, container: 'c-other', mac: '02:42:0a:46:01:99' };
    expect(await store.claimAddresses('again', second, lease)).to.equal('claimed');
    await store.releaseAddresses('again', first);
    await store.releaseAddresses('again', { ipv4: first.ipv4, ipv6: first.ipv6, host: first.host, container: first.container });
    expect(JSON.parse(server.etcd.stored(`${PREFIX}/networks/again/addresses/10.73.1.2`).get(`${PREFIX}/networks/again/addresses/10.73.1.2`)).container).to.equal('c-other');
    // Written differently from what the caller has (another nsnet's key order): still released, on a compared read.
    const key = `${PREFIX}/networks/again/addresses/10.73.1.2`;
    server.etcd.etcdctl(['put', key, JSON.stringify({ container: 'c-other', host: first.host, ipv4: first.ipv4, ipv6: first.ipv6, mac: second.mac })]);
    await store.releaseAddresses('again', second);
    expect(server.etcd.stored(`${PREFIX}/networks/again/`).size).to.equal(0);
  });

  it("a lease not kept alive takes its keys with it after the TTL; one kept alive keeps them", async function () {
    const store = open();
    const dropped = await store.grantLease(2);
    const kept = await store.grantLease(2);
    await store.registerHost('ttl', { underlay: '192.168.74.1', since: 'now' }, dropped);
    await store.claimAddresses('ttl', entry('10.74.0.2', '192.168.74.1'), dropped);
    await store.registerHost('ttl', { underlay: '192.168.74.2', since: 'now' }, kept);
    await store.claimAddresses('ttl', entry('10.74.0.3', '192.168.74.2'), kept);
    const lost = [];
    const keeper = store.keepAlive(kept, (why) => lost.push(why));
    try {
      expect(server.etcd.stored(`${PREFIX}/networks/ttl/`).size).to.equal(4);
      await new Promise((resolve) => setTimeout(resolve, 4500));
      expect([...server.etcd.stored(`${PREFIX}/networks/ttl/`).keys()].sort()).to.deep.equal([`${PREFIX}/networks/ttl/addresses/10.74.0.3`, `${PREFIX}/networks/ttl/hosts/192.168.74.2`]);
      expect(lost, 'a lease kept alive reported lost').to.deep.equal([]);
    } finally {
      keeper.stop();
    }
  });

  it('keepAlive reports a lease etcd no longer has', async () => {
    const store = open();
    const lease = await store.grantLease(30);
    const lost = new Promise((resolve) => store.keepAlive(lease, resolve));
    server.etcd.etcdctl(['lease', 'revoke', BigInt(lease).toString(16)]);
    const why = await lost;
    expect(why.code).to.equal('STORE_UNAVAILABLE');
    expect(why.details.leaseLost).to.equal(true);
  });

  it('the watch reports puts and deletes after the revision listed, in order', async () => {
    const store = open();
    const lease = await store.grantLease(60);
    await store.claimAddresses('watched', entry('10.75.0.2', '192.168.75.1'), lease);
    const { entries, revision } = await store.listAddresses('watched');
    expect(entries.map((e) => e.ipv4)).to.deep.equal(['10.75.0.2']);
    const changes = [];
    const errors = [];
    const watch = store.watchAddresses('watched', revision, (change) => changes.push(change), (error) => errors.push(error));
    try {
      await store.claimAddresses('watched', entry('10.75.0.3', '192.168.75.2'), lease);
      await store.releaseAddresses('watched', { ipv4: '10.75.0.2', host: '192.168.75.1' });
      server.etcd.etcdctl(['del', `${PREFIX}/networks/watched/addresses/10.75.0.3`]);
      for (let i = 0; i < 100 && changes.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(changes).to.deep.equal([
        { type: 'put', ipv4: '10.75.0.3', entry: entry('10.75.0.3', '192.168.75.2') },
        { type: 'delete', ipv4: '10.75.0.2' },
        { type: 'delete', ipv4: '10.75.0.3' },
      ]);
      expect(errors).to.deep.equal([]);
    } finally {
      await watch.close();
    }
  });

  it('a definition that is not valid is refused before anything is stored', async () => {
    const store = open();
    const error = await expectReject(store.defineNetwork('badly', definition({ subnet: 'not a subnet' })), 'NsnetError', 'INVALID_ARGUMENT');
    expect(error.message).to.match(/subnet/);
    expect(server.etcd.stored(`${PREFIX}/`).has(`${PREFIX}/networks/badly/definition`)).to.equal(false);
  });

  it('one corrupt address key is left out of the list and reported; the others are listed', async () => {
    const store = open();
    const lease = await store.grantLease(60);
    await store.claimAddresses('onebad', entry('10.76.0.2', '192.168.76.1'), lease);
    server.etcd.etcdctl(['put', `${PREFIX}/networks/onebad/addresses/10.76.0.3`, '{"ipv4":"10.76.0.3"}']);
    const listed = await store.listAddresses('onebad');
    expect(listed.entries.map((e) => e.ipv4)).to.deep.equal(['10.76.0.2']);
    expect(listed.leases.get('10.76.0.2')).to.equal(lease);
    expect(listed.corrupt.map((e) => e.code)).to.deep.equal(['STATE_CORRUPT']);
    expect(listed.corrupt[0].message).to.include(`${PREFIX}/networks/onebad/addresses/10.76.0.3`);
  });

  it('values that are not nsnet\'s are STATE_CORRUPT naming the key', async () => {
    const store = open();
    server.etcd.etcdctl(['put', `${PREFIX}/networks/bad1/definition`, '{"subnet": "10.76.0.0/16"}']);
    const error = await expectReject(store.readDefinition('bad1'), 'NsnetError', 'STATE_CORRUPT');
    expect(error.message).to.include(`${PREFIX}/networks/bad1/definition`);
    await expectReject(store.defineNetwork('bad1', definition()), 'NsnetError', 'STATE_CORRUPT');
    server.etcd.etcdctl(['put', `${PREFIX}/networks/bad2/addresses/10.77.0.2`, 'not json']);
    expect((await store.listAddresses('bad2')).corrupt[0].details.key).to.equal(`${PREFIX}/networks/bad2/addresses/10.77.0.2`);
    server.etcd.etcdctl(['put', `${PREFIX}/networks/bad2/addresses/10.77.0.3`, '{"ipv4":"10.77.0.3","mac":"nope","host":"192.168.77.1","container":"c"}']);
    const lease = await store.grantLease(30);
    expect((await expectReject(store.claimAddresses('bad2', entry('10.77.0.3', '192.168.77.2'), lease), 'NsnetError', 'STATE_CORRUPT')).message).to.match(/mac/);
  });

  it('etcd stopped: every call fails with STORE_UNAVAILABLE within 2 s, naming the endpoint; back: calls work again', async function () {
    this.timeout(60_000);
    const store = open();
    const lease = await store.grantLease(60);
    await store.defineNetwork('down', definition({ vni: 6000 }));
    await server.etcd.stop();
    const calls = {
      defineNetwork: () => store.defineNetwork('down2', definition()),
      readDefinition: () => store.readDefinition('down'),
      removeDefinitionIfUnused: () => store.removeDefinitionIfUnused('down'),
      grantLease: () => store.grantLease(10),
      revokeLease: () => store.revokeLease(lease),
      registerHost: () => store.registerHost('down', { underlay: '192.168.78.1', since: 'now' }, lease),
      claimAddresses: () => store.claimAddresses('down', entry('10.78.0.2', '192.168.78.1'), lease),
      releaseAddresses: () => store.releaseAddresses('down', { ipv4: '10.78.0.2', host: '192.168.78.1' }),
      listAddresses: () => store.listAddresses('down'),
    };
    for (const [name, call] of Object.entries(calls)) {
      const started = Date.now();
      const error = await expectReject(call(), 'NsnetError', 'STORE_UNAVAILABLE');
      expect(Date.now() - started, name).to.be.below(2000);
      expect(error.message, name).to.include(server.etcd.url);
    }
    await server.etcd.restart();
    expect(await store.readDefinition('down')).to.include({ vni: 6000 });
    expect(await store.claimAddresses('down', entry('10.78.0.2', '192.168.78.1'), lease)).to.equal('claimed');
  });

  it('etcd refusing the client (authentication on, no user given): INVALID_STORE, not an outage', async () => {
    const store = open();
    server.etcd.etcdctl(['user', 'add', 'root', '--new-user-password=nsnet-test']);
    server.etcd.etcdctl(['role', 'add', 'root']);
    server.etcd.etcdctl(['user', 'grant-role', 'root', 'root']);
    server.etcd.etcdctl(['auth', 'enable']);
    try {
      const error = await expectReject(store.listAddresses('auth'), 'NsnetError', 'INVALID_STORE');
      expect(error.message).to.include(server.etcd.url);
    } finally {
      server.etcd.etcdctl(['--user', 'root:nsnet-test', 'auth', 'disable']);
      server.etcd.etcdctl(['user', 'delete', 'root']);
      server.etcd.etcdctl(['role', 'delete', 'root']);
    }
    expect((await store.listAddresses('auth')).entries).to.deep.equal([]);
  });

  it('etcd without its JSON gateway (--enable-grpc-gateway=false): INVALID_STORE saying so, not an outage', async function () {
    this.timeout(30_000);
    const bare = await startEtcd({ args: ['--enable-grpc-gateway=false'] });
    try {
      const store = ClusterStore.open({ endpoints: [bare.url], prefix: PREFIX });
      stores.push(store);
      const error = await expectReject(store.listAddresses('x'), 'NsnetError', 'INVALID_STORE');
      expect(error.message).to.include(bare.url).and.match(/--enable-grpc-gateway/);
    } finally {
      await bare.stop();
    }
  });

  it('over TLS with client certificates: claims and listings (the JSON gateway), leases and the watch (gRPC); a client without a certificate is refused in time', async function () {
    this.timeout(30_000);
    const secure = await startEtcd({ tls: true });
    try {
      const { ca, cert, key } = secure.tls;
      const store = ClusterStore.open({ endpoints: [secure.url], tls: { ca, cert, key }, prefix: PREFIX });
      stores.push(store);
      const listed = await store.listAddresses('tls');
      const changes = [];
      const watch = store.watchAddresses('tls', listed.revision, (change) => changes.push(change), () => undefined);
      try {
        const lease = await store.grantLease(30);
        expect(await store.claimAddresses('tls', entry('10.79.0.2', '192.168.79.1'), lease)).to.equal('claimed');
        expect(secure.leaseOf(`${PREFIX}/networks/tls/addresses/10.79.0.2`)).to.equal(lease);
        expect((await store.listAddresses('tls')).entries.map((held) => held.ipv4)).to.deep.equal(['10.79.0.2']);
        expect(await eventually(() => changes.length === 1, 5000), 'the watch saw the claim').to.equal(true);
        expect(changes[0]).to.include({ type: 'put', ipv4: '10.79.0.2' });
      } finally {
        await watch.close();
      }
      const anonymous = ClusterStore.open({ endpoints: [secure.url], tls: { ca }, prefix: PREFIX });
      stores.push(anonymous);
      const started = Date.now();
      const refused = await anonymous.listAddresses('tls').then(() => undefined, (error) => error);
      expect(refused?.code, 'refused').to.be.oneOf(['STORE_UNAVAILABLE', 'INVALID_STORE']);
      expect(Date.now() - started).to.be.below(2000);
    } finally {
      await secure.stop();
    }
  });

  it('etcd frozen (SIGSTOP): a call fails with STORE_UNAVAILABLE at its deadline, not later; thawed: calls work again', async () => {
    const store = open({ timeoutMs: 800 });
    await store.listAddresses('frozen'); // connected before
    process.kill(server.etcd.pid, 'SIGSTOP');
    // The stop reaches each of its threads in its own time: a request sent before they all stopped could still be answered.
    expect(await eventually(() => stoppedThreads(server.etcd.pid), 2000), 'every thread of etcd stopped').to.equal(true);
    try {
      for (const call of [() => store.listAddresses('frozen'), () => store.grantLease(5)]) {
        const started = Date.now();
        const error = await expectReject(call(), 'NsnetError', 'STORE_UNAVAILABLE');
        expect(Date.now() - started).to.be.within(700, 1500);
        expect(error.message).to.match(/within 800 ms|deadline/i);
      }
    } finally {
      process.kill(server.etcd.pid, 'SIGCONT');
    }
    expect((await store.listAddresses('frozen')).entries).to.deep.equal([]);
  });

  it('an endpoint that refuses, or a client given an unreachable address, fails within its deadline', async () => {
    const refused = ClusterStore.open({ endpoints: ['http://127.0.0.1:1'], prefix: PREFIX });
    const unroutable = ClusterStore.open({ endpoints: ['http://192.0.2.1:2379'], prefix: PREFIX }, { timeoutMs: 500 });
    stores.push(refused, unroutable);
    for (const store of [refused, unroutable]) {
      const started = Date.now();
      await expectReject(store.listAddresses('x'), 'NsnetError', 'STORE_UNAVAILABLE');
      expect(Date.now() - started).to.be.below(2000);
    }
    // Two endpoints, the first silent (it accepts and never answers): each call still reaches the second in time.
    const held = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const halfDead = ClusterStore.open({ endpoints: [`http://127.0.0.1:${silent.address().port}`, server.etcd.url], prefix: PREFIX });
      stores.push(halfDead);
      for (let i = 0; i < 10; i++) {
        const started = Date.now();
        expect((await halfDead.listAddresses('x')).entries, `call ${i}`).to.deep.equal([]);
        expect(Date.now() - started).to.be.below(1500);
      }
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
    // Two endpoints, the first dead: the call goes to the second.
    const both = ClusterStore.open({ endpoints: ['http://127.0.0.1:1', server.etcd.url], prefix: PREFIX });
    stores.push(both);
    for (let i = 0; i < 4; i++) expect((await both.listAddresses('x')).entries).to.deep.equal([]);
  });
});
