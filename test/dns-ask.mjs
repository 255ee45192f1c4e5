// Asks DNS questions from inside a namespace, one query each, no retry, as
// the tests need to see exactly what one query gets. Imported, startAsker()
// runs it in a namespace and returns { ask, close }; run as a program it
// reads one question a line (JSON) on stdin and writes one result a line:
//   question: { n, server, port?, name, type?, transport?: 'udp'|'tcp',
//               timeoutMs?, edns?: udpPayloadSize, raw?: hex bytes sent as they are }
//   result:   { n, answered: true, rcode, aa, tc, questions, answers: [{ name, type, ttl, data }] }
//             or { n, answered: false, reason: 'timeout' | 'closed' | errno code }
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, isIPv6 } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import dnsPacket from 'dns-packet';

function encodeQuestion(question) {
  if (question.raw) return Buffer.from(question.raw, 'hex');
  const additionals = question.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: question.edns }] : [];
  return dnsPacket.encode({
    type: 'query',
    id: Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: question.type ?? 'A', class: 'IN', name: question.name }],
    additionals,
  });
}

function text(data) {
  if (Buffer.isBuffer(data)) return data.toString();
  if (Array.isArray(data)) return data.map(text);
  return data;
}

function result(message) {
  let packet;
  try {
    packet = dnsPacket.decode(message);
  } catch (error) {
    return { answered: true, malformed: error.message };
  }
  return {
    answered: true,
    id: packet.id,
    rcode: packet.rcode,
    aa: packet.flag_aa,
    tc: packet.flag_tc,
    questions: packet.questions.map(({ name, type }) => ({ name, type })),
    answers: packet.answers.map(({ name, type, ttl, data }) => ({ name, type, ttl, data: text(data) })),
  };
}

function askUdp(question, message, timeoutMs) {
  const socket = createSocket(isIPv6(question.server) ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const done = (outcome) => {
      clearTimeout(timer);
      socket.close();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ answered: false, reason: 'timeout' }), timeoutMs);
    socket.on('message', (reply) => done(result(reply)));
    socket.on('error', (error) => done({ answered: false, reason: error.code }));
    socket.send(message, question.port ?? 53, question.server);
  });
}

function askTcp(question, message, timeoutMs) {
  const socket = connect({ host: question.server, port: question.port ?? 53 });
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  let received = Buffer.alloc(0);
  return new Promise((resolve) => {
    const done = (outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ answered: false, reason: 'timeout' }), timeoutMs);
    socket.on('connect', () => socket.write(Buffer.concat([length, message])));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) done(result(received.subarray(2, 2 + received.readUInt16BE(0))));
    });
    socket.on('end', () => done({ answered: false, reason: 'closed' }));
    socket.on('error', (error) => done({ answered: false, reason: error.code }));
  });
}

async function answer(question) {
  const message = encodeQuestion(question);
  const timeoutMs = question.timeoutMs ?? 2000;
  const outcome = question.transport === 'tcp' ? await askTcp(question, message, timeoutMs) : await askUdp(question, message, timeoutMs);
  return { n: question.n, ...outcome };
}

/**
 * Starts an asker inside `ns` (a NetNamespace). `ask(question)` resolves to
 * the result of one query (several may be under way at once); `close()` ends
 * the asker (its stdin closed, then its PID signalled if it lingers).
 */
export async function startAsker(ns) {
  const child = ns.spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pending = new Map();
  let next = 0;
  let exited;
  child.once('exit', (code, signal) => {
    exited = new Error(`the DNS asker exited with ${code ?? signal}`);
    for (const { reject } of pending.values()) reject(exited);
    pending.clear();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const outcome = JSON.parse(line);
    pending.get(outcome.n)?.resolve(outcome);
    pending.delete(outcome.n);
  });
  const ask = (question) => {
    if (exited) return Promise.reject(exited);
    next += 1;
    const n = next;
    return new Promise((resolve, reject) => {
      pending.set(n, { resolve, reject });
      child.stdin.write(`${JSON.stringify({ ...question, n })}\n`);
    });
  };
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, 'exit');
    child.stdin.end();
    const timer = setTimeout(() => process.kill(child.pid, 'SIGTERM'), 2000);
    await gone;
    clearTimeout(timer);
  };
  return { ask, close, pid: child.pid };
}

/** The addresses (A and AAAA data) of a result, sorted. */
export function addressesOf(outcome) {
  return (outcome.answers ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA').map((a) => a.data).sort();
}

/** The PTR name of an IPv4 or IPv6 address (in-addr.arpa, ip6.arpa). */
export function reverseName(address) {
  if (!isIPv6(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head, tail = ''] = address.split('::');
  const groups = (part) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const full = [...groups(head), ...Array(address.includes('::') ? missing : 0).fill('0'), ...groups(tail)];
  const nibbles = full.map((group) => group.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.ip6.arpa`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const questions = createInterface({ input: process.stdin });
  const running = new Set();
  questions.on('line', (line) => {
    const question = JSON.parse(line);
    const task = answer(question)
      .catch((error) => ({ n: question.n, answered: false, reason: String(error.message) }))
      .then((outcome) => process.stdout.write(`${JSON.stringify(outcome)}\n`));
    running.add(task);
    task.finally(() => running.delete(task));
  });
  questions.on('close', async () => {
    await Promise.all(running);
    process.exit(0);
  });
}
