/**
 * A routed network's elements: where a bridge network puts its bridge in
 * the sets, a routed network's endpoints put their host ends (one element
 * each, hash lookups however many), and its icc is the pair of its host
 * ends' group (one element per network). The rules are the bridges' own.
 */
import type { EndpointRecord } from '../../types/endpoint';
import type { NetworkRecord } from '../../types/network';
import { routedLinkGroup } from '../../types/routed-network';
import { concat, field, type SetChange } from './elements';

export function routedNetworkChanges(network: NetworkRecord, op: 'add' | 'delete'): SetChange[] {
  if (!network.icc) return [];
  const group = field.devgroup(routedLinkGroup(network));
  return [{ op, set: 'icc_groups', elements: [{ key: concat(group, group) }] }];
}

export function routedEndpointChanges(network: NetworkRecord, endpoint: EndpointRecord, op: 'add' | 'delete'): SetChange[] {
  const hostEnd = [{ key: field.ifname(endpoint.hostIfname) }];
  const changes: SetChange[] = [{ op, set: 'bridges', elements: hostEnd }];
  if (network.internal) changes.push({ op, set: 'internal_bridges', elements: hostEnd });
  else if (network.masquerade) changes.push({ op, set: 'masquerade_bridges', elements: hostEnd });
  return changes;
}
