/** `nsnet network create|ls|inspect|rm`: bridge networks, as `docker network`. */
import { Command, Option } from 'commander';

import { type ListedEndpoint, listedEndpoints, networkRecord, networkRecords } from '../../network/listing';
import { type BridgeNetworkOptions, FIREWALL_BACKENDS, type NetworkDriver, type NetworkRecord, networkDriver, resolvesNames } from '../../types/network';
import type { CreateOptions } from './network-create-options';
import { createRoutedFromCli } from './network-routed';
import { fieldLines, formatPort, printJson, printTable, withProgress } from '../output';
import { integer } from '../options';


export function networkCommand(): Command {
  const network = new Command('network').description('create, list, inspect and remove bridge networks');
  network
    .command('create')
    .description('create a bridge network (or confirm an identical one)')
    .argument('<name>', 'network name, [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}')
    .addOption(new Option('--driver <driver>', 'network driver (default bridge)').choices(['bridge', 'routed'] satisfies NetworkDriver[]))
    .option('--bridge <device>', 'bridge device name (default nsbr-<name>)')
    .option('--subnet <cidr>', 'IPv4 subnet (default: the first free /24 of 10.89.0.0/16)')
    .option('--gateway <address>', 'IPv4 gateway (default: the first host address)')
    .option('--ipv6-subnet <cidr>', 'IPv6 subnet, for dual stack')
    .option('--ipv6-gateway <address>', 'IPv6 gateway (default: the first host address)')
    .option('--mtu <bytes>', 'MTU of the bridge and its endpoints', integer)
    .option('--no-masquerade', 'do not masquerade traffic leaving the host')
    .option('--no-icc', 'drop traffic between containers of this network')
    .option('--internal', 'no route out, no NAT, nothing in from outside')
    .option('--host-ip <address>', 'default host address of published ports (default 0.0.0.0)')
    .option('--disable-dns', "containers do not find each other by name (as Podman's flag; the default network 'bridge' never does)")
    .addOption(new Option('--firewall <backend>', 'firewall backend').choices(FIREWALL_BACKENDS))
    .option('--json', 'print the network as JSON')
    .action(async (name: string, options: CreateOptions) => {
      const { createBridgeNetwork } = await changes();
      const net = await withProgress(`creating network ${name}`, () =>
        options.driver === 'routed' ? createRoutedFromCli(name, options) : createBridgeNetwork(networkOptions(name, options)));
      if (options.json) printJson(net.options);
      else process.stdout.write(`${net.name}\n`);
    });
  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const [networks, endpoints] = await Promise.all([networkRecords(), listedEndpoints()]);
      const counts = networks.map((net) => endpoints.filter((e) => e.network === net.name).length);
      if (options.json) {
        printJson(networks.map((net, i) => ({ ...net, endpoints: counts[i] })));
        return;
      }
      printTable(
        ['NAME', 'DRIVER', 'BRIDGE', 'SUBNET', 'GATEWAY', 'IPV6', 'FIREWALL', 'ENDPOINTS'],
        networks.map((net, i) => [
          net.name,
          networkDriver(net),
          // A routed network has no bridge: its record's `bridge` is its host ends' prefix.
          networkDriver(net) === 'routed' ? '-' : net.bridge,
          net.subnet,
          net.internal ? '-' : net.gateway,
          net.ipv6?.subnet ?? '-',
          net.activeFirewall,
          String(counts[i]),
        ]),
      );
    });
  network
    .command('inspect')
    .description('show networks in detail, with their endpoints')
    .argument('<name...>', 'network names')
    .option('--json', 'print JSON')
    .action(async (names: string[], options: { json?: boolean }) => {
      const [networks, endpoints] = await Promise.all([Promise.all(names.map((name) => networkRecord(name))), listedEndpoints()]);
      // Whether it resolves names, also for a record older than the field.
      const details = networks.map((network) => ({ network: { ...network, dns: resolvesNames(network) }, endpoints: endpoints.filter((e) => e.network === network.name) }));
      if (options.json) printJson(details.map((d) => ({ ...d.network, endpoints: d.endpoints })));
      else process.stdout.write(details.map((d) => inspectText(d.network, d.endpoints)).join('\n'));
    });
  network
    .command('rm')
    .alias('remove')
    .description('remove networks (refused while they have endpoints, unless --force)')
    .argument('<name...>', 'network names')
    .option('-f, --force', 'disconnect endpoints first')
    .action(async (names: string[], options: { force?: boolean }) => {
      const { removeNetwork } = await changes();
      for (const name of names) {
        await withProgress(`removing network ${name}`, () => removeNetwork(name, { force: options.force === true }));
        process.stdout.write(`${name}\n`);
      }
    });
  return network;
}

/** What makes and removes networks, loaded only by the commands that do (listing needs none of it). */
function changes(): Promise<typeof import('../../network/network')> {
  return import('../../network/network');
}

function networkOptions(name: string, options: CreateOptions): BridgeNetworkOptions {
  const wanted: BridgeNetworkOptions = { name, masquerade: options.masquerade, icc: options.icc };
  if (options.bridge !== undefined) wanted.bridge = options.bridge;
  if (options.subnet !== undefined) wanted.subnet = options.subnet;
  if (options.gateway !== undefined) wanted.gateway = options.gateway;
  // A gateway without a subnet goes to the library too, which refuses it.
  if (options.ipv6Subnet !== undefined || options.ipv6Gateway !== undefined) {
    wanted.ipv6 = { subnet: options.ipv6Subnet as string };
    if (options.ipv6Gateway !== undefined) wanted.ipv6.gateway = options.ipv6Gateway;
  }
  if (options.mtu !== undefined) wanted.mtu = options.mtu;
  if (options.internal) wanted.internal = true;
  if (options.hostIp !== undefined) wanted.hostIp = options.hostIp;
  if (options.firewall !== undefined) wanted.firewall = options.firewall;
  if (options.disableDns) wanted.dns = false;
  return wanted;
}

function inspectText(network: Readonly<NetworkRecord>, endpoints: ListedEndpoint[]): string {
  const lines = fieldLines(network);
  lines.push(`endpoints: ${endpoints.length ? '' : 'none'}`);
  for (const e of endpoints) {
    const ports = e.ports.map(formatPort).join(', ');
    const names = e.names?.length ? ` names ${e.names.join(', ')}` : '';
    lines.push(`  ${e.netns} ${e.ifname} ${[e.ipv4, e.ipv6].filter(Boolean).join(' ')} ${e.mac} host ${e.hostIfname}${ports ? ` ports ${ports}` : ''}${names}`);
  }
  return lines.join('\n') + '\n';
}
