/**
 * Host end names. They are random, as Docker's are (`veth` and 7 hex
 * digits; a routed network's prefix and 7): 28 bits, so among 2,000
 * containers two share a name about once in 130 networks. The kernel says
 * so (EEXIST) when the second is made; that connect takes another name and
 * makes its veth again, as Docker's GenerateIfaceName picks again.
 */
import { randomBytes } from 'node:crypto';

import { NsnetError } from '../errors';
import { type NetworkRecord, networkDriver } from '../types/network';
import { routedHostEndName } from '../types/routed-network';

/** Tries with names this many times before the name's INTERFACE_EXISTS stands. */
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
 * Runs `create` (which makes the veth named `target.hostIfname`, and
 * nothing when it fails); when the name is taken, gives `target` another
 * one, lets `renamed` record it, and runs `create` again.
 */
export async function withFreeHostEnd<T>(network: NetworkRecord, target: { hostIfname: string }, create: () => Promise<T>, renamed: () => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (attempt === ATTEMPTS || !isHostEndTaken(error)) throw error;
      target.hostIfname = hostEndName(network, randomBytes(8).toString('hex'));
      await renamed();
    }
  }
}
