/** `nsnet monitor`: changes of links, addresses, routes and neighbours as they happen, as `ip monitor`. */
import { Command } from 'commander';

import { NetNamespace } from '../../netns';
import { eventLine } from '../event-line';

const ENDING_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('print each change of links, addresses, routes and neighbour entries as it happens, until SIGINT or SIGTERM')
    .option('--json', 'one JSON object per line')
    .option('--netns <name>', 'watch this named namespace (default: the one nsnet runs in)')
    .action(async (options: { json?: boolean; netns?: string }) => {
      const ns = options.netns === undefined ? NetNamespace.host() : await NetNamespace.open(options.netns);
      const events = ns.events();
      // A signal ends the iteration: the loop below finishes and the socket is closed.
      const end = (): void => events.close();
      for (const signal of ENDING_SIGNALS) process.on(signal, end);
      try {
        await events.opened;
        process.stderr.write(`watching ${ns.label}\n`);
        for await (const event of events) process.stdout.write(`${options.json ? JSON.stringify(event) : eventLine(event)}\n`);
      } finally {
        for (const signal of ENDING_SIGNALS) process.off(signal, end);
        events.close();
        ns.close();
      }
    });
}
