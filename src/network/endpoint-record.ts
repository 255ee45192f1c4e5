/** What users get back about an endpoint, from its stored record. */
import { NetNamespace } from '../netns';
import { type EndpointRecord, endpointView, type EndpointView } from '../types/endpoint';

export type Endpoint = EndpointView<NetNamespace>;

export function toEndpoint(record: EndpointRecord, ns?: NetNamespace): Endpoint {
  return endpointView(record, ns ?? NetNamespace.atPath(record.netnsPath, record.netnsInode));
}
