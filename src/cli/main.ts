/** The `nsnet` command: parses the command line and turns every failure into one line. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError } from 'commander';

import { endQuietlyOnClosedPipe, exitWhenWritten } from './exit';
import { errorLine, exitStatusFor, UsageError } from './output';

/**
 * The commands, in the order help lists them. Each is made, and its modules
 * loaded, only when it runs or help lists them all: a listing needs none of
 * what makes and removes networks.
 */
const COMMANDS: Record<string, () => Command> = {
  run: () => (require('./commands/run') as typeof import('./commands/run')).runCommand(),
  network: () => (require('./commands/network') as typeof import('./commands/network')).networkCommand(),
  ps: () => (require('./commands/ps') as typeof import('./commands/ps')).psCommand(),
  stats: () => (require('./commands/stats') as typeof import('./commands/stats')).statsCommand(),
  rm: () => (require('./commands/rm') as typeof import('./commands/rm')).rmCommand(),
  netns: () => (require('./commands/netns') as typeof import('./commands/netns')).netnsCommand(),
  reconcile: () => (require('./commands/reconcile') as typeof import('./commands/reconcile')).reconcileCommand(),
  topology: () => (require('./commands/topology') as typeof import('./commands/topology')).topologyCommand(),
  monitor: () => (require('./commands/monitor') as typeof import('./commands/monitor')).monitorCommand(),
  cni: () => (require('./commands/cni') as typeof import('./commands/cni')).cniCommand(),
  dns: () => (require('./commands/dns') as typeof import('./commands/dns')).dnsCommand(),
  demo: () => (require('./commands/demo') as typeof import('./commands/demo')).demoCommand(),
  overlay: () => (require('./commands/overlay') as typeof import('./commands/overlay')).overlayCommand(),
};

/** Commands nsnet runs itself, left out of help. */
const HIDDEN = new Set(['overlay']);

function version(): string {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

/** Every command reports errors by throwing; none writes its own usage errors. */
function quiet(command: Command): void {
  command.exitOverride().configureOutput({ outputError: () => undefined });
  for (const sub of command.commands) quiet(sub);
}

/**
 * The command line's parser. Given the command a command line names (its
 * first word), only that command is made; otherwise (help, a version, a
 * word that is no command) all of them, for help to list and suggest.
 */
export function program(commandName?: string): Command {
  const nsnet = new Command('nsnet')
    .description('Docker-grade container networking on Linux, without Docker')
    .version(version(), '-V, --version')
    .enablePositionalOptions();
  const named = commandName !== undefined && Object.hasOwn(COMMANDS, commandName);
  for (const name of named ? [commandName] : Object.keys(COMMANDS)) nsnet.addCommand(COMMANDS[name](), { hidden: HIDDEN.has(name) });
  nsnet.addHelpText(
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
    await program(argv[2]).parseAsync(argv);
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
