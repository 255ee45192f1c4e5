/** Neighbour (ARP / NDP) entries of one namespace: forgetting one, for now. */
import { native } from '../native';
import { addressFamilyNumber, isIPv6 } from '../types/ip';
import type { ChainedRequest } from '../kernel/rtnl-connection';
import type { RtnlContext } from './context';

/** Removes the entry for `address` on link `index`, if there is one. */
export async function forgetNeighbour(ctx: RtnlContext, index: number, address: string): Promise<void> {
  const { op, message } = forgetNeighbourRequest(ctx, index, address);
  const conn = await ctx.connection();
  await conn.request(op, message, { goneIsDone: true });
}

/** forgetNeighbour() as a request for a chain (RtnlConnection.chain). */
export function forgetNeighbourRequest(ctx: RtnlContext, index: number, address: string): ChainedRequest {
  const message = native().encodeNeighbourDelete(addressFamilyNumber(isIPv6(address) ? 6 : 4), index, address);
  return { op: `neighbour delete ${address} dev ${index} in ${ctx.label}`, message, goneIsDone: true };
}
