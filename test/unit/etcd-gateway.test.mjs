// How the store's client reads etcd's HTTP/1.1 answers (readResponse): whole
// or cut anywhere, with a length or in chunks with gRPC's trailers, several
// back to back on one connection (pipelined). etcd itself answers through
// this reader in the overlay integration suites.
import { createRequire } from 'node:module';

import { expect } from 'chai';
import fc from 'fast-check';

const require = createRequire(import.meta.url);
const { readResponse, ConnectionError } = require('../../dist/cluster/etcd-gateway.js');

const withLength = (status, body) => Buffer.from(`HTTP/1.1 ${status} OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
const chunked = (status, parts, trailers = ['Grpc-Trailer-Content-Type: application/grpc']) =>
  Buffer.from(
    `HTTP/1.1 ${status} Not Found\r\nContent-Type: application/json\r\nTrailer: Grpc-Trailer-Content-Type\r\nTransfer-Encoding: chunked\r\n\r\n` +
      // An empty chunk would be the last: none is sent.
      parts.filter((part) => part.length).map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`).join('') +
      `0\r\n${trailers.map((line) => `${line}\r\n`).join('')}\r\n`,
  );

describe('etcd gateway answers (readResponse)', () => {
  it('reads an answer with a Content-Length, and nothing until all of it is there', () => {
    const answer = withLength(200, '{"header":{"revision":"2"}}');
    const read = readResponse(answer);
    expect(read).to.include({ status: 200, length: answer.length, close: false });
    expect(read.body.toString()).to.equal('{"header":{"revision":"2"}}');
    for (let cut = 0; cut < answer.length; cut++) expect(readResponse(answer.subarray(0, cut)), `cut at ${cut}`).to.equal(undefined);
  });

  it('reads a chunked answer with trailers (etcd\'s errors), and nothing until its last line', () => {
    const answer = chunked(404, ['{"error":"etcdserver: requested lease not found",', '"code":5}']);
    const read = readResponse(answer);
    expect(read.status).to.equal(404);
    expect(JSON.parse(read.body.toString())).to.deep.equal({ error: 'etcdserver: requested lease not found', code: 5 });
    expect(read.length).to.equal(answer.length);
    for (let cut = 0; cut < answer.length; cut++) expect(readResponse(answer.subarray(0, cut)), `cut at ${cut}`).to.equal(undefined);
    expect(readResponse(chunked(200, ['{}'], [])).body.toString()).to.equal('{}');
  });

  it('reads pipelined answers one at a time, whatever their kinds and sizes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 5 }),
        (answers) => {
          const wire = Buffer.concat(answers.map(([inChunks, parts]) => (inChunks ? chunked(200, parts) : withLength(200, parts.join('')))));
          let rest = wire;
          for (const [, parts] of answers) {
            const read = readResponse(rest);
            expect(read.body.toString()).to.equal(parts.join(''));
            rest = rest.subarray(read.length);
          }
          expect(rest.length).to.equal(0);
        },
      ),
    );
  });

  it('says when the server closes the connection after an answer', () => {
    const answer = Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}');
    expect(readResponse(answer).close).to.equal(true);
  });

  it('refuses what is not HTTP, or a chunk with no size, as a connection\'s failure', () => {
    expect(() => readResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).to.throw(ConnectionError, /not HTTP/);
    expect(() => readResponse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'))).to.throw(ConnectionError, /no size/);
  });
});
