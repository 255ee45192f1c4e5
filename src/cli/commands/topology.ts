/** `nsnet topology`: what is connected to what, drawn in the terminal or as Graphviz. */
import { Command } from 'commander';

import { NetNamespace } from '../../netns';
import { printJson } from '../output';
import type { Topology } from '../topology/model';

export function topologyCommand(): Command {
  return new Command('topology')
    .description('draw host → bridges → endpoints → namespaces, with addresses and published ports')
    .option('--dot', 'write Graphviz instead (nsnet topology --dot | dot -Tsvg > topology.svg)')
    .option('--json', 'print JSON')
    .action(async (options: { dot?: boolean; json?: boolean }) => {
      // The host's netlink socket opens on a worker thread while this one loads what reads the records (a failure is readTopology's to report).
      NetNamespace.host().connection().catch(() => undefined);
      const { readTopology } = require('../topology/model') as typeof import('../topology/model');
      const topology = await readTopology();
      if (options.json) printJson(topology);
      else process.stdout.write(options.dot ? topologyDot(topology) : topologyText(topology));
    });
}

/** The drawings, loaded only when asked for. */
const topologyText = (topology: Topology): string => (require('../topology/text') as typeof import('../topology/text')).topologyText(topology);
const topologyDot = (topology: Topology): string => (require('../topology/dot') as typeof import('../topology/dot')).topologyDot(topology);
