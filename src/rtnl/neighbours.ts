/** Neighbour (ARP / NDP) entries of one namespace: forgetting one, for now. */
import { native } from '../native';
import { addressFamilyNumber, isIPv6 } from '../types/ip';
import type { RtnlContext } from './context';

/** Removes the entry for `address` on link `index` (ENOENT when there is none). */
export async function forgetNeighbour(ctx: RtnlContext, index: number, address: string): Promise<void> {
  const conn = await ctx.connection();
  const message = native().encodeNeighbourDelete(addressFamilyNumber(isIPv6(address) ? 6 : 4), index, address);
  await conn.request(`neighbour delete ${address} dev ${index} in ${ctx.label}`, message);
}
