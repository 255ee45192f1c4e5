// The resolver's answers from its table, as containers would get them: names,
// views, PTR, NODATA and NXDOMAIN, what is refused and what is left to forward.
import { expect } from 'chai';
import * as dnsPacket from 'dns-packet';

import { Answerer } from '../../dist/dns/answer.js';
import { NameTable } from '../../dist/dns/names.js';
import { reverseName } from '../../dist/dns/reverse.js';

const frontend = { name: 'frontend', gateway: '10.1.0.1', gateway6: 'fd00:1::1', internal: false, subnet: '10.1.0.0/24', subnet6: 'fd00:1::/64' };
const backend = { name: 'Backend', gateway: '10.2.0.1', internal: false, subnet: '10.2.0.0/24' };
const secret = { name: 'secret', gateway: '10.3.0.1', internal: true, subnet: '10.3.0.0/24' };
const longId = 'a'.repeat(64);

/** web (frontend, dual stack), api (frontend and Backend), db (Backend only), vault (secret, internal only). */
function world() {
  const table = new NameTable();
  const answerer = new Answerer(table);
  table.onChange = () => answerer.invalidate();
  table.add(frontend, { id: 'web1', network: 'frontend', netnsInode: 101, ipv4: '10.1.0.2', ipv6: 'fd00:1::2', names: ['web', 'www.local', longId, longId.slice(0, 12)] });
  table.add(frontend, { id: 'api1', network: 'frontend', netnsInode: 102, ipv4: '10.1.0.3', names: ['api'] });
  table.add(backend, { id: 'api1b', network: 'Backend', netnsInode: 102, ipv4: '10.2.0.3', names: ['api'] });
  table.add(backend, { id: 'db1', network: 'Backend', netnsInode: 103, ipv4: '10.2.0.4', names: ['db'] });
  table.add(secret, { id: 'vault1', network: 'secret', netnsInode: 104, ipv4: '10.3.0.2', names: ['vault'] });
  return { table, answerer };
}

