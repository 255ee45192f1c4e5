// `nsnet topology` drawings from a given model, with no privileges.
import { expect } from 'chai';

import { topologyDot } from '../../dist/cli/topology/dot.js';
import { topologyText } from '../../dist/cli/topology/text.js';

const endpoint = (hostIfname, ipv4, extra = {}) => ({
  hostIfname,
  hostLink: 'up',
  onBridge: true,
  containers: [],
  netns: `/run/netns/${hostIfname}`,
  ifname: 'eth0',
  ipv4,
  mac: '02:00:00:00:00:01',
  ports: [],
  ...extra,
});

const model = {
  host: { netnsInode: 4026531840 },
  networks: [
    {
      name: 'web',
      bridge: 'nsbr-web',
      bridgeLink: 'up',
      missingGateways: [],
      subnet: '10.90.1.0/24',
      gateway: '10.90.1.1',
      ipv6: 'fd00:5a::/64',
      internal: false,
      icc: false,
      masquerade: true,
      firewall: 'nftables',
      endpoints: [
        endpoint('vetha', '10.90.1.2', {
          containers: ['web1', 'side'],
          ipv6: 'fd00:5a::2',
          ports: [
            { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
            { hostIp: '::', hostPort: 53, containerPort: 53, protocol: 'udp' },
          ],
        }),
        endpoint('vethb', '10.90.1.3', { hostLink: 'missing', onBridge: false }),
      ],
    },
    {
      name: 'db "quoted"',
      bridge: 'nsbr-db',
      bridgeLink: 'down',
      missingGateways: [],
      subnet: '10.90.2.0/24',
      internal: true,
      icc: true,
      masquerade: true,
      firewall: 'iptables',
      endpoints: [],
    },
  ],
  unattached: [
    { id: 'tool', mode: 'host' },
    { id: 'sealed', mode: 'none', netns: '/run/netns/sealed' },
  ],
};

describe('topology drawing', () => {
  it('draws host → bridges → endpoints → namespaces as a tree', () => {
    expect(topologyText(model)).to.equal(
      [
        'host (netns inode 4026531840)',
        '├── nsbr-web  network "web"  10.90.1.0/24 fd00:5a::/64 gateway 10.90.1.1  (masquerade, icc off, firewall nftables)',
        '│   ├── vetha ⇄ eth0 10.90.1.2 fd00:5a::2 02:00:00:00:00:01  web1, side (netns /run/netns/vetha)',
        '│   │     published 0.0.0.0:8080->80/tcp',
        '│   │     published [::]:53->53/udp',
        '│   └── vethb [MISSING] ⇄ eth0 10.90.1.3 02:00:00:00:00:01  endpoint (netns /run/netns/vethb)',
        '├── nsbr-db [DOWN]  network "db "quoted""  10.90.2.0/24  (internal, firewall iptables)',
        '│   └── (no endpoints)',
        '├── tool  host',
        '└── sealed  none (netns /run/netns/sealed)',
        '',
      ].join('\n'),
    );
  });

  describe('a network that lost something', () => {
    const broken = {
      host: { netnsInode: 1 },
      networks: [
        {
          ...model.networks[0],
          missingGateways: ['10.90.1.1/24', 'fd00:5a::1/64'],
          endpoints: [endpoint('vethc', '10.90.1.4', { onBridge: false }), endpoint('vethd', '10.90.1.5', { hostLink: 'down' })],
        },
      ],
      unattached: [],
    };

    it('marks a bridge without its gateway addresses, and a host end off its bridge, in the tree', () => {
      const lines = topologyText(broken).split('\n');
      expect(lines[1]).to.match(/^└── nsbr-web \[NO GATEWAY 10\.90\.1\.1\/24 fd00:5a::1\/64\]  network "web"/);
      expect(lines[2]).to.match(/^    ├── vethc \[OFF BRIDGE\] ⇄ eth0 10\.90\.1\.4 /);
      expect(lines[3]).to.match(/^    └── vethd \[DOWN\] ⇄ eth0 10\.90\.1\.5 /);
    });

    it('draws them dashed in Graphviz, and says why', () => {
      const dot = topologyDot(broken);
      expect(dot).to.contain('\\nno gateway 10.90.1.1/24 fd00:5a::1/64", style=dashed]');
      expect(dot).to.contain('[label="vethc (off bridge)", style=dashed];');
      expect(dot).to.contain('[label="vethd", style=dashed];');
    });
  });

  it('says so when there is nothing', () => {
    expect(topologyText({ host: { netnsInode: 1 }, networks: [], unattached: [] })).to.equal('host (netns inode 1)\n└── (no networks)\n');
  });

  it('writes Graphviz with every name quoted and missing links dashed', () => {
    const dot = topologyDot(model);
    expect(dot).to.match(/^digraph nsnet \{\n/);
    expect(dot).to.match(/\}\n$/);
    expect(dot).to.contain('"bridge:nsbr-web" -> "netns:/run/netns/vetha" [label="vetha"];');
    expect(dot).to.contain('"bridge:nsbr-web" -> "netns:/run/netns/vethb" [label="vethb", style=dashed];');
    expect(dot).to.contain('label="nsbr-db\\nnetwork db \\"quoted\\"\\n10.90.2.0/24\\ninternal", style=dashed]');
    expect(dot).to.contain('label="web1, side\\neth0 10.90.1.2\\nfd00:5a::2\\n0.0.0.0:8080->80/tcp\\n[::]:53->53/udp"');
    expect(dot).to.contain('host -> "container:tool" [style=dotted];');
  });
});
