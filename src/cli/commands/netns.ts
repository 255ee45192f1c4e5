/** `nsnet netns add|ls|rm|exec`: named network namespaces, as `ip netns`. */
import { Command } from 'commander';

import { NetNamespace } from '../../netns';
import { printJson, printTable, UsageError } from '../output';
import { exitStatus, SignalRelay, waitForExit } from '../signal-relay';

export function netnsCommand(): Command {
  const netns = new Command('netns')
    .description('add, list, remove named network namespaces and run programs in them')
    .enablePositionalOptions();
  netns
    .command('add')
    .description('create named namespaces (with lo up), visible to `ip netns`')
    .argument('<name...>', 'namespace names')
    .action(async (names: string[]) => {
      for (const name of names) {
        const ns = await NetNamespace.create(name);
        try {
          await ns.links.set('lo', { up: true });
        } finally {
          ns.close();
        }
        process.stdout.write(`${ns.path}\n`);
      }
    });
  netns
    .command('ls')
    .alias('list')
    .description('list named namespaces')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const all = await NetNamespace.list();
      const rows = all.map((ns) => ({ name: ns.name as string, path: ns.path, inode: ns.inode }));
      if (options.json) printJson(rows);
      else printTable(['NAME', 'INODE', 'PATH'], rows.map((r) => [r.name, String(r.inode), r.path]));
    });
  netns
    .command('rm')
    .alias('delete')
    .description('delete named namespaces (the kernel removes their interfaces)')
    .argument('<name...>', 'namespace names')
    .action(async (names: string[]) => {
      for (const name of names) {
        await (await NetNamespace.open(name)).delete();
        process.stdout.write(`${name}\n`);
      }
    });
  netns
    .command('exec')
    .description('run COMMAND inside a namespace; exits with its status')
    .usage('[options] <name> [--] COMMAND [ARGS...]')
    .argument('<name>', 'namespace name or path')
    .argument('<command>', 'program to run')
    .argument('[args...]', 'its arguments')
    .passThroughOptions()
    .action(async (name: string, command: string, args: string[]) => {
      // After the first operand options pass through, so `NAME -- COMMAND` keeps its `--`.
      if (command === '--') [command, ...args] = args;
      if (command === undefined) throw new UsageError("missing required argument 'command'");
      const ns = await NetNamespace.open(name);
      const signals = new SignalRelay();
      try {
        process.exitCode = exitStatus(await waitForExit(ns.spawn(command, args, { stdio: 'inherit' }), signals));
      } finally {
        signals.stop();
        ns.close();
      }
    });
  return netns;
}
