/** nsnet: container networking for Node.js on Linux, without Docker. */
export { NetNamespace, netnsDir } from './netns';
export type { NamespaceTarget } from './netns';
export type { ExecOptions, ExecResult } from './spawn';
export { NsnetError, NetlinkError } from './errors';
export type { NsnetErrorCode } from './errors';
export type {
  Link,
  LinkSpec,
  LinkKind,
  LinkChanges,
  LinkFilter,
  OperState,
  VethSpec,
  VethPeerOptions,
  BridgeSpec,
  DummySpec,
  VxlanSpec,
  MacvlanSpec,
  IpvlanSpec,
} from './rtnl/links';
export type { Address, AddressFilter, AddressOptions } from './rtnl/addresses';
export type { Route, RouteEntry, RouteFilter, RouteScope } from './rtnl/routes';
export type { IpFamily } from './ip';
export { withFileLock } from './state/lock';
export { createBridgeNetwork, getNetwork, listNetworks, removeNetwork, BridgeNetwork } from './network/network';
export type { BridgeNetworkOptions, FirewallBackend, NetworkRecord } from './network/options';
export type { ConnectOptions } from './network/connect-options';
export type { Endpoint } from './network/endpoint-record';
export type { PublishedPort } from './firewall/ports';
export { parsePublish } from './firewall/publish';
export type { PortRequest, PublishSpec, PortProtocol } from './firewall/publish';
export type { ConnectTarget } from './network/target';
export { listContainers, setupContainer, teardownContainer } from './network/containers';
export type { Container, ContainerInfo, ContainerMode, SetupOptions } from './network/containers';
export { reconcile } from './network/reconcile';
export type { ReconcileReport } from './network/reconcile';
