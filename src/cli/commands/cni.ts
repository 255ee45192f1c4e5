/** `nsnet cni serve|install`: the fast path of the CNI plugin. */
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';

import { Command } from 'commander';

import { invalid } from '../../errors';
import { cniFrontEndPath } from '../../native';
import { cniSocketPath, DEFAULT_CNI_SOCKET, runCniService } from '../../cni/service';
import { integer } from '../options';

export function cniCommand(): Command {
  const cni = new Command('cni').description('the CNI plugin: a service for its fast path, and installing it');
  cni
    .command('serve')
    .description('answer the nsnet-cni front end over a unix socket (runs until SIGTERM or SIGINT)')
    .option('--socket <path>', `socket path (default: $NSNET_CNI_SOCKET or ${DEFAULT_CNI_SOCKET})`)
    .option('--idle-exit <seconds>', 'leave after this many seconds without a request', integer)
    .action(async (options: { socket?: string; idleExit?: number }) => {
      await runCniService(options.socket ?? cniSocketPath(), options.idleExit === undefined ? undefined : options.idleExit * 1000);
    });
  cni
    .command('install')
    .description('link the plugin into a CNI plugin directory')
    .option('--dir <path>', 'CNI plugin directory', '/opt/cni/bin')
    .option('--name <type>', 'the plugin name, as "type" in network configs', 'nsnet-cni')
    .action(async (options: { dir: string; name: string }) => {
      if (!/^[a-zA-Z0-9_.-]+$/.test(options.name)) throw invalid(`not a plugin name: ${options.name}`);
      const target = join(options.dir, options.name);
      const frontEnd = cniFrontEndPath();
      await mkdir(options.dir, { recursive: true });
      await rm(target, { force: true }); // a link left by an earlier install, dangling or not
      // A link, not a copy: the front end finds the node fallback beside its real path.
      await symlink(frontEnd, target);
      process.stdout.write(`${target} -> ${frontEnd}\n`);
    });
  return cni;
}
