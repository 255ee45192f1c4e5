// What is no container's name goes to an upstream server: the host's (its
// resolv.conf), or the container's own (`dns` option); over TCP when UDP is
// truncated, to the next server when one is dead or failing; never from an
// internal network.
import { expect } from 'chai';

import { addressesOf } from '../dns-ask.mjs';
import { dnsSuite, nameserversOf, resolvConfOf, testResources, UPSTREAM } from '../dns-environment.mjs';
import { startUpstream } from '../dns-upstream.mjs';
import { eventually } from '../helpers.mjs';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('names: forwarding to upstream servers', () => {
  const suite = dnsSuite();
  const made = testResources();
  const servers = [];
  /** Another upstream server in the upstream namespace, answering example.test and again.test with `answer`. */
  const upstream = async (address, mode, answer) => {
    const records = { 'example.test': { A: [answer] }, 'again.test': { A: [answer] } };
    const server = await startUpstream(suite.wan.netns, { address, mode, records });
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await made.cleanup();
    for (const server of servers.splice(0)) await server.stop();
  });

  const questionsOf = (server, since = 0) => server.queries.slice(since).map((q) => `${q.transport} ${q.name.toLowerCase()}`);

  it("a name that is no container's goes to the host's upstream; its NXDOMAIN is final", async () => {
    const net = await made.network({});
    const web = await made.container({ network: net.name, name: 'web' });
    const asker = await made.asker(web.netns);
    const mark = suite.upstream.queries.length;
    const answer = await asker.ask({ server: net.gateway, name: 'example.test' });
    expect(answer).to.include({ answered: true, rcode: 'NOERROR' });
    expect(addressesOf(answer)).to.deep.equal(['192.0.2.10']);
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'example.test', type: 'AAAA' }))).to.deep.equal(['2001:db8::10']);
    expect(await asker.ask({ server: net.gateway, name: 'nothing.test' })).to.include({ answered: true, rcode: 'NXDOMAIN' });
    const { stdout } = await web.netns.exec('getent', ['ahostsv4', 'example.test']);
    expect(stdout.split(/\s+/)[0], 'glibc in the container').to.equal('192.0.2.10');
    // (glibc's query may be answered from a cache of the resolver's: at least the three above went out.)
    expect(await eventually(() => questionsOf(suite.upstream, mark).length >= 3)).to.equal(true);
    expect(questionsOf(suite.upstream, mark).slice(0, 3)).to.deep.equal(['udp example.test', 'udp example.test', 'udp nothing.test']);
    expect(suite.upstream.queries.slice(mark).every((q) => q.from === UPSTREAM.host), 'asked from the host').to.equal(true);
  });

  it('a query over TCP from the container is forwarded over TCP', async () => {
    const net = await made.network({});
    const web = await made.container({ network: net.name, name: 'web' });
    const asker = await made.asker(web.netns);
    const mark = suite.upstream.queries.length;
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'example.test', transport: 'tcp' }))).to.deep.equal(['192.0.2.10']);
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'web', transport: 'tcp' }))).to.deep.equal([web.endpoint.ipv4]);
    expect(await eventually(() => questionsOf(suite.upstream, mark).length === 1)).to.equal(true);
    expect(questionsOf(suite.upstream, mark)).to.deep.equal(['tcp example.test']);
  });

  it('an internal network forwards nothing (REFUSED), yet its own names answer', async () => {
    const net = await made.network({ internal: true });
    const one = await made.container({ network: net.name, name: 'one' });
    const two = await made.container({ network: net.name, name: 'two' });
    const asker = await made.asker(one.netns);
    const [server] = nameserversOf(resolvConfOf(one.id));
    expect(server).to.equal(net.gateway);
    const mark = suite.upstream.queries.length;
    expect(addressesOf(await asker.ask({ server, name: 'two' }))).to.deep.equal([two.endpoint.ipv4]);
    const refused = await asker.ask({ server, name: 'example.test' });
    expect(addressesOf(refused)).to.deep.equal([]);
    expect(refused).to.include({ answered: true, rcode: 'REFUSED' });
    await pause(300);
    expect(questionsOf(suite.upstream, mark)).to.deep.equal([]);
  });

  it("a container's own dns servers take its queries instead of the host's; search and options reach its resolv.conf", async () => {
    const own = await upstream(UPSTREAM.two, 'answer', '192.0.2.20');
    const net = await made.network({});
    const web = await made.container({ network: net.name, name: 'web', dns: [UPSTREAM.two], dnsSearch: ['test'], dnsOptions: ['ndots:1', 'timeout:1'] });
    const conf = resolvConfOf(web.id);
    expect(nameserversOf(conf), 'the network resolver, which forwards to the given server').to.deep.equal([net.gateway]);
    expect(conf).to.match(/^search test$/m);
    expect(conf).to.match(/^options ndots:1 timeout:1$/m);
    const mark = suite.upstream.queries.length;
    const asker = await made.asker(web.netns);
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'example.test' }))).to.deep.equal(['192.0.2.20']);
    // glibc applies the search domain: "example" is asked as example.test.
    const { stdout } = await web.netns.exec('getent', ['ahostsv4', 'example']);
    expect(stdout.split(/\s+/)[0]).to.equal('192.0.2.20');
    expect(await eventually(() => questionsOf(own).includes('udp example.test'))).to.equal(true);
    await pause(200);
    expect(questionsOf(suite.upstream, mark), "the host's upstream saw none of them").to.deep.equal([]);

    // On the default network, which has no resolver, the container asks its servers itself.
    const plain = await made.container({ network: 'bridge', dns: [UPSTREAM.two] });
    expect(nameserversOf(resolvConfOf(plain.id))).to.deep.equal([UPSTREAM.two]);
    const direct = await plain.netns.exec('getent', ['ahostsv4', 'example.test']);
    expect(direct.stdout.split(/\s+/)[0]).to.equal('192.0.2.20');
  });

  it('a truncated UDP answer is asked again over TCP; the container gets it over UDP', async () => {
    const truncating = await upstream(UPSTREAM.truncating, 'truncate', '192.0.2.30');
    const net = await made.network({});
    const web = await made.container({ network: net.name, name: 'web', dns: [UPSTREAM.truncating] });
    const asker = await made.asker(web.netns);
    const answer = await asker.ask({ server: net.gateway, name: 'example.test' });
    expect(answer).to.include({ answered: true, rcode: 'NOERROR', tc: false });
    expect(addressesOf(answer)).to.deep.equal(['192.0.2.30']);
    expect(await eventually(() => questionsOf(truncating).length === 2)).to.equal(true);
    expect(questionsOf(truncating)).to.deep.equal(['udp example.test', 'tcp example.test']);
  });

  it('a dead or failing first upstream fails over to the next; NXDOMAIN does not; all failing is SERVFAIL', async () => {
    const dead = await upstream(UPSTREAM.dead, 'silent', '192.0.2.40');
    const failing = await upstream(UPSTREAM.failing, 'servfail', '192.0.2.60');
    const second = await upstream(UPSTREAM.two, 'answer', '192.0.2.20');
    const net = await made.network({});
    const afterDead = await made.container({ network: net.name, name: 'afterdead', dns: [UPSTREAM.dead, UPSTREAM.two] });
    const afterFailing = await made.container({ network: net.name, name: 'afterfailing', dns: [UPSTREAM.failing, UPSTREAM.two] });
    const afterNxdomain = await made.container({ network: net.name, name: 'afternx', dns: [UPSTREAM.one, UPSTREAM.two] });
    const onlyDead = await made.container({ network: net.name, name: 'onlydead', dns: [UPSTREAM.dead, UPSTREAM.failing] });

    const ask = async (c, name, type = 'A') => (await made.asker(c.netns)).ask({ server: net.gateway, name, type, timeoutMs: 3000 });
    expect(addressesOf(await ask(afterDead, 'example.test'))).to.deep.equal(['192.0.2.20']);
    expect(await eventually(() => questionsOf(dead).length === 1)).to.equal(true);
    expect(questionsOf(dead)).to.deep.equal(['udp example.test']);
    expect(addressesOf(await ask(afterFailing, 'again.test'))).to.deep.equal(['192.0.2.20']);
    expect(await eventually(() => questionsOf(failing).length === 1)).to.equal(true);
    expect(questionsOf(failing)).to.deep.equal(['udp again.test']);
    expect(await eventually(() => questionsOf(second).length === 2)).to.equal(true);

    expect(await ask(afterNxdomain, 'nothing.test')).to.include({ answered: true, rcode: 'NXDOMAIN' });
    await pause(300);
    expect(questionsOf(second), 'NXDOMAIN is final').to.deep.equal(['udp example.test', 'udp again.test']);

    // (The dead server may be skipped once known dead: the failing one must be asked.)
    expect(await ask(onlyDead, 'example.test')).to.include({ answered: true, rcode: 'SERVFAIL' });
    expect(await eventually(() => questionsOf(failing).length === 2)).to.equal(true);
    expect(questionsOf(failing)[1]).to.equal('udp example.test');
  });
});
