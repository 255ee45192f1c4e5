/** nsnet: container networking for Node.js on Linux, without Docker. */
export { NetNamespace, netnsDir } from './netns';
export { netnsEtcDir } from './netns-etc';
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
  LinkGetOptions,
  LinkStats,
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
export type { FdbEntry, FdbSpec, FdbState, IpNeighbour, IpNeighbourSpec, Neighbour, NeighbourFilter, NeighbourSpec, NeighbourState } from './rtnl/neighbours';
export type { EventAction, EventKinds, RtnlEvent, RtnlEventStream } from './rtnl/events';
export type { IpFamily } from './types/ip';
export { withFileLock } from './state/lock';
export { createBridgeNetwork, createIpvlanNetwork, createMacvlanNetwork, getNetwork, listNetworks, removeNetwork, BridgeNetwork } from './network/network';
export type { Network } from './network/network';
export { NetworkPool } from './network/pool';
export type { BridgeNetworkOptions, FirewallBackend, IpvlanNetworkOptions, MacvlanNetworkOptions, NetworkDriver, NetworkRecord } from './types/network';
export { NETWORK_DRIVERS, networkDriver } from './types/network';
export { createRoutedNetwork } from './network/routed-network';
export type { RoutedNetworkOptions } from './types/routed-network';
export { createOverlayNetwork } from './network/overlay-network';
export type { OverlayNetworkOptions, StoreOption } from './types/overlay-network';
export type { ConnectOptions } from './types/endpoint';
export type { Endpoint } from './network/endpoint-record';
export { parsePublish } from './firewall/publish';
export type { PortRequest, PublishSpec, PortProtocol, PublishedPort } from './types/ports';
export type { ConnectTarget } from './network/target';
export { listContainers, setupContainer, teardownContainer } from './network/containers';
export type { ContainerTeardownOptions, ContainerTeardownReport } from './network/containers';
export type { Container, ContainerInfo } from './network/containers';
export type { ContainerMode, SetupOptions } from './types/container';
export { reconcile } from './network/reconcile';
export type { ReconcileReport } from './network/reconcile';
