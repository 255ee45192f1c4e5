/** `nsnet dns serve|status`: the resolver that lets containers find each other by name. */
import { Command } from 'commander';

import { dnsStatus } from '../../dns/client';
import { DEFAULT_DNS_SOCKET, dnsSocketPath } from '../../dns/socket-path';
import { integer } from '../options';

/** How long a service started on demand stays with no names, unless told. */
const ON_DEMAND_IDLE_EXIT_MS = 60_000;

export function dnsCommand(): Command {
  const dns = new Command('dns').description('the resolver service: containers on a user network find each other by name');
  dns
    .command('serve')
    .description('answer containers on each DNS-enabled network\'s gateway, port 53 (runs until SIGTERM or SIGINT)')
    .option('--socket <path>', `control socket (default: $NSNET_DNS_SOCKET or ${DEFAULT_DNS_SOCKET})`)
    .option('--on-demand', `started by a connect: leave after a while with no names (${ON_DEMAND_IDLE_EXIT_MS / 1000} s unless --idle-exit-ms)`)
    .option('--idle-exit-ms <ms>', 'with --on-demand: leave after this many milliseconds with no names', integer)
    .action(async (options: { socket?: string; onDemand?: boolean; idleExitMs?: number }) => {
      const socket = options.socket ?? dnsSocketPath();
      process.env.NSNET_DNS_SOCKET = socket;
      // Loaded here: status needs none of the service.
      const { runDnsService } = require('../../dns/service') as typeof import('../../dns/service');
      await runDnsService(socket, options.onDemand ? (options.idleExitMs ?? ON_DEMAND_IDLE_EXIT_MS) : undefined);
    });
  dns
    .command('status')
    .description('the running service: its networks and how many names it answers')
    .option('--json', 'one JSON object')
    .option('--socket <path>', `control socket (default: $NSNET_DNS_SOCKET or ${DEFAULT_DNS_SOCKET})`)
    .action(async (options: { json?: boolean; socket?: string }) => {
      if (options.socket) process.env.NSNET_DNS_SOCKET = options.socket;
      const status = await dnsStatus();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status ?? null)}\n`);
      } else if (!status) {
        process.stdout.write(`no resolver service answers on ${dnsSocketPath()}\n`);
      } else {
        process.stdout.write(`resolver service pid ${status.pid}: ${status.names} name${status.names === 1 ? '' : 's'}\n`);
        for (const network of status.networks) {
          const gateways = [network.gateway, network.gateway6].filter(Boolean).join(', ');
          process.stdout.write(`  ${network.name}: ${gateways} port 53, ${network.endpoints} endpoint${network.endpoints === 1 ? '' : 's'}\n`);
        }
      }
      if (!status) process.exitCode = 1;
    });
  return dns;
}
