// The overlay agent against a real etcd (started in the sandbox): its
// start-up (lease, host key, its own keys put back, keys with no local
// endpoint deleted, ONE apply with every other host's entries), the watch,
// the store going away and coming back, a lost lease. `apply` here collects
// the changes it is given: programming them into the kernel is the
// dataplane's, tested across simulated hosts.
import { expect } from 'chai';

import { ClusterStore } from '../../dist/cluster/store.js';
import { OverlayAgent } from '../../dist/network/overlay-agent.js';
import { useEtcd } from '../etcd.mjs';
import { eventually } from '../helpers.mjs';

const PREFIX = '/nsnet/v1';
const ME = '192.168.80.1';
const B = '192.168.80.2';
const C = '192.168.80.3';
const mac = (n) => `02:42:0a:50:00:${n.toString(16).padStart(2, '0')}`;
const entry = (n, host, container = `c${n}`) => ({ ipv4: `10.80.0.${n}`, mac: mac(n), host, container });
const key = (network, n) => `${PREFIX}/networks/${network}/addresses/10.80.0.${n}`;
const byIp = (entries) => [...entries].sort((a, b) => a.ipv4.localeCompare(b.ipv4, 'en', { numeric: true }));

describe('overlay agent (etcd)', function () {
  this.timeout(60_000);
  const server = useEtcd();
  const cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function store() {
    const opened = ClusterStore.open({ endpoints: [server.etcd.url], prefix: PREFIX });
    cleanups.push(() => opened.close());
    return opened;
  }

  /** Another host of the network: its own client and lease. */
  async function otherHost(underlay, ttl = 60) {
    const client = store();
    const lease = await client.grantLease(ttl);
    return {
      lease,
      claim: (network, e) => client.claimAddresses(network, e, lease),
      release: (network, e) => client.releaseAddresses(network, e),
    };
  }

  /** An agent on host ME; apply collects the changes. */
  function agentOn(network, own, { leaseTtl = 3, installed } = {}) {
    const calls = [];
    const logs = [];
    const leases = [];
    const local = { entries: own };
    const agent = new OverlayAgent({
      store: store(),
      network,
      host: { underlay: ME, hostname: 'me', since: new Date().toISOString() },
      leaseTtl,
      apply: async (change) => void calls.push(change),
      ownEntries: async () => local.entries,
      ...(installed ? { installed: async () => installed } : {}),
      onLease: (leaseId) => void leases.push(leaseId),
      log: (message) => logs.push(message),
    });
    cleanups.push(() => agent.stop());
    return { agent, calls, logs, leases, local };
  }

  it('starts: lease, host key, its own keys put back, its keys with no endpoint deleted, ONE apply with every other host\'s entries', async () => {
    const b = await otherHost(B);
    const c = await otherHost(C);
    await b.claim('start', entry(2, B));
    await c.claim('start', entry(3, C));
    // What a crashed agent of this host left, on its old lease: one endpoint still here, one gone.
    const old = await otherHost(ME);
    await old.claim('start', entry(4, ME));
    await old.claim('start', entry(5, ME));
    const { agent, calls, leases } = agentOn('start', [entry(4, ME), entry(6, ME)]);
    await agent.start();
    expect(calls).to.have.length(1);
    expect(byIp(calls[0].add)).to.deep.equal([entry(2, B), entry(3, C)]);
    expect(calls[0].remove).to.deep.equal([]);
    expect(leases).to.deep.equal([agent.lease]);
    const stored = server.etcd.stored(`${PREFIX}/networks/start/`);
    expect([...stored.keys()].sort()).to.deep.equal([key('start', 2), key('start', 3), key('start', 4), key('start', 6), `${PREFIX}/networks/start/hosts/${ME}`].sort());
    expect(JSON.parse(stored.get(`${PREFIX}/networks/start/hosts/${ME}`))).to.include({ underlay: ME, hostname: 'me' });
    for (const n of [4, 6]) expect(server.etcd.leaseOf(key('start', n)), `10.80.0.${n} on the agent's lease`).to.equal(agent.lease);
    expect(server.etcd.leaseOf(`${PREFIX}/networks/start/hosts/${ME}`)).to.equal(agent.lease);
  });

  it('restarted: its first apply also removes what is programmed of containers the store no longer has', async () => {
    const b = await otherHost(B);
    await b.claim('again', entry(2, B));
    await b.claim('again', entry(3, B));
    const programmed = (e) => ({ ipv4: e.ipv4, mac: e.mac, host: e.host });
    // Programmed before: 2 (still there), 3 on another MAC (moved), 4 (gone while the agent was down).
    const installed = [programmed(entry(2, B)), { ...programmed(entry(3, B)), mac: mac(99) }, programmed(entry(4, C))];
    const { agent, calls } = agentOn('again', [], { installed });
    await agent.start();
    expect(calls).to.have.length(1);
    expect(byIp(calls[0].add)).to.deep.equal([entry(2, B), entry(3, B)]);
    expect(byIp(calls[0].remove)).to.deep.equal([installed[1], installed[2]]);
  });

  it("applies other hosts' puts and deletes from the watch, never its own host's; stop() revokes its lease and its keys go", async () => {
    const b = await otherHost(B);
    const { agent, calls } = agentOn('watch', [entry(2, ME)]);
    await agent.start();
    expect(calls).to.deep.equal([{ add: [], remove: [] }]);
    await b.claim('watch', entry(3, B));
    expect(await eventually(() => calls.length === 2, 8000), 'the put applied').to.equal(true);
    expect(calls[1]).to.deep.equal({ add: [entry(3, B)], remove: [] });
    // Another endpoint of this host, claimed by a connect on the agent's lease: not applied.
    await store().claimAddresses('watch', entry(4, ME), agent.lease);
    await b.release('watch', { ipv4: '10.80.0.3', host: B });
    expect(await eventually(() => calls.length === 3, 8000), 'the delete applied').to.equal(true);
    expect(calls[2]).to.deep.equal({ add: [], remove: [entry(3, B)] });
    expect(agent.remotes()).to.deep.equal([]);
    await agent.stop({ release: true });
    expect(server.etcd.stored(`${PREFIX}/networks/watch/`).size, "its lease revoked: this host's keys are gone").to.equal(0);
  });

  it('stop() with endpoints on this host keeps its lease to run out (a restart within the TTL keeps their addresses); with none it revokes it', async () => {
    const { agent, local } = agentOn('keep', [entry(2, ME)]);
    await agent.start();
    await agent.stop();
    expect(server.etcd.leaseOf(key('keep', 2)), 'still on its lease').to.equal(agent.lease);
    const again = agentOn('keep', local.entries);
    await again.agent.start();
    expect(server.etcd.leaseOf(key('keep', 2)), 'taken onto the new lease').to.equal(again.agent.lease);
    again.local.entries = [];
    await again.agent.stop();
    expect(server.etcd.stored(`${PREFIX}/networks/keep/`).size, 'no endpoint here: revoked').to.equal(0);
  });

  it("keeps at its start a connect's claim on its new lease made before the endpoint was recorded; tells its lease only once started", async () => {
    const network = 'fresh';
    const client = store();
    const leases = [];
    // A connect that claims on the lease as soon as it is granted, its endpoint not yet recorded.
    const racing = Object.create(client, {
      grantLease: {
        value: async (ttl) => {
          const lease = await client.grantLease(ttl);
          expect(await client.claimAddresses(network, entry(7, ME), lease)).to.equal('claimed');
          return lease;
        },
      },
    });
    const agent = new OverlayAgent({
      store: racing,
      network,
      host: { underlay: ME, since: new Date().toISOString() },
      leaseTtl: 3,
      apply: async () => undefined,
      ownEntries: async () => [],
      onLease: async (lease) => {
        leases.push(lease);
        expect(server.etcd.stored(`${PREFIX}/networks/${network}/hosts/`).size, 'told after the host key is written').to.equal(1);
      },
      log: () => undefined,
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    expect(server.etcd.leaseOf(key(network, 7)), "the connect's claim kept").to.equal(agent.lease);
    expect(leases).to.deep.equal([agent.lease]);
  });

  it('a batch the kernel refused is tried again, and what it may have programmed is removed when the store drops it', async () => {
    const b = await otherHost(B);
    const calls = [];
    const logs = [];
    let refuse = 2;
    const agent = new OverlayAgent({
      store: store(),
      network: 'retry',
      host: { underlay: ME, since: new Date().toISOString() },
      leaseTtl: 3,
      apply: async (change) => {
        calls.push(change);
        if (calls.length > 1 && refuse-- > 0) throw new Error('refused');
      },
      ownEntries: async () => [],
      log: (message) => logs.push(message),
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    await b.claim('retry', entry(2, B));
    expect(await eventually(() => agent.remotes().length === 1, 8000), 'applied after two refusals').to.equal(true);
    expect(calls.slice(1)).to.deep.equal([1, 2, 3].map(() => ({ add: [entry(2, B)], remove: [] })));
    expect(logs.filter((line) => line.includes('trying again'))).to.have.length(2);
    // Refused once more: entry 3 may be half in; its delete removes it.
    refuse = 1;
    await b.claim('retry', entry(3, B));
    expect(await eventually(() => calls.length === 5, 8000), 'tried').to.equal(true);
    await b.release('retry', entry(3, B));
    expect(await eventually(() => calls.some((call) => call.remove.some((e) => e.ipv4 === '10.80.0.3')), 8000), 'removed').to.equal(true);
    expect(calls.at(-1)).to.deep.equal({ add: [], remove: [entry(3, B)] });
    expect(agent.remotes()).to.deep.equal([entry(2, B)]);
  });

  it("starts though one address key is corrupt (reported); a corrupt put on the watch is reported as what it is", async () => {
    const b = await otherHost(B);
    await b.claim('corrupt', entry(2, B));
    server.etcd.etcdctl(['put', key('corrupt', 3), 'not json']);
    const { agent, calls, logs } = agentOn('corrupt', []);
    await agent.start();
    expect(calls[0].add).to.deep.equal([entry(2, B)]);
    expect(logs.some((line) => line.includes('STATE_CORRUPT') || (line.includes(key('corrupt', 3)) && line.includes('not JSON'))), logs.join('\n')).to.equal(true);
    server.etcd.etcdctl(['put', key('corrupt', 4), '{"ipv4":"10.80.0.4"}']);
    expect(await eventually(() => logs.some((line) => line.includes(key('corrupt', 4))), 8000), 'reported').to.equal(true);
    expect(logs.some((line) => /keeping every entry/.test(line)), 'not taken for the store away').to.equal(false);
    await b.claim('corrupt', entry(5, B));
    expect(await eventually(() => calls.length === 2, 8000), 'the watch goes on').to.equal(true);
  });

  it('etcd stopped: keeps every entry applied; back: the watch resumes and a change made before it reconnected reaches apply', async function () {
    const b = await otherHost(B);
    await b.claim('away', entry(2, B));
    const { agent, calls, logs } = agentOn('away', [entry(9, ME)]);
    await agent.start();
    expect(calls[0].add).to.deep.equal([entry(2, B)]);
    await server.etcd.stop();
    expect(await eventually(() => logs.some((line) => /keeping every entry/.test(line)), 8000), 'the agent saw the store go').to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // past the watch's quick retries
    expect(calls, 'nothing removed while the store is away').to.have.length(1);
    expect(agent.remotes()).to.deep.equal([entry(2, B)]);
    await server.etcd.restart();
    // At once, before the watch is open again (its retries are ~1 s apart by now).
    await b.claim('away', entry(3, B));
    await b.release('away', { ipv4: '10.80.0.2', host: B });
    expect(await eventually(() => agent.remotes().length === 1 && agent.remotes()[0].ipv4 === '10.80.0.3', 8000), 'both changes applied').to.equal(true);
    expect(calls.slice(1).flatMap((call) => call.remove)).to.deep.equal([entry(2, B)]);
    expect(logs.some((line) => /listing the addresses again/.test(line)), 'resumed from its revision, not listed again').to.equal(false);
    // Its lease outlived the outage (etcd keeps leases across a restart): its keys are there.
    expect(server.etcd.leaseOf(key('away', 9))).to.equal(agent.lease);
  });

  it('a revision compacted while the store was away: lists again and applies the difference', async () => {
    const b = await otherHost(B);
    await b.claim('compact', entry(2, B));
    await b.claim('compact', entry(3, B));
    const { agent, logs } = agentOn('compact', []);
    await agent.start();
    // Changed and compacted where the agent does not reach it: its watch's revision is gone when it is back.
    await server.etcd.restart({ elsewhere: true });
    server.etcd.etcdctl(['del', key('compact', 2)]);
    server.etcd.etcdctl(['put', key('compact', 4), JSON.stringify(entry(4, B))]);
    server.etcd.etcdctl(['del', key('compact', 4)]);
    server.etcd.etcdctl(['put', key('compact', 5), JSON.stringify(entry(5, B))]);
    const revision = server.etcd.etcdctl(['endpoint', 'status', '-w', 'json']).match(/"revision":(\d+)/)[1];
    server.etcd.etcdctl(['compact', revision]);
    await server.etcd.restart();
    expect(await eventually(() => byIp(agent.remotes()).map((e) => e.ipv4).join() === '10.80.0.3,10.80.0.5', 8000), 'the difference applied').to.equal(true);
    expect(logs.some((line) => /compacted/.test(line) && /listing the addresses again/.test(line)), logs.join('\n')).to.equal(true);
  });

  it("its lease lost: takes a new one and puts its keys back; one another host took meanwhile is reported, not taken back", async () => {
    const b = await otherHost(B);
    const { agent, logs, leases } = agentOn('lost', [entry(2, ME), entry(3, ME)]);
    await agent.start();
    const first = agent.lease;
    server.etcd.etcdctl(['lease', 'revoke', BigInt(first).toString(16)]);
    expect(await b.claim('lost', entry(3, B, 'theirs'))).to.equal('claimed');
    expect(await eventually(() => leases.length === 2, 8000), 'a new lease').to.equal(true);
    expect(agent.lease).to.not.equal(first);
    expect(server.etcd.leaseOf(key('lost', 2))).to.equal(agent.lease);
    expect(server.etcd.leaseOf(`${PREFIX}/networks/lost/hosts/${ME}`)).to.equal(agent.lease);
    expect(JSON.parse(server.etcd.stored(key('lost', 3)).get(key('lost', 3)))).to.include({ host: B, container: 'theirs' });
    expect(server.etcd.leaseOf(key('lost', 3))).to.equal(b.lease);
    expect(logs.some((line) => line.includes('10.80.0.3') && line.includes(`held by host ${B}`)), logs.join('\n')).to.equal(true);
  });

  it('does not start when the store does not answer (STORE_UNAVAILABLE), and applies nothing', async () => {
    const calls = [];
    const dead = ClusterStore.open({ endpoints: ['http://127.0.0.1:1'], prefix: PREFIX });
    cleanups.push(() => dead.close());
    const agent = new OverlayAgent({ store: dead, network: 'dead', host: { underlay: ME, since: 'now' }, leaseTtl: 3, apply: async (c) => void calls.push(c), ownEntries: async () => [], log: () => undefined });
    const started = Date.now();
    const error = await agent.start().then(() => undefined, (e) => e);
    expect(error?.code).to.equal('STORE_UNAVAILABLE');
    expect(Date.now() - started).to.be.below(2000);
    expect(calls).to.deep.equal([]);
    await agent.stop();
  });
});
