/** `nsnet rm`: tear down containers, such as one left by an `nsnet run` that was killed. */
import { Command } from 'commander';

import { teardownContainer } from '../../network/containers';
import { leftRunningNote } from '../output';

export function rmCommand(): Command {
  return new Command('rm')
    .description('tear down containers: release addresses and ports, delete their namespaces')
    .argument('<id...>', 'container ids (see nsnet ps)')
    .option('-f, --force', 'remove a container even while processes run in its namespace (they are left running, without a network)')
    .action(async (ids: string[], options: { force?: boolean }) => {
      for (const id of ids) {
        const { leftRunning } = await teardownContainer(id, { ifRunning: options.force ? 'remove' : 'refuse' });
        process.stdout.write(`${id}\n`);
        if (leftRunning.length) process.stderr.write(leftRunningNote(id, leftRunning) + '\n');
      }
    });
}
