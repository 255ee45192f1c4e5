// The upstream DNS server the name resolution suites stand up (test/dns-upstream.mjs):
// it must answer, truncate, stay silent and fail as they expect, or their
// forwarding tests prove nothing.
import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { addressesOf, startAsker } from '../dns-ask.mjs';
import { createUpstreamHost, UPSTREAM } from '../dns-environment.mjs';
import { startUpstream } from '../dns-upstream.mjs';
import { eventually } from '../helpers.mjs';

describe('the upstream DNS server of the tests', () => {
  let wan;
  let asker;
  const servers = [];
  const start = async (config) => {
    const server = await startUpstream(wan.netns, config);
    servers.push(server);
    return server;
  };
  const records = { 'example.test': { A: ['192.0.2.10', '192.0.2.11'], AAAA: ['2001:db8::10'], TXT: ['hello'] } };

  before(async () => {
    wan = await createUpstreamHost();
    asker = await startAsker(NetNamespace.host());
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });
  after(async () => {
    await asker?.close();
    await wan?.remove();
  });

  it('answers its names over UDP and TCP, NXDOMAIN for others, and notes each query', async () => {
    const server = await start({ address: UPSTREAM.one, records });
    const udp = await asker.ask({ server: UPSTREAM.one, name: 'Example.Test', type: 'A' });
    expect(udp).to.include({ answered: true, rcode: 'NOERROR', tc: false });
    expect(addressesOf(udp)).to.deep.equal(['192.0.2.10', '192.0.2.11']);
    const tcp = await asker.ask({ server: UPSTREAM.one, name: 'example.test', type: 'AAAA', transport: 'tcp' });
    expect(addressesOf(tcp)).to.deep.equal(['2001:db8::10']);
    const txt = await asker.ask({ server: UPSTREAM.one, name: 'example.test', type: 'TXT' });
    expect(txt.answers[0].data).to.deep.equal(['hello']);
    const unknown = await asker.ask({ server: UPSTREAM.one, name: 'nothing.test', type: 'A' });
    expect(unknown).to.include({ answered: true, rcode: 'NXDOMAIN' });
    expect(await eventually(() => server.queries.length === 4)).to.equal(true);
    expect(server.queries.map(({ transport, from, name, type }) => `${transport} ${from} ${name} ${type}`)).to.deep.equal([
      `udp ${UPSTREAM.host} Example.Test A`,
      `tcp ${UPSTREAM.host} example.test AAAA`,
      `udp ${UPSTREAM.host} example.test TXT`,
      `udp ${UPSTREAM.host} nothing.test A`,
    ]);
  });

  it("'truncate' answers UDP with TC and nothing else, TCP in full", async () => {
    await start({ address: UPSTREAM.truncating, mode: 'truncate', records });
    const udp = await asker.ask({ server: UPSTREAM.truncating, name: 'example.test' });
    expect(udp).to.include({ answered: true, tc: true });
    expect(udp.answers).to.deep.equal([]);
    const tcp = await asker.ask({ server: UPSTREAM.truncating, name: 'example.test', transport: 'tcp' });
    expect(tcp).to.include({ answered: true, tc: false });
    expect(addressesOf(tcp)).to.deep.equal(['192.0.2.10', '192.0.2.11']);
  });

  it("'silent' notes the query and answers nothing; 'servfail' answers SERVFAIL", async () => {
    const dead = await start({ address: UPSTREAM.dead, mode: 'silent', records });
    const failing = await start({ address: UPSTREAM.failing, mode: 'servfail', records });
    expect(await asker.ask({ server: UPSTREAM.dead, name: 'example.test', timeoutMs: 500 })).to.include({ answered: false, reason: 'timeout' });
    expect(await asker.ask({ server: UPSTREAM.dead, name: 'example.test', transport: 'tcp', timeoutMs: 500 })).to.include({ answered: false, reason: 'timeout' });
    expect(await eventually(() => dead.queries.length === 2)).to.equal(true);
    const servfail = await asker.ask({ server: UPSTREAM.failing, name: 'example.test' });
    expect(servfail).to.include({ answered: true, rcode: 'SERVFAIL' });
    expect(await eventually(() => failing.queries.length === 1)).to.equal(true);
  });

  it('stop() ends it by its PID: nothing answers afterwards', async () => {
    const server = await start({ address: UPSTREAM.two, records });
    expect(await asker.ask({ server: UPSTREAM.two, name: 'example.test' })).to.include({ answered: true });
    await server.stop();
    expect(() => process.kill(server.pid, 0)).to.throw();
    const after = await asker.ask({ server: UPSTREAM.two, name: 'example.test', timeoutMs: 500 });
    expect(after.answered).to.equal(false);
  });
});
