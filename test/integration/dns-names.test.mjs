// Containers on one user network find each other by name, as on a Docker
// user-defined network: through the resolver on their gateway, through
// glibc (getent, node's own resolver) reading the container's resolv.conf,
// and not from anywhere else.
import { randomBytes } from 'node:crypto';

import { expect } from 'chai';

import { addressesOf, reverseName } from '../dns-ask.mjs';
import { dnsSuite, nameserversOf, resolvConfOf, testResources, UPSTREAM } from '../dns-environment.mjs';
import { eventually, startTcpServer, stop, tcpRequest } from '../helpers.mjs';

/** Resolves to `{ code, stdout }` of a program run in a container (sees its resolv.conf). */
const run = (c, command, args) => c.netns.exec(command, args);

/** The addresses `getent ahosts NAME` (glibc, the container's resolv.conf) prints, sorted; none when it fails. */
async function getent(c, database, key) {
  const { code, stdout } = await run(c, 'getent', [database, key]);
  if (code !== 0) return [];
  return [...new Set(stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]))].sort();
}

/** `dig @server name type +short`, one try: the addresses it prints, sorted. */
async function dig(c, server, name, type) {
  const { stdout } = await run(c, 'dig', [`@${server}`, name, type, '+short', '+tries=1', '+time=2']);
  return stdout.trim().split('\n').filter(Boolean).sort();
}

/** The questions the host's upstream saw since `mark` (its count of queries then). */
const seenSince = (upstream, mark) => upstream.queries.slice(mark).map((q) => q.name.toLowerCase());

