/**
 * The resolver's control protocol, over its unix socket: newline-delimited
 * JSON, one request a line with an `id`, one response a line with the same
 * `id`: `{id, ok: true, ...}` or `{id, ok: false, code, message}`. Requests
 * on one connection may be answered out of order.
 *
 *   {op: 'add', network: DnsNetwork, endpoint: DnsEndpoint}   answered once the names answer
 *                                                             (endpoint.host: another host's, on an overlay network)
 *   {op: 'remove', network: string, endpoint: string}         (the endpoint's id)
 *   {op: 'sync'}                                              everything again from the state directory
 *   {op: 'status'} → {pid, networks: [{name, gateway, gateway6?, endpoints}], names}
 */
import type { Socket } from 'node:net';

import { asNsnetError } from '../errors';
import type { DnsEndpoint, DnsNetwork } from '../types/dns';

export type ControlRequest =
  | { id: number; op: 'add'; network: DnsNetwork; endpoint: DnsEndpoint }
  | { id: number; op: 'remove'; network: string; endpoint: string }
  | { id: number; op: 'sync' }
  | { id: number; op: 'status' };

export interface ServiceStatus {
  pid: number;
  networks: { name: string; gateway: string; gateway6?: string; endpoints: number }[];
  /** Names answered, over every endpoint. */
  names: number;
}

export type ControlResponse = ({ id: number; ok: true } & Partial<ServiceStatus>) | { id: number | null; ok: false; code: string; message: string };

/** A request line's whole text is bounded: an endpoint's names are few and short. */
const MAX_LINE = 1 << 20;

/** Calls `onLine` with each complete line of what a stream delivers. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer) => boolean {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim()) onLine(line);
    }
    return pending.length <= MAX_LINE;
  };
}

/**
 * Writes lines to a stream, those of one turn of the event loop in one
 * write: in a burst of connects each line written apart woke the other
 * process once per line, and the two processes took turns on the CPU.
 */
export function lineWriter(socket: Socket): (line: string) => void {
  let queued: string[] = [];
  const flush = () => {
    const text = queued.join('');
    queued = [];
    if (!socket.destroyed) socket.write(text);
  };
  return (line) => {
    if (queued.push(`${line}\n`) === 1) setImmediate(flush);
  };
}

/** Answers the requests of one control connection with `handle`, each as it completes. */
export function serveControlConnection(socket: Socket, handle: (request: ControlRequest) => Promise<object>): void {
  socket.on('error', () => undefined);
  const write = lineWriter(socket);
  const respond = (response: ControlResponse) => write(JSON.stringify(response));
  const split = lineSplitter((line) => {
    let request: ControlRequest;
    try {
      request = JSON.parse(line);
      if (typeof request !== 'object' || request === null || typeof request.id !== 'number') throw new Error('no id');
    } catch {
      respond({ id: null, ok: false, code: 'INVALID_ARGUMENT', message: 'a request is one JSON object with a numeric id' });
      return;
    }
    Promise.resolve(request).then(handle).then(
      (result) => respond({ ...result, id: request.id, ok: true }),
      (error) => {
        const failure = asNsnetError(error);
        respond({ id: request.id, ok: false, code: failure.code, message: failure.message });
      },
    );
  });
  socket.on('data', (chunk) => {
    if (!split(chunk)) socket.destroy();
  });
}
