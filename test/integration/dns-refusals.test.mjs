// Bad input to name resolution: names and resolver options refused before
// anything is made; queries that are malformed, too big, zone transfers or
// from addresses that are no endpoint's get nothing, and the resolver goes on.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';
import dnsPacket from 'dns-packet';

import { NetNamespace, netnsDir, setupContainer } from '../../dist/index.js';
import { addressesOf } from '../dns-ask.mjs';
import { dnsSuite, resolverPid, testResources } from '../dns-environment.mjs';
import { expectReject, ipJson, uniqueName } from '../helpers.mjs';

/** Every regular file of the state directory and its text (lock files aside: taking a lock changes nothing). */
function stateSnapshot(dir = process.env.NSNET_STATE_DIR) {
  const files = {};
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.isDirectory()) Object.assign(files, stateSnapshot(path));
    else if (stat.isFile() && !entry.endsWith('.lock')) files[path] = readFileSync(path, 'utf8');
  }
  return files;
}

const BAD_NAMES = ['has space', 'bad!', '-lead', 'trail-', 'a..b', '.dot', 'x'.repeat(64), 'ünïcode', 'a/b', `${'a.'.repeat(127)}a`];

/** No answer at all, or a refusal with nothing in it (never an answer). */
function noAnswerOrRefusal(outcome, what) {
  const refused = outcome.answered && ['REFUSED', 'FORMERR', 'NOTIMP'].includes(outcome.rcode) && outcome.answers.length === 0;
  expect(outcome.answered === false || refused, `${what}: ${JSON.stringify(outcome)}`).to.equal(true);
}

