/**
 * The resolver's sockets on one network: UDP and TCP on its gateway
 * addresses, port 53, in the host's namespace. Only endpoints in the table
 * are answered; TCP is framed by a 2-byte length, several queries a
 * connection, within a bound of connections and of idle time.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';

import { DNS_PORT, type DnsNetwork } from '../types/dns';
import { MAX_UDP_QUERY, type Transport } from './bounds';

/** The answer to a query from `source`, or none (dropped); a cached answer comes back at once. */
export type QueryHandler = (query: Buffer, source: string, transport: Transport) => Buffer | undefined | Promise<Buffer | undefined>;

export interface ListenerBounds {
  /** Whether `source` may ask at all: a TCP connection from anyone else is closed at once. */
  accepts(source: string): boolean;
}

/** TCP connections at once, over every network. */
export const MAX_TCP_CONNECTIONS = 256;
export const TCP_IDLE_MS = 10_000;
/** A new IPv6 gateway may still be tentative (duplicate address detection) for a moment. */
const BIND_RETRY_MS = 3000;

let tcpConnections = 0;

export class NetworkListeners {
  private constructor(
    readonly gateway: string,
    readonly gateway6: string | undefined,
    private readonly udp: UdpSocket[],
    private readonly tcp: Server[],
  ) {}

  /** Binds every socket of the network, or none (what was bound is closed on failure). */
  static async open(network: DnsNetwork, handle: QueryHandler, bounds: ListenerBounds): Promise<NetworkListeners> {
    const udp: UdpSocket[] = [];
    const tcp: Server[] = [];
    try {
      for (const address of [network.gateway, network.gateway6].filter((a): a is string => a !== undefined)) {
        udp.push(await withBindRetry(() => bindUdp(address, handle)));
        tcp.push(await withBindRetry(() => listenTcp(address, handle, bounds)));
      }
    } catch (error) {
      for (const socket of udp) socket.close();
      for (const server of tcp) server.close();
      throw error;
    }
    return new NetworkListeners(network.gateway, network.gateway6, udp, tcp);
  }

  matches(network: DnsNetwork): boolean {
    return this.gateway === network.gateway && this.gateway6 === network.gateway6;
  }

  /** Closes the sockets, and the TCP connections still open (a server's close waits for them). */
  async close(): Promise<void> {
    for (const socket of this.udp) socket.close();
    const closed = this.tcp.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const server of this.tcp) connectionsOf(server).forEach((connection) => connection.destroy());
    await Promise.all(closed);
  }
}

async function withBindRetry<T>(bind: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BIND_RETRY_MS;
  for (;;) {
    try {
      return await bind();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function literal(family: 4 | 6) {
  return (address: string, _options: unknown, callback: (error: null, address: string, family: number) => void) => callback(null, address, family);
}

function bindUdp(address: string, handle: QueryHandler): Promise<UdpSocket> {
  // Answers go to the literal address a query came from: no lookup (node's defers every send by a tick).
  const socket = address.includes(':')
    ? createSocket({ type: 'udp6', ipv6Only: true, lookup: literal(6) })
    : createSocket({ type: 'udp4', lookup: literal(4) });
  const reply = (answer: Buffer | undefined, port: number, to: string) => {
    if (answer) socket.send(answer, port, to);
  };
  socket.on('message', (query, peer) => {
    if (query.length > MAX_UDP_QUERY) return;
    const answer = handle(query, peer.address, 'udp');
    if (answer === undefined) return;
    if (Buffer.isBuffer(answer)) socket.send(answer, peer.port, peer.address);
    else answer.then((ready) => reply(ready, peer.port, peer.address), () => undefined);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.bind({ address, port: DNS_PORT, exclusive: true }, () => {
      socket.removeAllListeners('error');
      // A send to an asker gone is no reason to stop.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

const connections = new WeakMap<Server, Set<Socket>>();

function connectionsOf(server: Server): Set<Socket> {
  let set = connections.get(server);
  if (!set) connections.set(server, (set = new Set()));
  return set;
}

function listenTcp(address: string, handle: QueryHandler, bounds: ListenerBounds): Promise<Server> {
  const server = createServer((socket) => {
    const open = connectionsOf(server);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    serveConnection(socket, handle, bounds);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port: DNS_PORT, ipv6Only: address.includes(':'), exclusive: true }, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}

function serveConnection(socket: Socket, handle: QueryHandler, bounds: ListenerBounds): void {
  const source = socket.remoteAddress;
  if (source === undefined || tcpConnections >= MAX_TCP_CONNECTIONS || !bounds.accepts(source)) {
    socket.destroy();
    return;
  }
  tcpConnections += 1;
  socket.once('close', () => (tcpConnections -= 1));
  socket.on('error', () => undefined);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  let received = Buffer.alloc(0);
  const reply = (answer: Buffer | undefined) => {
    if (!answer || socket.destroyed) return;
    const length = Buffer.allocUnsafe(2);
    length.writeUInt16BE(answer.length);
    socket.write(Buffer.concat([length, answer]));
  };
  socket.on('data', (chunk) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    while (received.length >= 2) {
      const size = received.readUInt16BE(0);
      if (received.length < 2 + size) break;
      const query = received.subarray(2, 2 + size);
      received = received.subarray(2 + size);
      const answer = handle(query, source, 'tcp');
      if (answer instanceof Promise) answer.then(reply, () => undefined);
      else reply(answer);
    }
  });
}
