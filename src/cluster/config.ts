/**
 * An overlay network's `store` option, checked and made whole: the etcd
 * endpoints (http or https URLs with a host and a port), the TLS files
 * (absolute paths, readable now), and the key prefix nsnet writes under.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';

import { NsnetError } from '../errors';
import type { StoreConfig } from '../types/overlay';
import { type StoreOption, StoreOptionSchema } from '../types/overlay-network';
import { Validator } from '../types/schema';

export type { StoreConfig };

/** Where nsnet's keys live when the option names no prefix. */
export const DEFAULT_STORE_PREFIX = '/nsnet/v1';

function invalidStore(message: string, given: unknown): NsnetError {
  return new NsnetError('INVALID_STORE', `store ${message}`, { store: given });
}

/** One endpoint: `http://host:port` or `https://host:port`, nothing else. */
function endpoint(text: string, given: unknown): string {
  if (text.trim() === '') throw invalidStore(`endpoints must be http:// or https:// URLs, got ${JSON.stringify(text)}`, given);
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

function readableFile(path: string, what: string, given: unknown): string {
  if (path === '') throw invalidStore(`tls.${what} must be a file path`, given);
  const absolute = resolve(path);
  try {
    accessSync(absolute, constants.R_OK);
  } catch (error) {
    throw invalidStore(`tls.${what} ${absolute} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, given);
  }
  return absolute;
}

function checkPrefix(prefix: string | undefined, given: unknown): string {
  if (prefix === undefined) return DEFAULT_STORE_PREFIX;
  if (!/^(\/[^/\s]+)+$/.test(prefix)) {
    throw invalidStore(`prefix must be an absolute key path such as ${DEFAULT_STORE_PREFIX} (no trailing '/', no empty part), got ${JSON.stringify(prefix)}`, given);
  }
  return prefix;
}

const storeOptionValidator = new Validator(StoreOptionSchema);

/**
 * `'http://10.0.0.1:2379'`, several of them comma-separated, or
 * `{ endpoints, tls?: { ca?, cert?, key? }, prefix? }`; anything else is
 * refused with INVALID_STORE.
 */
export function parseStoreOption(given: unknown): StoreConfig {
  const problem = storeOptionValidator.problem(given);
  if (problem?.unknownKey) throw invalidStore(`has an unknown key "${problem.path}" (known: endpoints, tls { ca, cert, key }, prefix)`, given);
  if (problem) {
    throw invalidStore(`${problem.path ? `${problem.path} ` : ''}must be ${problem.path ? problem.expected : 'an etcd URL such as http://10.0.0.1:2379 or { endpoints: [...] }'}, got ${JSON.stringify(problem.value)}`, given);
  }
  const option = given as StoreOption;
  let tls: StoreConfig['tls'];
  let prefix = DEFAULT_STORE_PREFIX;
  const endpoints = (typeof option === 'string' ? option.split(',') : option.endpoints).map((text) => endpoint(text, given));
  if (endpoints.length === 0) throw invalidStore('endpoints must be a non-empty list of URLs', given);
  if (typeof option !== 'string') {
    if (option.tls !== undefined) {
      tls = {};
      for (const what of ['ca', 'cert', 'key'] as const) {
        if (option.tls[what] !== undefined) tls[what] = readableFile(option.tls[what], what, given);
      }
      if ((tls.cert === undefined) !== (tls.key === undefined)) throw invalidStore('tls.cert and tls.key go together (a client certificate and its key)', given);
    }
    prefix = checkPrefix(option.prefix, given);
  }
  const schemes = new Set(endpoints.map((url) => url.slice(0, url.indexOf(':'))));
  if (schemes.size > 1) throw invalidStore('endpoints must be all http:// or all https://', given);
  if (tls && schemes.has('http')) throw invalidStore('tls files are given but the endpoints are http://; use https://', given);
  return { endpoints: [...new Set(endpoints)], ...(tls ? { tls } : {}), prefix };
}
