// A small real DNS server standing for the host's upstream, run by the tests
// inside a namespace of theirs: it answers configured names over UDP and TCP
// and reports every query it sees. Imported, startUpstream() runs it in a
// namespace; run as a program (`node dns-upstream.mjs CONFIG`), it is that
// server: CONFIG is JSON { address, port?, mode?, records? }.
//
// mode: 'answer' (the default), 'truncate' (over UDP an empty answer with TC
// set, so that the asker retries over TCP, which answers), 'silent' (a dead
// upstream: it notes the query and never answers), 'servfail'.
// records: { 'example.test': { A: ['192.0.2.10'], AAAA: [...], TXT: [...] } };
// other names answer NXDOMAIN. Each query seen is one JSON line on stdout,
// { transport, from, name, type }, after a first line 'listening'.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

import dnsPacket from 'dns-packet';

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 };

/** The reply to `query` (a decoded packet), or undefined for none. */
function reply(query, config, transport) {
  const mode = config.mode ?? 'answer';
  if (mode === 'silent') return undefined;
  const question = query.questions[0];
  const base = {
    type: 'response',
    id: query.id,
    flags: dnsPacket.RECURSION_AVAILABLE | (query.flags & dnsPacket.RECURSION_DESIRED),
    questions: query.questions,
  };
  if (mode === 'servfail') return { ...base, flags: base.flags | RCODE.SERVFAIL };
  if (mode === 'truncate' && transport === 'udp') return { ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE };
  const entry = question && Object.entries(config.records ?? {}).find(([name]) => name.toLowerCase() === question.name.toLowerCase())?.[1];
  if (!entry) return { ...base, flags: base.flags | RCODE.NXDOMAIN };
  const data = entry[question.type] ?? [];
  return {
    ...base,
    flags: base.flags | dnsPacket.AUTHORITATIVE_ANSWER,
    answers: data.map((value) => ({ type: question.type, class: 'IN', name: question.name, ttl: 30, data: value })),
  };
}

function note(transport, from, query) {
  const question = query.questions[0] ?? {};
  process.stdout.write(`${JSON.stringify({ transport, from, name: question.name, type: question.type })}\n`);
}

/** Answers DNS over TCP: 2-byte length framing, several queries per connection. */
function serveTcp(socket, config) {
  let pending = Buffer.alloc(0);
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
      pending = pending.subarray(2 + message.length);
      let query;
      try {
        query = dnsPacket.decode(message);
      } catch {
        continue;
      }
      note('tcp', socket.remoteAddress, query);
      const answer = reply(query, config, 'tcp');
      if (answer) socket.write(dnsPacket.streamEncode(answer));
    }
  });
}

async function serve(config) {
  const port = config.port ?? 53;
  const udp = createSocket(config.address.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (message, peer) => {
    let query;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    note('udp', peer.address, query);
    const answer = reply(query, config, 'udp');
    if (answer) udp.send(dnsPacket.encode(answer), peer.port, peer.address);
  });
  udp.bind(port, config.address);
  await once(udp, 'listening');
  const tcp = createServer((socket) => serveTcp(socket, config));
  tcp.listen(port, config.address);
  await once(tcp, 'listening');
  process.stdout.write('listening\n');
  process.on('SIGTERM', () => process.exit(0));
}

/**
 * Starts the server inside `ns` (a NetNamespace) on `config.address` (which
 * the namespace must carry); resolves once it listens, to
 * { address, queries, pid, stop } where `queries` fills as queries arrive
 * and stop() ends it by its PID and waits for it.
 */
export async function startUpstream(ns, config) {
  const child = ns.spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const queries = [];
  let buffered = '';
  let listening;
  const ready = new Promise((resolve, reject) => {
    listening = resolve;
    child.once('exit', (code, signal) => reject(new Error(`the upstream DNS server exited with ${code ?? signal}`)));
  });
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      if (line === 'listening') listening();
      else queries.push(JSON.parse(line));
    }
  });
  await ready;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(child.pid, 'SIGTERM');
    await exited;
  };
  return { address: config.address, queries, pid: child.pid, stop };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serve(JSON.parse(process.argv[2]));
}