describe('names: containers of one user network find each other', () => {
  const suite = dnsSuite();
  const made = testResources();
  afterEach(() => made.cleanup());

  /** Two containers with names and aliases on `net`, and an asker in each. */
  async function pair(net) {
    const web = await made.container({ network: net.name, name: 'web', aliases: ['www', 'front'] });
    const db = await made.container({ network: net.name, name: 'db', aliases: ['store'] });
    return { web, db, fromWeb: await made.asker(web.netns), fromDb: await made.asker(db.netns) };
  }

  it('on an IPv4 network: A of the other by id, name and alias, TTL 0; AAAA is NODATA, not forwarded', async () => {
    const net = await made.network({});
    const { web, db, fromWeb, fromDb } = await pair(net);
    const mark = suite.upstream.queries.length;
    for (const name of ['db', 'store', db.id]) {
      const answer = await fromWeb.ask({ server: net.gateway, name, type: 'A' });
      expect(answer, name).to.include({ answered: true, rcode: 'NOERROR' });
      expect(addressesOf(answer), name).to.deep.equal([db.endpoint.ipv4]);
      expect(answer.answers[0].ttl).to.equal(0);
    }
    for (const name of ['web', 'www', 'front', web.id]) {
      expect(addressesOf(await fromDb.ask({ server: net.gateway, name })), name).to.deep.equal([web.endpoint.ipv4]);
    }
    const nodata = await fromWeb.ask({ server: net.gateway, name: 'db', type: 'AAAA' });
    expect(nodata).to.include({ answered: true, rcode: 'NOERROR' });
    expect(nodata.answers).to.deep.equal([]);
    expect(nameserversOf(resolvConfOf(web.id))).to.deep.equal([net.gateway]);
    expect(resolvConfOf(web.id)).to.match(/^options .*\bndots:0\b/m);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seenSince(suite.upstream, mark), 'local names are never forwarded').to.deep.equal([]);
  });

  it('on a dual-stack network: A and AAAA, from both gateway addresses', async () => {
    const net = await made.network({ ipv6: { subnet: 'fd00:53:2::/64' } });
    const { web, db, fromWeb } = await pair(net);
    expect(db.endpoint.ipv6).to.be.a('string');
    for (const server of [net.gateway, net.ipv6.gateway]) {
      for (const name of ['db', 'store', db.id]) {
        expect(addressesOf(await fromWeb.ask({ server, name, type: 'A' })), `${name} A at ${server}`).to.deep.equal([db.endpoint.ipv4]);
        expect(addressesOf(await fromWeb.ask({ server, name, type: 'AAAA' })), `${name} AAAA at ${server}`).to.deep.equal([db.endpoint.ipv6]);
      }
    }
    expect(nameserversOf(resolvConfOf(web.id))).to.deep.equal([net.gateway, net.ipv6.gateway]);
  });

  it("connects by name over TCP: node's own resolver reads the container's resolv.conf", async () => {
    for (const options of [{}, { ipv6: { subnet: 'fd00:53:3::/64' } }]) {
      const net = await made.network(options);
      const { web, db } = await pair(net);
      const server = await startTcpServer(db.netns, 5432, 'db');
      try {
        for (const name of ['db', 'store', `db.${net.name}`]) {
          expect(await tcpRequest(web.netns, name, 5432, 'hello'), name).to.equal('db:hello');
        }
      } finally {
        await stop(server);
      }
    }
  });

  it('getent (glibc) and dig @gateway agree, on IPv4 and dual-stack networks', async () => {
    const net4 = await made.network({});
    const four = await pair(net4);
    for (const name of ['db', 'store']) {
      const dug = await dig(four.web, net4.gateway, name, 'A');
      expect(dug, name).to.deep.equal([four.db.endpoint.ipv4]);
      expect(await getent(four.web, 'hosts', name), name).to.deep.equal(dug);
    }
    const net6 = await made.network({ ipv6: { subnet: 'fd00:53:4::/64' } });
    const dual = await pair(net6);
    const dugA = await dig(dual.web, net6.gateway, 'db', 'A');
    const dugAAAA = await dig(dual.web, net6.gateway, 'db', 'AAAA');
    expect(dugA).to.deep.equal([dual.db.endpoint.ipv4]);
    expect(dugAAAA).to.deep.equal([dual.db.endpoint.ipv6]);
    expect(await getent(dual.web, 'ahosts', 'db')).to.deep.equal([...dugA, ...dugAAAA].sort());
    expect(await getent(dual.web, 'ahostsv4', 'db')).to.deep.equal(dugA);
  });

  it('PTR of the other\'s address answers "<name>.<network>" (IPv4 and IPv6); an unknown one in the subnet NXDOMAIN, not forwarded', async () => {
    const net = await made.network({ ipv6: { subnet: 'fd00:53:5::/64' } });
    const { web, db, fromWeb } = await pair(net);
    for (const address of [db.endpoint.ipv4, db.endpoint.ipv6]) {
      const answer = await fromWeb.ask({ server: net.gateway, name: reverseName(address), type: 'PTR' });
      expect(answer, address).to.include({ answered: true, rcode: 'NOERROR' });
      expect(answer.answers.map((a) => a.data), address).to.deep.equal([`db.${net.name}`]);
    }
    const { stdout } = await run(web, 'getent', ['hosts', db.endpoint.ipv4]);
    expect(stdout.trim().split(/\s+/)).to.deep.equal([db.endpoint.ipv4, `db.${net.name}`]);
    const mark = suite.upstream.queries.length;
    const unused = net.subnet.replace(/\.0\/24$/, '.250');
    const unknown = await fromWeb.ask({ server: net.gateway, name: reverseName(unused), type: 'PTR' });
    expect(unknown).to.include({ answered: true, rcode: 'NXDOMAIN' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seenSince(suite.upstream, mark)).to.deep.equal([]);
  });

  it('"name.network" resolves, in any letter case, the question kept as asked; "nobody.network" is NXDOMAIN at once', async () => {
    const net = await made.network({});
    const { db, fromWeb } = await pair(net);
    for (const name of [`db.${net.name}`, 'DB', 'Store', `sToRe.${net.name.toUpperCase()}`, db.id.toUpperCase()]) {
      const answer = await fromWeb.ask({ server: net.gateway, name });
      expect(addressesOf(answer), name).to.deep.equal([db.endpoint.ipv4]);
      expect(answer.questions, name).to.deep.equal([{ name, type: 'A' }]);
    }
    const mark = suite.upstream.queries.length;
    const nobody = await fromWeb.ask({ server: net.gateway, name: `nobody.${net.name}` });
    expect(nobody).to.include({ answered: true, rcode: 'NXDOMAIN' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seenSince(suite.upstream, mark)).to.deep.equal([]);
  });

  it("Docker's names: the 12-character short id of a 64-hex id; an alias with dots as it is; one alias on two containers gives both addresses", async () => {
    const net = await made.network({});
    const longId = randomBytes(32).toString('hex');
    const long = await made.container({ network: net.name, aliases: ['db.local', 'pool'] }, longId);
    const other = await made.container({ network: net.name, name: 'other', aliases: ['pool'] });
    const asker = await made.asker(other.netns);
    // (The full id is 64 characters: one label too long for DNS, so only the short id can be asked.)
    for (const name of [longId.slice(0, 12), 'db.local']) {
      expect(addressesOf(await asker.ask({ server: net.gateway, name })), name).to.deep.equal([long.endpoint.ipv4]);
    }
    const both = [long.endpoint.ipv4, other.endpoint.ipv4].sort();
    for (let i = 0; i < 5; i += 1) expect(addressesOf(await asker.ask({ server: net.gateway, name: 'pool' }))).to.deep.equal(both);
    expect(await getent(other, 'ahostsv4', 'pool')).to.deep.equal(both);
  });
});

describe('names: nothing resolves from outside the network', () => {
  const suite = dnsSuite();
  const made = testResources();
  afterEach(() => made.cleanup());

  /** No answer, or one without `address` in it. */
  const lacks = (outcome, address) => expect(addressesOf(outcome)).to.not.include(address);

  it('a container on another network does not resolve them, through its resolver or theirs', async () => {
    const net = await made.network({});
    const db = await made.container({ network: net.name, name: 'db', aliases: ['store'] });
    const web = await made.container({ network: net.name, name: 'web' });
    const elsewhere = await made.network({});
    const stranger = await made.container({ network: elsewhere.name, name: 'stranger' });
    const fromWeb = await made.asker(web.netns);
    const fromStranger = await made.asker(stranger.netns);
    // The same questions answer from the network itself: the refusals below are no broken resolver.
    expect(addressesOf(await fromWeb.ask({ server: net.gateway, name: `store.${net.name}` }))).to.deep.equal([db.endpoint.ipv4]);
    for (const server of [elsewhere.gateway, net.gateway]) {
      for (const name of ['db', 'store', db.id, `db.${net.name}`]) lacks(await fromStranger.ask({ server, name, timeoutMs: 1000 }), db.endpoint.ipv4);
    }
    expect(await getent(stranger, 'hosts', 'db')).to.not.include(db.endpoint.ipv4);
    expect(addressesOf(await fromStranger.ask({ server: elsewhere.gateway, name: 'stranger' }))).to.deep.equal([stranger.endpoint.ipv4]);
  });

  it("the default network resolves none, and its containers' resolv.conf names the host's servers, not nsnet's", async () => {
    const net = await made.network({});
    const db = await made.container({ network: net.name, name: 'db' });
    const first = await made.container({ network: 'bridge', name: 'first' });
    const second = await made.container({ network: 'bridge', name: 'second' });
    expect(nameserversOf(resolvConfOf(second.id))).to.deep.equal([UPSTREAM.one]);
    const asker = await made.asker(second.netns);
    for (const name of ['first', first.id]) lacks(await asker.ask({ server: first.endpoint.gateway, name, timeoutMs: 1000 }), first.endpoint.ipv4);
    expect(await getent(second, 'hosts', 'first')).to.deep.equal([]);
    // An address that is no endpoint with names gets nothing from a user network's resolver either.
    const outsider = await asker.ask({ server: net.gateway, name: 'db', timeoutMs: 1000 });
    lacks(outsider, db.endpoint.ipv4);
    expect(outsider.answered === false || outsider.rcode === 'REFUSED', JSON.stringify(outsider)).to.equal(true);
  });

  it('a network made with dns: false resolves none', async () => {
    const net = await made.network({ dns: false });
    const db = await made.container({ network: net.name, name: 'db', aliases: ['store'] });
    const web = await made.container({ network: net.name, name: 'web' });
    expect(net.options.dns).to.equal(false);
    expect(nameserversOf(resolvConfOf(web.id))).to.deep.equal([UPSTREAM.one]);
    const asker = await made.asker(web.netns);
    for (const name of ['db', 'store', db.id]) lacks(await asker.ask({ server: net.gateway, name, timeoutMs: 1000 }), db.endpoint.ipv4);
    expect(await getent(web, 'hosts', 'store')).to.deep.equal([]);
    expect(await eventually(() => suite.upstream.queries.some((q) => q.name === 'store'), 1000), 'glibc asked the host server').to.equal(true);
  });
});
