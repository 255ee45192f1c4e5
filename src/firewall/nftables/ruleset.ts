/**
 * The base ruleset, installed once with `nft -f` (a readable script that
 * `nft list` shows back as written). Everything that changes with networks
 * and containers is an element of these sets and maps, changed over netlink:
 * the rules themselves never change, so their cost does not grow with the
 * number of networks, containers or ports.
 */
import { NSNET_TAG } from '../../types/ownership';
import type { SetChange } from './elements';

export const TABLE = NSNET_TAG;

interface SetDefinition {
  family: 'inet' | 'bridge';
  kind: 'set' | 'map';
  name: string;
  type: string;
  /** Lines written above it in the script. */
  comment?: string[];
}

/** Every set and map of both tables: the script declares them, `reconcile` flushes them. */
const SETS: SetDefinition[] = [
  { family: 'inet', kind: 'set', name: 'bridges', type: 'ifname', comment: ['Bridges of nsnet networks, and their properties.'] },
  { family: 'inet', kind: 'set', name: 'masquerade_bridges', type: 'ifname' },
  { family: 'inet', kind: 'set', name: 'internal_bridges', type: 'ifname' },
  {
    family: 'inet',
    kind: 'set',
    name: 'masquerade4_bridges',
    type: 'ifname',
    comment: ['Gateway modes per family: masquerade_bridges masquerade both families, these one.'],
  },
  { family: 'inet', kind: 'set', name: 'masquerade6_bridges', type: 'ifname' },
  { family: 'inet', kind: 'set', name: 'unprotected4_bridges', type: 'ifname' },
  { family: 'inet', kind: 'set', name: 'unprotected6_bridges', type: 'ifname' },
  { family: 'inet', kind: 'set', name: 'routed4_bridges', type: 'ifname' },
  { family: 'inet', kind: 'set', name: 'routed6_bridges', type: 'ifname' },
  { family: 'inet', kind: 'set', name: 'trusted_pairs', type: 'ifname . ifname', comment: ['trusted host interface . bridge'] },
  {
    family: 'inet',
    kind: 'set',
    name: 'exposed4',
    type: 'ipv4_addr . inet_proto . inet_service',
    comment: ['Published ports by the container\'s own address: container address . protocol . container port.'],
  },
  { family: 'inet', kind: 'set', name: 'exposed6', type: 'ipv6_addr . inet_proto . inet_service' },
  {
    family: 'inet',
    kind: 'set',
    name: 'icc_pairs',
    type: 'ifname . ifname',
    comment: [
      'bridge . bridge for networks whose containers may talk (icc): with',
      'br_netfilter on, their bridged traffic passes the forward hook too.',
    ],
  },
  {
    family: 'inet',
    kind: 'set',
    name: 'icc_groups',
    type: 'devgroup . devgroup',
    comment: [
      'group . group for routed networks whose containers may talk (icc):',
      'the host ends of a routed network are in its group, and in the sets',
      'above by name, as bridges are.',
    ],
  },
  {
    family: 'inet',
    kind: 'map',
    name: 'ports4',
    type: 'ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service',
    comment: [
      'Published ports: host address . protocol . port -> container address . port.',
      'The *_any maps hold ports published on every host address.',
    ],
  },
  { family: 'inet', kind: 'map', name: 'ports4_any', type: 'inet_proto . inet_service : ipv4_addr . inet_service' },
  { family: 'inet', kind: 'map', name: 'ports6', type: 'ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service' },
  { family: 'inet', kind: 'map', name: 'ports6_any', type: 'inet_proto . inet_service : ipv6_addr . inet_service' },
  { family: 'bridge', kind: 'set', name: 'icc_off_ports', type: 'ifname' },
];

/** Empties every set and map of both tables: `reconcile` then fills them from the records. */
export const FLUSH_EVERY_SET: SetChange[] = SETS.map((s) => ({ op: 'flush', set: s.name, family: s.family, elements: [] }));

