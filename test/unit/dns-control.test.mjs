// The resolver's control protocol, and its client against a stand-in service on
// a temporary socket: requests pipelined by id, refusals as error codes, and
// nothing to do without a service for removals and syncs.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { dnsRemove, dnsStatus, dnsSync } from '../../dist/dns/client.js';
import { lineSplitter, lineWriter, serveControlConnection } from '../../dist/dns/control.js';

describe('resolver control protocol', () => {
  let dir;
  let server;
  const sockets = [];
  const saved = process.env.NSNET_DNS_SOCKET;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-dns-'));
    process.env.NSNET_DNS_SOCKET = join(dir, 'dns.sock');
  });
  afterEach(async () => {
    if (server) {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets.splice(0)) socket.destroy(); // the client keeps its connection open
      await closed;
    }
    server = undefined;
    if (saved === undefined) delete process.env.NSNET_DNS_SOCKET;
    else process.env.NSNET_DNS_SOCKET = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A stand-in service: `handle(request)` answers each request; every request is kept. */
  async function standIn(handle) {
    const requests = [];
    server = createServer((socket) => {
      serveControlConnection(socket, async (request) => {
        requests.push(request);
        return handle(request);
      });
      sockets.push(socket);
    });
    await new Promise((resolve) => server.listen(process.env.NSNET_DNS_SOCKET, resolve));
    return requests;
  }

  it('splits a stream into lines, whatever the chunks, skipping empty lines', () => {
    const lines = [];
    const split = lineSplitter((line) => lines.push(line));
    for (const chunk of ['{"a":', '1}\n\n{"b"', ':2}\n{"c":3}']) split(Buffer.from(chunk));
    expect(lines).to.deep.equal(['{"a":1}', '{"b":2}']);
    split(Buffer.from('\n'));
    expect(lines).to.deep.equal(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('writes the lines of one turn of the event loop in one write, in order, and later lines in another', async () => {
    const server = createServer();
    await new Promise((resolve) => server.listen(process.env.NSNET_DNS_SOCKET, resolve));
    const accepted = new Promise((resolve) => server.once('connection', resolve));
    const client = createConnection(process.env.NSNET_DNS_SOCKET);
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    const writes = [];
    const write = client.write.bind(client);
    client.write = (text) => writes.push(text) && write(text);
    const line = lineWriter(client);
    for (const text of ['a', 'b', 'c']) line(text);
    expect(writes).to.deep.equal([]); // not before the turn ends
    await new Promise((resolve) => setImmediate(resolve));
    line('d');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).to.deep.equal(['a\nb\nc\n', 'd\n']);
    let received = '';
    peer.on('data', (chunk) => (received += chunk));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).to.equal('a\nb\nc\nd\n');
    client.destroy();
    peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('without a service, dnsRemove and dnsSync do nothing and dnsStatus says none', async () => {
    await dnsRemove('net', 'endpoint');
    await dnsSync();
    expect(await dnsStatus()).to.equal(undefined);
  });

  it('the client pipelines requests on one connection; answers may come out of order', async () => {
    const requests = await standIn(async (request) => {
      if (request.op === 'remove') await new Promise((resolve) => setTimeout(resolve, 50));
      return request.op === 'status' ? { pid: 1, networks: [], names: 0 } : {};
    });
    const status = dnsStatus();
    await Promise.all([dnsRemove('net', 'slow'), dnsSync()]);
    expect(await status).to.deep.equal({ pid: 1, networks: [], names: 0 });
    expect(requests.map((r) => r.op)).to.deep.equal(['status', 'remove', 'sync']);
    expect(new Set(requests.map((r) => r.id)).size).to.equal(3);
    expect(requests[1]).to.include({ network: 'net', endpoint: 'slow' });
  });

  it('a refusal comes back as an NsnetError; a line that is no request gets an answer with id null', async () => {
    await standIn(async () => {
      throw Object.assign(new Error('no'), { name: 'NsnetError' });
    });
    let error;
    await dnsSync().catch((e) => (error = e));
    expect(error.code).to.equal('DNS_UNAVAILABLE');
    expect(error.message).to.match(/refused: no/);
    const reply = await new Promise((resolve) => {
      const socket = createConnection(process.env.NSNET_DNS_SOCKET, () => socket.write('not json\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(JSON.parse(String(data)));
      });
    });
    expect(reply).to.include({ id: null, ok: false, code: 'INVALID_ARGUMENT' });
  });
});
