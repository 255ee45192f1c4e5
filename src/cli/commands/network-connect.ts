/** `nsnet network connect|disconnect`: a namespace (a container's) on one more network, as `docker network connect`. */
import type { Command } from 'commander';

import { collect, signedInteger } from '../options';
import { printJson, withProgress } from '../output';

interface ConnectFlags {
  ip?: string;
  ip6?: string;
  mac?: string;
  ifname?: string;
  alias: string[];
  gwPriority?: number;
  json?: boolean;
}

const TARGET = "a container's id (its namespace's name), a namespace's name or a path";

export function addConnectCommands(network: Command): void {
  network
    .command('connect')
    .description('connect a container (its namespace) to one more network: its next interface, eth1, eth2 ...')
    .argument('<network>', 'network name')
    .argument('<target>', TARGET)
    .option('--ip <address>', 'IPv4 address on the network')
    .option('--ip6 <address>', 'IPv6 address on the network')
    .option('--mac <address>', 'MAC address of the interface')
    .option('--ifname <name>', 'interface name inside (default: the lowest free ethN)')
    .option('--alias <name>', 'a name the container is found by on the network (repeatable)', collect, [])
    .option('--gw-priority <n>', 'of its networks, the one with the highest priority gives the default route (default 0)', signedInteger)
    .option('--json', 'print the endpoint as JSON')
    .action(async (name: string, target: string, flags: ConnectFlags) => {
      const { getNetwork } = await import('../../network/network');
      const net = await getNetwork(name);
      const endpoint = await withProgress(`connecting ${target} to ${name}`, () =>
        net.connect(target, {
          ip: flags.ip,
          ipv6: flags.ip6,
          mac: flags.mac,
          ifname: flags.ifname,
          aliases: flags.alias,
          gwPriority: flags.gwPriority,
        }),
      );
      endpoint.netns.close();
      if (flags.json) printJson({ ...endpoint, netns: endpoint.netns.path });
      else process.stdout.write(`${endpoint.ifname} ${[endpoint.ipv4, endpoint.ipv6].filter(Boolean).join(' ')}\n`);
    });
  network
    .command('disconnect')
    .description('disconnect a container (its namespace) from a network; its default route moves to the next network')
    .argument('<network>', 'network name')
    .argument('<target>', TARGET)
    .action(async (name: string, target: string) => {
      const { getNetwork } = await import('../../network/network');
      const net = await getNetwork(name);
      await withProgress(`disconnecting ${target} from ${name}`, () => net.disconnect(target));
    });
}
