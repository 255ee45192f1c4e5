/** `nsnet network create|ls|inspect|rm|connect|disconnect`: networks, as `docker network`. */
import { Command, InvalidArgumentError, Option } from 'commander';

import { type ListedEndpoint, listedEndpoints, networkRecord, networkRecords } from '../../network/listing';
import { type BridgeNetworkOptions, FIREWALL_BACKENDS, NETWORK_DRIVERS, networkDriver, type NetworkRecord, resolvesNames } from '../../types/network';
import { addressingOptions, type CreateOptions } from './network-create-options';
import { createOverlayFromCli, type OverlayCreateOptions, refuseOverlayFlags } from './network-overlay';
import { createRoutedFromCli } from './network-routed';
import { fieldLines, formatPort, printJson, printTable, withProgress } from '../output';
import { gatewayMode, trustedHostInterfaces } from '../../types/gateway-mode';
import { collect, integer } from '../options';
import { addConnectCommands } from './network-connect';
import { applyDriverOpts, applyGatewayFlags } from './network-driver-opts';
import { createLanNetwork } from './network-lan';

/** `--ipv4=false` as Docker writes it, `--ipv4 true`, or `--no-ipv4`. */
function ipv4Flag(value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new InvalidArgumentError('true or false');
}

export function networkCommand(): Command {
  const network = new Command('network').description('create, list, inspect and remove networks; connect and disconnect containers');
  network
    .command('create')
    .description('create a network (or confirm an identical one)')
    .argument('<name>', 'network name, [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}')
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
    .option('--ipv4 <bool>', 'false: an IPv6-only network (needs --ipv6-subnet), as Docker\'s --ipv4=false', ipv4Flag)
    .option('--no-ipv4', 'the same as --ipv4=false')
    .option('--gateway-mode <mode>', 'gateway mode of both families: nat (default), nat-unprotected, routed, isolated (needs --internal)')
    .option('--gateway-mode-ipv4 <mode>', 'gateway mode of IPv4 only')
    .option('--gateway-mode-ipv6 <mode>', 'gateway mode of IPv6 only')
    .option('--trusted-host-interface <name>', 'a host interface whose packets may reach published ports by the container\'s address (repeatable)', collect, [])
    .option('-o, --opt <key=value>', 'a driver option: bridge, as com.docker.network.bridge.gateway_mode_ipv4=routed; macvlan_mode, ipvlan_mode, ipvlan_flag, parent (repeatable)', collect, [])
    .addOption(new Option('-d, --driver <driver>', 'network driver').choices(NETWORK_DRIVERS).default('bridge'))
    .option('--parent <device>', 'macvlan, ipvlan: the host interface the containers hang off (eth0.10 is made when missing)')
    .option('--ip-range <cidr>', 'hand out addresses from this prefix of the subnet only')
    .option('--aux-address <name=address>', 'an address never handed out (repeatable)', collect, [])
    .option('--host-interface <name=address>', 'macvlan: a macvlan of the parent on the host with this address, so the host reaches the containers')
    .option('--store <urls>', 'overlay: the etcd store the network lives in (http(s) URLs, comma-separated)')
    .option('--vni <n>', 'overlay: the VXLAN network identifier (default: the lowest free from 4096)', integer)
    .option('--underlay <address>', "overlay: this host's address on the underlay (default: the one that reaches the store)")
    .option('--vxlan-port <port>', 'overlay: UDP port of the VXLAN traffic (default 4789)', integer)
    .option('--lease-ttl <seconds>', "overlay: how long this host's containers stay known to the others once its agent is gone (default 15)", integer)
    .option('--json', 'print the network as JSON')
    .action(async (name: string, options: CreateOptions & OverlayCreateOptions) => {
      const { createBridgeNetwork } = await changes();
      refuseOverlayFlags(options);
      const create = {
        bridge: () => createBridgeNetwork(networkOptions(name, options)),
        routed: () => createRoutedFromCli(name, options),
        macvlan: () => createLanNetwork(name, options),
        ipvlan: () => createLanNetwork(name, options),
        overlay: () => createOverlayFromCli(name, options),
      }[options.driver];
      const net = await withProgress(`creating network ${name}`, create);
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
          // An overlay network's bridge is this host's; its VXLAN device is in inspect.
          networkDriver(net) === 'routed' ? '-' : net.bridge,
          net.subnet ?? '-',
          net.internal || net.gateway === undefined ? '-' : net.gateway,
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
      const details = networks.map((network) => ({ network: inspected(network), endpoints: endpoints.filter((e) => e.network === network.name) }));
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
  addConnectCommands(network);
  return network;
}

/** What makes and removes networks, loaded only by the commands that do (listing needs none of it). */
function changes(): Promise<typeof import('../../network/network')> {
  return import('../../network/network');
}

function networkOptions(name: string, options: CreateOptions): BridgeNetworkOptions {
  const wanted: BridgeNetworkOptions = { name, masquerade: options.masquerade, icc: options.icc, ...addressingOptions(options, 'bridge') };
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
  if (options.ipv4 === false) wanted.ipv4 = false;
  applyDriverOpts(wanted, options.opt);
  applyGatewayFlags(wanted, options);
  if (options.trustedHostInterface.length) wanted.trustedHostInterfaces = [...(wanted.trustedHostInterfaces ?? []), ...options.trustedHostInterface];
  return wanted;
}

/** A record as inspect shows it: with what absent fields mean (names resolved, gateway modes, trusted interfaces). */
function inspected(network: NetworkRecord): NetworkRecord {
  return {
    ...network,
    dns: resolvesNames(network),
    gatewayMode: { ipv4: gatewayMode(network, 4), ipv6: gatewayMode(network, 6) },
    trustedHostInterfaces: trustedHostInterfaces(network),
  };
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
