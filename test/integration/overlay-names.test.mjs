// Names across hosts on an overlay network, on three simulated hosts
// (test/hosts.mjs) with one etcd (test/etcd.mjs): a container asks its own
// host's resolver, on the gateway address every host's bridge carries, for
// containers of the other hosts. The oracles: `dig` run in the asking
// container, and etcdctl for the names the store holds.
import { expect } from 'chai';

import { startEtcd } from '../etcd.mjs';
import { createHosts } from '../hosts.mjs';
import { killByPidFile } from '../overlay-steps.mjs';

const NETWORK = 'ovn';
const SUBNET = '10.216.0.0/16';
const SUBNET6 = 'fd00:216::/64';
const GATEWAY = '10.216.0.1';
const QUIET = 'ovq';
const QUIET_SUBNET = '10.217.0.0/16';
const LEASE_TTL = 3;
const PREFIX = '/nsnet/v1';

// Steps run in a host's worker (host.run(step, arg)): their source is sent, so they name nothing of this module.

async function createOn(nsnet, options) {
  try {
    return { record: (await nsnet.createOverlayNetwork(options)).options };
  } catch (error) {
    return { code: error.code, details: error.details ?? null, message: error.message };
  }
}

async function setUp(nsnet, { id, network, name, aliases }) {
  const { endpoint } = await nsnet.setupContainer(id, { network, name, aliases });
  return { id, ipv4: endpoint.ipv4, ipv6: endpoint.ipv6 };
}

async function tearDown(nsnet, { id }) {
  await nsnet.teardownContainer(id);
}

/** `dig +short` in container `from`, one try of one second: the answer's lines, or the failure's text. */
async function digFrom(nsnet, { from, server, args }) {
  const ns = await nsnet.NetNamespace.open(from);
  const result = await ns.exec('dig', ['+short', '+time=1', '+tries=1', `@${server}`, ...args]);
  return result.stdout.split('\n').filter(Boolean).sort();
}

/** The status dig reports (NOERROR, NXDOMAIN, ...), or 'no answer'. */
async function digStatus(nsnet, { from, server, name }) {
  const ns = await nsnet.NetNamespace.open(from);
  const result = await ns.exec('dig', ['+time=1', '+tries=1', `@${server}`, name]);
  return /status: (\w+)/.exec(result.stdout)?.[1] ?? 'no answer';
}

