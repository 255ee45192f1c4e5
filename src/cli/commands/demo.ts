/** `nsnet demo`: the whole of nsnet at work, in a throw-away sandbox. */
import { Command } from 'commander';

import { runDemo } from '../demo/demo';
import { inOwnSandbox, runInOwnSandbox } from '../sandbox';

export function demoCommand(): Command {
  return new Command('demo')
    .description("show nsnet at work in a throw-away sandbox (the machine's own network is not touched)")
    .option('--shell', "before removing it all, a shell in the demo's world (wan, containers and the published port up)")
    .action(async (options: { shell?: boolean }) => {
      if (inOwnSandbox()) await runDemo(options);
      else process.exitCode = await runInOwnSandbox(['demo', ...(options.shell ? ['--shell'] : [])]);
    });
}