const hex = (packet) => dnsPacket.encode(packet).toString('hex');
const query = (extra) => ({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', class: 'IN', name: 'db' }], ...extra });

describe('names: bad input', () => {
  const suite = dnsSuite();
  const made = testResources();
  afterEach(() => made.cleanup());

  it('invalid names and aliases are refused with INVALID_DNS_NAME, and nothing is made', async () => {
    const net = await made.network({});
    const before = stateSnapshot();
    for (const bad of BAD_NAMES) {
      for (const options of [{ name: bad }, { name: 'fine', aliases: ['ok', bad] }]) {
        const id = uniqueName('dbad');
        await expectReject(setupContainer(id, { network: net.name, ...options }), 'NsnetError', 'INVALID_DNS_NAME');
        expect(existsSync(join(netnsDir(), id)), `${JSON.stringify(bad)}: no namespace`).to.equal(false);
        expect(existsSync(join(process.env.NSNET_NETNS_ETC_DIR, id)), `${JSON.stringify(bad)}: no resolv.conf`).to.equal(false);
      }
    }
    expect(stateSnapshot(), 'no record, no lease').to.deep.equal(before);
    const ns = await NetNamespace.create(uniqueName('dbns'));
    try {
      await expectReject(net.connect(ns, { aliases: ['bad!'] }), 'NsnetError', 'INVALID_DNS_NAME');
      expect(ipJson(['link'], ns.name).map((link) => link.ifname)).to.deep.equal(['lo']);
    } finally {
      await ns.delete();
    }
    expect(stateSnapshot()).to.deep.equal(before);
  });

  it('bad dns servers, search domains and options are refused with INVALID_DNS, and nothing is made', async () => {
    const net = await made.network({});
    const before = stateSnapshot();
    const bad = [
      { dns: ['not-an-address'] },
      { dns: ['300.1.1.1'] },
      { dns: ['192.0.2.1 192.0.2.2'] },
      { dnsSearch: ['bad domain'] },
      { dnsSearch: ['evil.test\nnameserver 192.0.2.66'] },
      { dnsSearch: ['-lead.test'] },
      { dnsOptions: ['ndots:1\nnameserver 192.0.2.66'] },
      { dnsOptions: ['two words'] },
      { dnsOptions: [''] },
    ];
    for (const options of bad) {
      for (const network of [net.name, 'bridge']) {
        const id = uniqueName('dbad');
        await expectReject(setupContainer(id, { network, name: 'fine', ...options }), 'NsnetError', 'INVALID_DNS');
        expect(existsSync(join(netnsDir(), id)), JSON.stringify(options)).to.equal(false);
        expect(existsSync(join(process.env.NSNET_NETNS_ETC_DIR, id)), JSON.stringify(options)).to.equal(false);
      }
    }
    expect(stateSnapshot()).to.deep.equal(before);
  });

  it('malformed, oversized, two-question and response packets get no answer, and the resolver answers on', async () => {
    const net = await made.network({});
    const db = await made.container({ network: net.name, name: 'db' });
    const web = await made.container({ network: net.name, name: 'web' });
    const asker = await made.asker(web.netns);
    const pid = resolverPid();
    const padding = { type: 'TXT', class: 'IN', name: 'pad', ttl: 0, data: ['x'.repeat(200), 'x'.repeat(200), 'x'.repeat(200)] };
    const packets = {
      garbage: 'deadbeef',
      'a header promising a question it lacks': '109201000001000000000000',
      'a question cut short': hex(query()).slice(0, -6),
      'over 512 bytes without EDNS': hex(query({ additionals: [padding] })),
      'two questions': hex(query({ questions: [{ type: 'A', class: 'IN', name: 'db' }, { type: 'A', class: 'IN', name: 'web' }] })),
      'a response': hex({ ...query(), type: 'response', answers: [{ type: 'A', class: 'IN', name: 'db', ttl: 0, data: '192.0.2.1' }] }),
    };
    expect(Buffer.from(packets['over 512 bytes without EDNS'], 'hex').length).to.be.above(512);
    for (const [what, raw] of Object.entries(packets)) {
      noAnswerOrRefusal(await asker.ask({ server: net.gateway, raw, timeoutMs: 800 }), `${what} over UDP`);
      expect(addressesOf(await asker.ask({ server: net.gateway, name: 'db' })), `after ${what}`).to.deep.equal([db.endpoint.ipv4]);
    }
    noAnswerOrRefusal(await asker.ask({ server: net.gateway, raw: 'deadbeef', transport: 'tcp', timeoutMs: 800 }), 'garbage over TCP');
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'db', transport: 'tcp' }))).to.deep.equal([db.endpoint.ipv4]);
    expect(resolverPid(), 'the same resolver, never restarted').to.equal(pid);
  });

  it('zone transfers (AXFR, IXFR) are refused, over TCP and UDP', async () => {
    const net = await made.network({});
    const db = await made.container({ network: net.name, name: 'db' });
    const asker = await made.asker(db.netns);
    for (const type of ['AXFR', 'IXFR']) {
      for (const transport of ['tcp', 'udp']) {
        for (const name of [net.name, 'db']) noAnswerOrRefusal(await asker.ask({ server: net.gateway, name, type, transport, timeoutMs: 800 }), `${type} ${name} over ${transport}`);
      }
    }
    expect(addressesOf(await asker.ask({ server: net.gateway, name: 'db' }))).to.deep.equal([db.endpoint.ipv4]);
  });

  it('queries from the host itself or from the upstream namespace get nothing (no amplifier), and the resolver answers on', async () => {
    const net = await made.network({ ipv6: { subnet: 'fd00:53:8::/64' } });
    const db = await made.container({ network: net.name, name: 'db' });
    const fromDb = await made.asker(db.netns);
    const fromHost = await made.asker(NetNamespace.host());
    const fromUpstream = await made.asker(suite.wan.netns);
    expect(addressesOf(await fromDb.ask({ server: net.gateway, name: 'db' }))).to.deep.equal([db.endpoint.ipv4]);
    for (const [who, asker] of [['the host', fromHost], ['the upstream namespace', fromUpstream]]) {
      for (const name of ['db', 'example.test', `db.${net.name}`]) {
        for (const transport of ['udp', 'tcp']) {
          const outcome = await asker.ask({ server: net.gateway, name, transport, timeoutMs: 800 });
          noAnswerOrRefusal(outcome, `${name} over ${transport} from ${who}`);
        }
      }
    }
    noAnswerOrRefusal(await fromHost.ask({ server: net.ipv6.gateway, name: 'db', timeoutMs: 800 }), 'from the host to the IPv6 gateway');
    expect(addressesOf(await fromDb.ask({ server: net.gateway, name: 'db' }))).to.deep.equal([db.endpoint.ipv4]);
  });
});
