/** The topology as a tree for the terminal: host → bridges → endpoints → namespaces. */
import { formatPort } from '../output';
import type { LinkState, Topology, TopologyEndpoint, TopologyNetwork } from './model';

/** Draws `children` under a parent, each a list of lines whose first line gets the branch. */
function branches(children: string[][]): string[] {
  return children.flatMap((lines, i) => {
    const last = i === children.length - 1;
    return lines.map((line, j) => (j === 0 ? (last ? '└── ' : '├── ') : last ? '    ' : '│   ') + line);
  });
}

const state = (link: LinkState) => (link === 'up' ? '' : ` [${link.toUpperCase()}]`);
/** A host end that exists but is no port of its bridge. */
const offBridge = (e: TopologyEndpoint) => (e.hostLink !== 'missing' && !e.onBridge ? ' [OFF BRIDGE]' : '');
const missingGateways = (net: TopologyNetwork) => (net.bridgeLink !== 'missing' && net.missingGateways.length ? ` [NO GATEWAY ${net.missingGateways.join(' ')}]` : '');

function endpointLines(e: TopologyEndpoint): string[] {
  const who = e.containers.length ? e.containers.join(', ') : 'endpoint';
  const addresses = [e.ipv4, e.ipv6].filter(Boolean).join(' ');
  const lines = [`${e.hostIfname}${state(e.hostLink)}${offBridge(e)} ⇄ ${e.ifname} ${addresses} ${e.mac}  ${who} (netns ${e.netns})`];
  for (const port of e.ports) lines.push(`  published ${formatPort(port)}`);
  return lines;
}

function networkLines(net: TopologyNetwork): string[] {
  const flags = [
    net.driver === 'routed' ? 'routed' : '',
    net.internal ? 'internal' : net.masquerade ? 'masquerade' : 'no masquerade',
    net.icc ? '' : 'icc off',
    `firewall ${net.firewall}`,
  ].filter(Boolean);
  const addresses = [net.subnet, net.ipv6 ?? '', net.gateway ? `gateway ${net.gateway}` : ''].filter(Boolean).join(' ');
  const head = `${net.bridge}${state(net.bridgeLink)}${missingGateways(net)}  network "${net.name}"  ${addresses}  (${flags.join(', ')})`;
  const children = net.endpoints.map(endpointLines);
  return [head, ...(children.length ? branches(children) : ['└── (no endpoints)'])];
}

export function topologyText(topology: Topology): string {
  const children = topology.networks.map(networkLines);
  for (const c of topology.unattached) {
    children.push([`${c.id}  ${c.mode}${c.netns ? ` (netns ${c.netns})` : ''}`]);
  }
  const lines = [`host (netns inode ${topology.host.netnsInode})`, ...branches(children)];
  if (!children.length) lines.push('└── (no networks)');
  return lines.join('\n') + '\n';
}
