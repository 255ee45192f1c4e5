/** `nsnet demo`: the whole of nsnet at work, in a throw-away sandbox. */
import { Command } from 'commander';

import { runDemo } from '../demo/demo';
import { inOwnSandbox, runInOwnSandbox } from '../sandbox';

export function demoCommand(): Command {
  return new Command('demo')
    .description("show nsnet at work in a throw-away sandbox (the machine's own network is not touched)")
    .action(async () => {
      if (inOwnSandbox()) await runDemo();
      else process.exitCode = await runInOwnSandbox(['demo']);
    });
}
