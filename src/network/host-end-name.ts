/**
 * Host end names. They are random, as Docker's are (`veth` and 7 hex
 * digits; a routed network's prefix and 7): 28 bits, so among 2,000
 * containers two share a name about once in 130 networks. The kernel says
 * so (EEXIST) when the second is made; that connect takes another name and
 * makes its veth again, as Docker's GenerateIfaceName picks again. An
 * ifb's name (shaping.ts) is as random, and picked again the same way.
 */
import { randomBytes } from 'node:crypto';

import { NsnetError } from '../errors';
import { type NetworkRecord, networkDriver } from '../types/network';
import { routedHostEndName } from '../types/routed-network';

/** Tries with names this many times before the name's refusal stands. */
const ATTEMPTS = 4;

/** The name of the host end of endpoint `id` on a bridge or routed network. */
export function hostEndName(network: NetworkRecord, id: string): string {
  return networkDriver(network) === 'routed' ? routedHostEndName(network.bridge, id) : `veth${id.slice(0, 7)}`;
}

/** The refusal of a veth whose host end's name the host has already (see vethRefusal). */
export function hostEndTaken(hostIfname: string, cause: unknown): NsnetError {
  return new NsnetError('INTERFACE_EXISTS', `the host has an interface ${hostIfname} already`, { ifname: hostIfname, hostEnd: true }, { cause });
}

function isHostEndTaken(error: unknown): boolean {
  return error instanceof NsnetError && error.code === 'INTERFACE_EXISTS' && error.details?.hostEnd === true;
}

/**
 * Runs `create` (which makes a link under a random name, and nothing when
 * it fails); while it fails because the name is taken (`taken`), lets
 * `rename` give the link another name from a new random id (and record
 * it), and runs `create` again, up to ATTEMPTS names.
 */
export async function withFreeName<T>(create: () => Promise<T>, taken: (error: unknown) => boolean, rename: (id: string) => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (attempt === ATTEMPTS || !taken(error)) throw error;
      await rename(randomBytes(8).toString('hex'));
    }
  }
}

/**
 * Runs `create` (which makes the veth named `target.hostIfname`); when the
 * name is taken, gives `target` another one, lets `renamed` record it, and
 * runs `create` again.
 */
export function withFreeHostEnd<T>(network: NetworkRecord, target: { hostIfname: string }, create: () => Promise<T>, renamed: () => Promise<void>): Promise<T> {
  return withFreeName(create, isHostEndTaken, (id) => {
    target.hostIfname = hostEndName(network, id);
    return renamed();
  });
}