/** The declarations of one table's sets, as lines of its script. */
function declarations(family: SetDefinition['family']): string {
  return SETS.filter((s) => s.family === family)
    .map((s) => `${(s.comment ?? []).map((line) => `  # ${line}\n`).join('')}  ${s.kind} ${s.name} { type ${s.type}; }\n`)
    .join('');
}

export const INET_TABLE = `
table inet ${TABLE} {
  comment "nsnet: container networks. Rules are fixed; sets and maps change."

${declarations('inet')}
  chain raw_prerouting {
    type filter hook prerouting priority raw; policy accept;
    # 127.0.0.1-published ports are for this host only.
    iifname != "lo" ip daddr 127.0.0.0/8 drop
  }

  chain publish {
    meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @ports4
    meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4_any
    meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6
    meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @ports6_any
  }

  chain nat_prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local jump publish
  }

  chain nat_output {
    type nat hook output priority -100; policy accept;
    fib daddr type local jump publish
  }

  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    # This host reaching a container through 127.0.0.1.
    oifname @bridges ip saddr 127.0.0.0/8 masquerade
    # A container reaching a published port of its own network (hairpin).
    oifname @bridges iifname @bridges ct status dnat masquerade
    # Containers reaching out through a non-bridge interface.
    iifname @masquerade_bridges oifname != @bridges masquerade
    meta nfproto ipv4 iifname @masquerade4_bridges oifname != @bridges masquerade
    meta nfproto ipv6 iifname @masquerade6_bridges oifname != @bridges masquerade
  }

  chain forward {
    type filter hook forward priority filter; policy accept;
    oifname @bridges jump into_bridge
    iifname @bridges jump out_of_bridge
  }

  chain into_bridge {
    iifname . oifname @icc_pairs accept
    iifgroup . oifgroup @icc_groups accept
    # Internal networks: nothing in from elsewhere, nothing out to another
    # network either (not even to its published ports).
    oifname @internal_bridges drop
    iifname @internal_bridges drop
    ct state established,related accept
    # Published ports; everything else from outside or other networks stops,
    # but what the gateway modes let reach a container by its own address.
    ct status dnat accept
    # nat-unprotected: any port, but not from other networks.
    meta nfproto ipv4 oifname @unprotected4_bridges iifname != @bridges accept
    meta nfproto ipv6 oifname @unprotected6_bridges iifname != @bridges accept
    # routed: published ports from anywhere, and ICMP (all of it, as Docker).
    oifname @routed4_bridges ip daddr . meta l4proto . th dport @exposed4 accept
    oifname @routed6_bridges ip6 daddr . meta l4proto . th dport @exposed6 accept
    oifname @routed4_bridges meta l4proto icmp accept
    oifname @routed6_bridges meta l4proto ipv6-icmp accept
    # Trusted host interfaces: published ports, from those interfaces.
    iifname . oifname @trusted_pairs ip daddr . meta l4proto . th dport @exposed4 accept
    iifname . oifname @trusted_pairs ip6 daddr . meta l4proto . th dport @exposed6 accept
    drop
  }

  chain out_of_bridge {
    iifname @internal_bridges drop
    accept
  }

  chain input {
    type filter hook input priority filter; policy accept;
    iifname @internal_bridges jump internal_to_host
  }

  chain internal_to_host {
    # Internal networks reach this host only for the resolver on their
    # gateway (an address of the bridge they come in by), and neighbour discovery.
    ct state established,related accept
    meta l4proto { tcp, udp } th dport 53 fib daddr . iif type local accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    drop
  }
}
`;

/**
 * Containers of an icc-off network may not talk to each other over the
 * bridge. The set holds the host ends of their veths: frames a bridge
 * forwards from such a port go to another port of the same bridge.
 */
export const BRIDGE_TABLE = `
table bridge ${TABLE} {
  comment "nsnet: inter-container traffic of icc-off networks"
${declarations('bridge')}
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname @icc_off_ports drop
  }
}
`;
