/**
 * The CNI network configuration nsnet's plugin reads (stdin), as the
 * reference bridge plugin's keys and nsnet's own. Keys not named here are
 * ignored, as the CNI specification says, at every level.
 */
import { type Static, Type } from '@sinclair/typebox';

import { FIREWALL_BACKENDS } from './network';

const Text = Type.String({ minLength: 1 });
const Flag = Type.Optional(Type.Boolean());
const Strings = Type.Array(Type.String(), { expected: 'a list of strings' });
const Addresses = Type.Optional(Type.Array(Type.String(), { expected: 'a list of addresses' }));

/** runtimeConfig.portMappings, as the portmap plugin takes them. */
const PortMappingSchema = Type.Object({
  hostPort: Type.Integer({ expected: 'a port number' }),
  containerPort: Type.Integer({ expected: 'a port number' }),
  protocol: Type.Optional(Type.String()),
  hostIP: Type.Optional(Type.String()),
});

const AttachmentsSchema = Type.Optional(
  Type.Array(Type.Object({ containerID: Text, ifname: Text }), { expected: 'a list of {containerID, ifname}' }),
);

export const CniNetworkConfigSchema = Type.Object({
  name: Type.String({ expected: 'a network name' }),
  bridge: Type.Optional(Text),
  subnet: Type.Optional(Text),
  gateway: Type.Optional(Text),
  ipv6Subnet: Type.Optional(Text),
  mtu: Type.Optional(Type.Integer({ expected: 'a whole number' })),
  ipMasq: Flag,
  icc: Flag,
  internal: Flag,
  hostIp: Type.Optional(Text),
  firewall: Type.Optional(Type.Union(FIREWALL_BACKENDS.map((backend) => Type.Literal(backend)))),
  // The reference plugin's options: nsnet refuses the values it cannot honour.
  ipam: Type.Optional(Type.Unknown()),
  isGateway: Flag,
  isDefaultGateway: Flag,
  hairpinMode: Flag,
  promiscMode: Flag,
  vlan: Type.Optional(Type.Unknown()),
  vlanTrunk: Type.Optional(Type.Unknown()),
  macspoofchk: Flag,
  enabledad: Flag,
  dns: Type.Optional(
    Type.Object({
      nameservers: Type.Optional(Strings),
      domain: Type.Optional(Text),
      search: Type.Optional(Strings),
      options: Type.Optional(Strings),
    }),
  ),
  prevResult: Type.Optional(Type.Object({})),
  runtimeConfig: Type.Optional(
    Type.Object({
      ips: Addresses,
      mac: Type.Optional(Type.String()),
      portMappings: Type.Optional(Type.Array(PortMappingSchema)),
    }),
  ),
  args: Type.Optional(Type.Object({ cni: Type.Optional(Type.Object({ ips: Addresses, mac: Type.Optional(Type.String()) })) })),
  'cni.dev/valid-attachments': AttachmentsSchema,
  'cni.dev/attachments': AttachmentsSchema,
});
export type CniNetworkConfig = Static<typeof CniNetworkConfigSchema>;