async function eventually(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('names across hosts on an overlay network', function () {
  this.timeout(180000);
  let hosts;
  let etcd;
  let a;
  let b;
  let c;
  const options = (extra = {}) => ({ name: NETWORK, subnet: SUBNET, ipv6: { subnet: SUBNET6 }, store: etcd.url, leaseTtl: LEASE_TTL, ...extra });
  const made = {};

  async function setUpOn(host, id, extra = {}) {
    made[id] = { ...(await host.run(setUp, { id, network: NETWORK, ...extra })), host: host.address };
    return made[id];
  }
  const ask = (host, from, ...args) => host.run(digFrom, { from, server: GATEWAY, args });
  const status = (host, from, name) => host.run(digStatus, { from, server: GATEWAY, name });

  before(async function () {
    hosts = await createHosts(3);
    [a, b, c] = hosts.list;
    etcd = await startEtcd({ host: hosts.serviceAddress });
    for (const host of hosts.list) {
      const created = await host.run(createOn, options());
      if (created.code) throw new Error(`${host.name}: ${created.code}: ${created.message}`);
    }
    await setUpOn(a, 'alpha-c', { name: 'alpha' });
  });

  after(async function () {
    await hosts?.close();
    await etcd?.stop();
  });

  it('writes each endpoint names into its address key, and the definition says the network resolves names', async () => {
    const definition = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${NETWORK}/definition`]));
    expect(definition.dns).to.equal(true);
    const entry = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${NETWORK}/addresses/${made['alpha-c'].ipv4}`]));
    expect(entry.names).to.deep.equal(['alpha', 'alpha-c']);
  });

  it("resolves, on its own host's resolver, a container of another host by name and alias (A and AAAA), and its address back to its name", async () => {
    const bravo = await setUpOn(b, 'bravo-c', { name: 'bravo', aliases: ['bee', 'db.bee'] });
    expect(await eventually(async () => (await ask(a, 'alpha-c', 'bravo')).includes(bravo.ipv4), 5000)).to.equal(true);
    for (const name of ['bravo', 'bee', 'db.bee', 'bravo-c', `bravo.${NETWORK}`, `BEE.${NETWORK}`]) {
      expect(await ask(a, 'alpha-c', name), name).to.deep.equal([bravo.ipv4]);
    }
    expect(await ask(a, 'alpha-c', 'bee', 'AAAA')).to.deep.equal([bravo.ipv6]);
    expect(await ask(a, 'alpha-c', '-x', bravo.ipv4)).to.deep.equal([`bravo.${NETWORK}.`]);
    // And the other way, on B's resolver.
    expect(await ask(b, 'bravo-c', 'alpha')).to.deep.equal([made['alpha-c'].ipv4]);
  });

  it('answers both addresses of a name two hosts give two containers, as for two containers of one host', async () => {
    const onB = await setUpOn(b, 'twin-b', { name: 'twin' });
    const onC = await setUpOn(c, 'twin-c', { name: 'twin' });
    const both = [onB.ipv4, onC.ipv4].sort();
    expect(await eventually(async () => JSON.stringify(await ask(a, 'alpha-c', 'twin')) === JSON.stringify(both), 5000)).to.equal(true);
    await b.run(tearDown, { id: 'twin-b' });
    expect(await eventually(async () => JSON.stringify(await ask(a, 'alpha-c', 'twin')) === JSON.stringify([onC.ipv4]), 5000)).to.equal(true);
  });

  it("drops a name once its container is torn down on the other host", async () => {
    const gone = await setUpOn(b, 'brief-c', { name: 'brief' });
    expect(await eventually(async () => (await ask(a, 'alpha-c', 'brief')).includes(gone.ipv4), 5000)).to.equal(true);
    await b.run(tearDown, { id: 'brief-c' });
    expect(await eventually(async () => (await status(a, 'alpha-c', `brief.${NETWORK}`)) === 'NXDOMAIN', 5000)).to.equal(true);
    expect(await ask(a, 'alpha-c', '-x', gone.ipv4)).to.deep.equal([]);
    // The others stay.
    expect(await ask(a, 'alpha-c', 'bravo')).to.deep.equal([made['bravo-c'].ipv4]);
  });

  it('refuses a definition that differs in dns (NETWORK_CONFLICT naming dns); a dns: false overlay network answers no names', async () => {
    const quiet = { name: QUIET, subnet: QUIET_SUBNET, store: etcd.url, leaseTtl: LEASE_TTL };
    expect((await a.run(createOn, { ...quiet, dns: false })).code).to.equal(undefined);
    const refused = await b.run(createOn, quiet);
    expect(refused.code).to.equal('NETWORK_CONFLICT');
    expect(refused.details.differing).to.deep.equal(['dns']);
    expect((await b.run(createOn, { ...quiet, dns: false })).code).to.equal(undefined);
    const onA = await a.run(setUp, { id: 'quiet-a', network: QUIET, name: 'quieta' });
    await b.run(setUp, { id: 'quiet-b', network: QUIET, name: 'quietb' });
    const entry = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/${QUIET}/addresses/${onA.ipv4}`]));
    expect(entry.names).to.equal(undefined);
    // No resolver on the network's gateway: nothing answers there.
    expect(await a.run(digStatus, { from: 'quiet-a', server: '10.217.0.1', name: 'quietb' })).to.equal('no answer');
    // And its containers are no names on the other network.
    expect(await status(a, 'alpha-c', `quietb.${NETWORK}`)).to.equal('NXDOMAIN');
    for (const [host, id] of [[a, 'quiet-a'], [b, 'quiet-b']]) await host.run(tearDown, { id });
  });

  it("gives the other hosts' names again to a resolver started anew (it was killed), starting it when none runs", async () => {
    const killed = await a.run(killByPidFile, { path: '$NSNET_DNS_SOCKET.pid' });
    expect(await status(a, 'alpha-c', 'bravo')).to.equal('no answer');
    expect(await eventually(async () => JSON.stringify(await ask(a, 'alpha-c', 'bravo')) === JSON.stringify([made['bravo-c'].ipv4]), 8000)).to.equal(true);
    expect(await ask(a, 'alpha-c', 'bee')).to.deep.equal([made['bravo-c'].ipv4]);
    // And this host's own, read back from its state directory.
    expect(await ask(b, 'bravo-c', 'alpha')).to.deep.equal([made['alpha-c'].ipv4]);
    const pid = await a.run(() => Number(require('node:fs').readFileSync(`${process.env.NSNET_DNS_SOCKET}.pid`, 'utf8')));
    expect(pid).to.not.equal(killed);
  });

  it("drops the names of a host that is killed, within the lease TTL", async () => {
    const doomed = await setUpOn(c, 'doomed-c', { name: 'doomed' });
    expect(await eventually(async () => (await ask(a, 'alpha-c', 'doomed')).includes(doomed.ipv4), 5000)).to.equal(true);
    await c.kill();
    c.removeNamespace();
    const killed = Date.now();
    const within = (LEASE_TTL + 2) * 1000;
    const forgotten = async () =>
      (await status(a, 'alpha-c', `doomed.${NETWORK}`)) === 'NXDOMAIN' && (await status(a, 'alpha-c', `twin.${NETWORK}`)) === 'NXDOMAIN' && (await status(b, 'bravo-c', `doomed.${NETWORK}`)) === 'NXDOMAIN';
    expect(await eventually(forgotten, within)).to.equal(true);
    expect(Date.now() - killed).to.be.below(within + 2000);
    expect(await ask(a, 'alpha-c', 'bravo')).to.deep.equal([made['bravo-c'].ipv4]);
  });

  it("removeNetwork takes the other hosts' names out of the resolver with the network", async () => {
    const remove = (nsnet, { networks }) => Promise.all(networks.map((network) => nsnet.removeNetwork(network)));
    const resolved = (nsnet) => require('../../dist/dns/client.js').dnsStatus().then((status) => status?.networks.map(({ name }) => name) ?? []);
    await a.run(tearDown, { id: 'alpha-c' });
    expect(await a.run(resolved)).to.deep.equal([NETWORK]); // B's names, with none of A's left
    await a.run(remove, { networks: [NETWORK, QUIET] });
    expect(await a.run(resolved)).to.deep.equal([]);
    await b.run(tearDown, { id: 'bravo-c' });
    await b.run(remove, { networks: [NETWORK, QUIET] });
    expect(etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/`]).trim()).to.equal('');
  });
});
