/** The `nsnet` command: parses the command line and turns every failure into one line. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError } from 'commander';

import { cniCommand } from './commands/cni';
import { demoCommand } from './commands/demo';
import { netnsCommand } from './commands/netns';
import { networkCommand } from './commands/network';
import { psCommand } from './commands/ps';
import { reconcileCommand } from './commands/reconcile';
import { rmCommand } from './commands/rm';
import { runCommand } from './commands/run';
import { topologyCommand } from './commands/topology';
import { endQuietlyOnClosedPipe, exitWhenWritten } from './exit';
import { errorLine, exitStatusFor, UsageError } from './output';

function version(): string {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

/** Every command reports errors by throwing; none writes its own usage errors. */
function quiet(command: Command): void {
  command.exitOverride().configureOutput({ outputError: () => undefined });
  for (const sub of command.commands) quiet(sub);
}

export function program(): Command {
  const nsnet = new Command('nsnet')
    .description('Docker-grade container networking on Linux, without Docker')
    .version(version(), '-V, --version')
    .enablePositionalOptions()
    .addCommand(runCommand())
    .addCommand(networkCommand())
    .addCommand(psCommand())
    .addCommand(rmCommand())
    .addCommand(netnsCommand())
    .addCommand(reconcileCommand())
    .addCommand(topologyCommand())
    .addCommand(cniCommand())
    .addCommand(demoCommand())
    .addHelpText(
      'after',
      `
Environment: NSNET_STATE_DIR (default /var/lib/nsnet), NSNET_NETNS_DIR (default /run/netns),
NSNET_DEBUG=1 (stack traces on errors).
Run 'nsnet COMMAND --help' for a command's options.`,
    );
  quiet(nsnet);
  return nsnet;
}

/** What the command line turned into, as the one error line. */
function usageError(error: CommanderError): UsageError {
  return new UsageError(error.message.replace(/^error: /, ''));
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (caught) {
    if (caught instanceof CommanderError && caught.exitCode === 0) return 0; // --help, --version
    if (caught instanceof CommanderError && caught.code === 'commander.help') return 2; // no command: help shown
    const error = caught instanceof CommanderError ? usageError(caught) : caught;
    process.stderr.write(errorLine(error) + '\n');
    if (process.env.NSNET_DEBUG === '1' && caught instanceof Error) process.stderr.write(`${caught.stack}\n`);
    return exitStatusFor(error);
  }
}

/** bin/nsnet.js: the command, ended once its output is written, whatever its size. */
export function run(argv: string[]): void {
  endQuietlyOnClosedPipe();
  void main(argv).then(exitWhenWritten);
}
