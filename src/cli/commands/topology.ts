/** `nsnet topology`: what is connected to what, drawn in the terminal or as Graphviz. */
import { Command } from 'commander';

import { printJson } from '../output';
import { readTopology, type Topology } from '../topology/model';
import { topologyText } from '../topology/text';

/** Graphviz's drawing, loaded only when asked for. */
const topologyDot = (topology: Topology): string => (require('../topology/dot') as typeof import('../topology/dot')).topologyDot(topology);

export function topologyCommand(): Command {
  return new Command('topology')
    .description('draw host → bridges → endpoints → namespaces, with addresses and published ports')
    .option('--dot', 'write Graphviz instead (nsnet topology --dot | dot -Tsvg > topology.svg)')
    .option('--json', 'print JSON')
    .action(async (options: { dot?: boolean; json?: boolean }) => {
      const topology = await readTopology();
      if (options.json) printJson(topology);
      else process.stdout.write(options.dot ? topologyDot(topology) : topologyText(topology));
    });
}
