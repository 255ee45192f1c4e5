/** The topology as Graphviz: `nsnet topology --dot | dot -Tsvg > net.svg`. */
import { formatPort } from '../output';
import type { Topology } from './model';

const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

export function topologyDot(topology: Topology): string {
  const lines = ['digraph nsnet {', '  rankdir=LR;', '  node [fontname="monospace"];'];
  lines.push(`  host [shape=box3d, label=${quote(`host\nnetns ${topology.host.netnsInode}`)}];`);
  for (const net of topology.networks) {
    const bridge = quote(`bridge:${net.bridge}`);
    const noGateway = net.missingGateways.length ? `no gateway ${net.missingGateways.join(' ')}` : '';
    const label = [net.bridge, `network ${net.name}`, net.driver ?? '', net.subnet ?? '', net.ipv6 ?? '', net.internal ? 'internal' : '', noGateway].filter(Boolean).join('\n');
    const whole = net.bridgeLink === 'up' && !noGateway;
    lines.push(`  ${bridge} [shape=box, label=${quote(label)}${whole ? '' : ', style=dashed'}];`);
    lines.push(`  host -> ${bridge};`);
    for (const e of net.endpoints) {
      const node = quote(`netns:${e.netns}`);
      const who = e.containers.length ? e.containers.join(', ') : e.netns;
      const label = [who, [e.ifname, e.ipv4].filter(Boolean).join(' '), e.ipv6 ?? '', ...e.ports.map(formatPort)].filter(Boolean).join('\n');
      lines.push(`  ${node} [shape=ellipse, label=${quote(label)}];`);
      const offBridge = e.hostLink !== 'missing' && !e.onBridge;
      const edge = offBridge ? `${e.hostIfname} (off bridge)` : e.hostIfname;
      lines.push(`  ${bridge} -> ${node} [label=${quote(edge)}${e.hostLink === 'up' && e.onBridge ? '' : ', style=dashed'}];`);
    }
  }
  for (const c of topology.unattached) {
    lines.push(`  ${quote(`container:${c.id}`)} [shape=ellipse, style=dotted, label=${quote(`${c.id}\n${c.mode}`)}];`);
    if (c.mode === 'host') lines.push(`  host -> ${quote(`container:${c.id}`)} [style=dotted];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}