let nextId = 1;
function query(name, type = 'A', extra = {}) {
  return dnsPacket.encode({ id: nextId++, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

/** What `source` gets for the question: a decoded response, 'dropped', or 'forward'. */
function ask(answerer, source, name, type = 'A', transport = 'udp') {
  const q = query(name, type);
  const result = answerer.answer(q, source, transport);
  if (result === undefined) return 'dropped';
  if (!Buffer.isBuffer(result)) return 'forward';
  const response = dnsPacket.decode(result);
  expect(response.id).to.equal(q.readUInt16BE(0));
  return response;
}
const addresses = (response) => response.answers.map((a) => a.data).sort();

describe('resolver answers', () => {
  it('answers every name of an endpoint, case-insensitively, with the question as asked and TTL 0', () => {
    const { answerer } = world();
    for (const name of ['web', 'WeB', 'www.local', longId.slice(0, 12), 'web.frontend', 'WEB.FrontEnd']) {
      const response = ask(answerer, '10.1.0.3', name);
      expect(response.rcode, name).to.equal('NOERROR');
      expect(response.flag_aa && response.flag_ra && response.flag_rd, name).to.equal(true);
      expect(response.questions[0].name).to.equal(name);
      expect(response.answers.map((a) => [a.type, a.data, a.ttl]), name).to.deep.equal([['A', '10.1.0.2', 0]]);
    }
    expect(ask(answerer, '10.1.0.3', 'web', 'AAAA').answers.map((a) => a.data)).to.deep.equal(['fd00:1::2']);
  });

  it('a name on several networks of the asker: every address, in shuffled order; `name.network` only that network\'s', () => {
    const { answerer } = world();
    // api is on frontend and Backend; the asker (api's namespace) is on both.
    expect(addresses(ask(answerer, '10.2.0.3', 'api'))).to.deep.equal(['10.1.0.3', '10.2.0.3']);
    expect(addresses(ask(answerer, '10.2.0.3', 'api.backend'))).to.deep.equal(['10.2.0.3']);
    expect(addresses(ask(answerer, '10.2.0.3', 'api.frontend'))).to.deep.equal(['10.1.0.3']);
    const orders = new Set();
    for (let i = 0; i < 200; i++) orders.add(ask(answerer, '10.2.0.3', 'api').answers.map((a) => a.data).join());
    expect(orders.size).to.equal(2);
  });

  it('a name is never visible from a namespace with no endpoint on its network', () => {
    const { answerer } = world();
    // web (frontend) cannot see db (Backend only), nor db.Backend, nor vault.
    for (const name of ['db', 'db.backend', 'vault', 'vault.secret']) expect(ask(answerer, '10.1.0.2', name), name).to.equal('forward');
    // db sees api through Backend: only api's Backend address.
    expect(addresses(ask(answerer, '10.2.0.4', 'api'))).to.deep.equal(['10.2.0.3']);
    expect(ask(answerer, '10.2.0.4', 'web')).to.equal('forward');
    // PTR of an address on a network of another view: not answered from the table.
    expect(ask(answerer, '10.1.0.2', reverseName('10.2.0.4'), 'PTR')).to.equal('forward');
  });

  it('NODATA for a name without the family asked; NXDOMAIN for x.<network> and unknown PTRs in the asker\'s subnets', () => {
    const { answerer } = world();
    const nodata = ask(answerer, '10.1.0.2', 'api', 'AAAA');
    expect([nodata.rcode, nodata.answers.length, nodata.flag_aa]).to.deep.equal(['NOERROR', 0, true]);
    for (const [name, type] of [['nobody.frontend', 'A'], ['nobody.FRONTEND', 'AAAA'], [reverseName('10.1.0.99'), 'PTR'], [reverseName('fd00:1::99'), 'PTR']]) {
      const response = ask(answerer, '10.1.0.2', name, type);
      expect([response.rcode, response.flag_aa, response.answers.length], name).to.deep.equal(['NXDOMAIN', true, 0]);
    }
    // A PTR outside every subnet of the view, and any other name: forwarded.
    expect(ask(answerer, '10.1.0.2', reverseName('192.0.2.1'), 'PTR')).to.equal('forward');
    expect(ask(answerer, '10.1.0.2', 'example.com')).to.equal('forward');
  });

  it('PTR of an endpoint\'s IPv4 and IPv6 address: its first name on its network', () => {
    const { answerer } = world();
    for (const address of ['10.1.0.2', 'fd00:1::2']) {
      const response = ask(answerer, '10.1.0.3', reverseName(address), 'PTR');
      expect(response.answers.map((a) => [a.type, a.data]), address).to.deep.equal([['PTR', 'web.frontend']]);
    }
    expect(ask(answerer, '10.2.0.4', reverseName('10.2.0.3'), 'PTR').answers[0].data).to.equal('api.Backend');
  });

  it('refuses zone transfers, and forwarding from a namespace whose networks are all internal', () => {
    const { answerer } = world();
    for (const type of ['AXFR', 'IXFR']) expect(ask(answerer, '10.1.0.2', 'frontend', type).rcode, type).to.equal('REFUSED');
    const refused = ask(answerer, '10.3.0.2', 'example.com');
    expect([refused.rcode, refused.flag_ra]).to.deep.equal(['REFUSED', false]);
    // Its own names still answer.
    expect(addresses(ask(answerer, '10.3.0.2', 'vault'))).to.deep.equal(['10.3.0.2']);
  });

  it('drops a query from an address that is no endpoint\'s, on any network', () => {
    const { answerer } = world();
    for (const source of ['10.1.0.1', '10.1.0.99', '192.0.2.7', '::1', 'fd00:1::99']) expect(ask(answerer, source, 'web'), source).to.equal('dropped');
    expect(ask(answerer, 'fd00:1::2', 'web').answers[0].data).to.equal('10.1.0.2');
  });

  it('a kept answer gets the new ID and the question\'s letters; any table change forgets it', () => {
    const { table, answerer } = world();
    const first = ask(answerer, '10.1.0.3', 'web');
    const again = query('WEB');
    const response = answerer.answer(again, '10.1.0.3', 'udp');
    expect(response.readUInt16BE(0)).to.equal(again.readUInt16BE(0));
    const decoded = dnsPacket.decode(response);
    expect(decoded.questions[0].name).to.equal('WEB');
    expect(decoded.answers[0].data).to.equal(first.answers[0].data);
    table.add(frontend, { id: 'web1', network: 'frontend', netnsInode: 101, ipv4: '10.1.0.20', names: ['web'] });
    expect(addresses(ask(answerer, '10.1.0.3', 'web'))).to.deep.equal(['10.1.0.20']);
    table.remove('frontend', 'web1');
    expect(ask(answerer, '10.1.0.3', 'web')).to.equal('forward');
    expect(ask(answerer, '10.1.0.2', 'api')).to.equal('dropped');
  });

  it("answers another host's endpoint on an overlay network by name and PTR, and never answers it (its namespace is elsewhere)", () => {
    const { table, answerer } = world();
    table.add(frontend, { id: 'remote:frontend:10.1.0.9', network: 'frontend', netnsInode: 0, ipv4: '10.1.0.9', names: ['far', 'web'], host: '192.0.2.2' });
    expect(addresses(ask(answerer, '10.1.0.3', 'far'))).to.deep.equal(['10.1.0.9']);
    // A name a local and a remote endpoint share: both, as for two local ones.
    expect(addresses(ask(answerer, '10.1.0.3', 'web'))).to.deep.equal(['10.1.0.2', '10.1.0.9']);
    expect(ask(answerer, '10.1.0.3', reverseName('10.1.0.9'), 'PTR').answers.map((a) => a.data)).to.deep.equal(['far.frontend']);
    expect(ask(answerer, '10.1.0.9', 'web')).to.equal('dropped');
    // Not seen from Backend alone.
    expect(ask(answerer, '10.2.0.4', 'far.frontend')).to.equal('forward');
    table.remove('frontend', 'remote:frontend:10.1.0.9');
    expect(ask(answerer, '10.1.0.3', 'far.frontend').rcode).to.equal('NXDOMAIN');
  });
});
