/** `nsnet rm`: tear down containers, such as one left by an `nsnet run` that was killed. */
import { Command } from 'commander';

import { teardownContainer } from '../../network/containers';

export function rmCommand(): Command {
  return new Command('rm')
    .description('tear down containers: release addresses and ports, delete their namespaces')
    .argument('<id...>', 'container ids (see nsnet ps)')
    .action(async (ids: string[]) => {
      for (const id of ids) {
        await teardownContainer(id);
        process.stdout.write(`${id}\n`);
      }
    });
}
