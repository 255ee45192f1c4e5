/**
 * An overlay network's `store` option, checked and made whole: the etcd
 * endpoints (http or https URLs with a host and a port), the TLS files
 * (absolute paths, readable now), and the key prefix nsnet writes under.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';

import { NsnetError } from '../errors';
import type { StoreConfig } from '../types/overlay';

export type { StoreConfig };

/** Where nsnet's keys live when the option names no prefix. */
export const DEFAULT_STORE_PREFIX = '/nsnet/v1';

function invalidStore(message: string, given: unknown): NsnetError {
  return new NsnetError('INVALID_STORE', `store ${message}`, { store: given });
}

/** One endpoint: `http://host:port` or `https://host:port`, nothing else. */
function endpoint(text: unknown, given: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw invalidStore(`endpoints must be http:// or https:// URLs, got ${JSON.stringify(text)}`, given);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw invalidStore(`endpoint "${text}" is not a URL (give http://HOST:PORT)`, given);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidStore(`endpoint "${text}" is not an http:// or https:// URL`, given);
  if (url.hostname === '') throw invalidStore(`endpoint "${text}" names no host`, given);
  if (url.port === '') throw invalidStore(`endpoint "${text}" names no port (etcd's client port is usually 2379)`, given);
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw invalidStore(`endpoint "${text}" may hold only a scheme, a host and a port`, given);
  }
  return `${url.protocol}//${url.host}`;
}

function readableFile(path: unknown, what: string, given: unknown): string {
  if (typeof path !== 'string' || path === '') throw invalidStore(`tls.${what} must be a file path`, given);
  const absolute = resolve(path);
  try {
    accessSync(absolute, constants.R_OK);
  } catch (error) {
    throw invalidStore(`tls.${what} ${absolute} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, given);
  }
  return absolute;
}

function checkPrefix(prefix: unknown, given: unknown): string {
  if (prefix === undefined) return DEFAULT_STORE_PREFIX;
  if (typeof prefix !== 'string' || !/^(\/[^/\s]+)+$/.test(prefix)) {
    throw invalidStore(`prefix must be an absolute key path such as ${DEFAULT_STORE_PREFIX} (no trailing '/', no empty part), got ${JSON.stringify(prefix)}`, given);
  }
  return prefix;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(object: Record<string, unknown>, keys: string[], what: string, given: unknown): void {
  const unknown = Object.keys(object).find((key) => !keys.includes(key));
  if (unknown !== undefined) throw invalidStore(`${what} has an unknown key "${unknown}" (known: ${keys.join(', ')})`, given);
}

/**
 * `'http://10.0.0.1:2379'`, several of them comma-separated, or
 * `{ endpoints, tls?: { ca?, cert?, key? }, prefix? }`; anything else is
 * refused with INVALID_STORE.
 */
export function parseStoreOption(given: unknown): StoreConfig {
  let endpoints: string[];
  let tls: StoreConfig['tls'];
  let prefix = DEFAULT_STORE_PREFIX;
  if (typeof given === 'string') {
    endpoints = given.split(',').map((text) => endpoint(text, given));
  } else if (isPlainObject(given)) {
    onlyKeys(given, ['endpoints', 'tls', 'prefix'], 'store', given);
    if (!Array.isArray(given.endpoints) || given.endpoints.length === 0) throw invalidStore('endpoints must be a non-empty list of URLs', given);
    endpoints = given.endpoints.map((text) => endpoint(text, given));
    if (given.tls !== undefined) {
      if (!isPlainObject(given.tls)) throw invalidStore('tls must be an object of file paths { ca?, cert?, key? }', given);
      onlyKeys(given.tls, ['ca', 'cert', 'key'], 'store tls', given);
      tls = {};
      for (const what of ['ca', 'cert', 'key'] as const) {
        if (given.tls[what] !== undefined) tls[what] = readableFile(given.tls[what], what, given);
      }
      if ((tls.cert === undefined) !== (tls.key === undefined)) throw invalidStore('tls.cert and tls.key go together (a client certificate and its key)', given);
    }
    prefix = checkPrefix(given.prefix, given);
  } else {
    throw invalidStore(`must be an etcd URL such as http://10.0.0.1:2379 or { endpoints: [...] }, got ${JSON.stringify(given)}`, given);
  }
  const schemes = new Set(endpoints.map((url) => url.slice(0, url.indexOf(':'))));
  if (schemes.size > 1) throw invalidStore('endpoints must be all http:// or all https://', given);
  if (tls && schemes.has('http')) throw invalidStore('tls files are given but the endpoints are http://; use https://', given);
  return { endpoints: [...new Set(endpoints)], ...(tls ? { tls } : {}), prefix };
}
