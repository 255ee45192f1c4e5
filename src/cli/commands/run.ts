/** `nsnet run`: Docker's `run` for a plain process, with the container network around it. */
import { randomBytes } from 'node:crypto';

import { Command } from 'commander';

import { NsnetError } from '../../errors';
import { setupContainer, teardownContainer, type Container } from '../../network/containers';
import type { BandwidthOptions } from '../../types/bandwidth';
import { isDnsName } from '../../types/dns';
import { errorLine, formatPort, leftRunningNote } from '../output';
import { collect, signedInteger } from '../options';
import { SignalRelay, waitForExit, exitStatus, type Exit } from '../signal-relay';

/** Exit statuses of nsnet itself, as `docker run` uses them. */
const SETUP_FAILED = 125;

interface RunOptions {
  name?: string;
  network: string;
  publish: string[];
  ip?: string;
  ip6?: string;
  mac?: string;
  ingressRate?: string;
  ingressBurst?: string;
  egressRate?: string;
  egressBurst?: string;
  networkAlias: string[];
  gwPriority?: number;
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
}

/** The limits the flags ask for; a burst without its rate goes on, to be refused with INVALID_BANDWIDTH. */
function bandwidthOf(options: RunOptions): BandwidthOptions | undefined {
  const bandwidth: BandwidthOptions = {};
  for (const [direction, rate, burst] of [
    ['ingress', options.ingressRate, options.ingressBurst],
    ['egress', options.egressRate, options.egressBurst],
  ] as const) {
    if (rate !== undefined || burst !== undefined) bandwidth[direction] = { ...(rate === undefined ? {} : { rate }), ...(burst === undefined ? {} : { burst }) };
  }
  return bandwidth.ingress || bandwidth.egress ? bandwidth : undefined;
}

export function runCommand(): Command {
  return new Command('run')
    .description('run COMMAND in a new container network; tear it down when COMMAND exits')
    .usage('[options] [--] COMMAND [ARGS...]')
    .option('--name <id>', 'container id, and its name on a network that resolves names (default: 12 random hex digits)')
    .option('--network <mode>', "'bridge', a network's name, 'host', 'none' or 'container:<id>'", 'bridge')
    .option('-p, --publish <spec>', 'publish a port, [hostIp:][hostPort:]containerPort[/proto] (repeatable)', collect, [])
    .option('--ip <address>', 'IPv4 address on the network')
    .option('--ip6 <address>', 'IPv6 address on the network')
    .option('--mac <address>', 'MAC address of the container interface')
    .option('--network-alias <name>', 'another name the container is found by on its network (repeatable)', collect, [])
    .option('--gw-priority <n>', 'its network\'s gateway priority, for when it is connected to more (nsnet network connect; default 0)', signedInteger)
    .option('--dns <address>', 'upstream name server (repeatable)', collect, [])
    .option('--dns-search <domain>', 'search domain of its resolv.conf (repeatable)', collect, [])
    .option('--dns-option <option>', "option of its resolv.conf, as 'ndots:2' (repeatable)", collect, [])
    .option('--ingress-rate <rate>', "limit what the container receives, as tc writes a rate ('10mbit', '1.5gbit', '500kbit')")
    .option('--ingress-burst <size>', "bytes the ingress limit lets through at once ('32kb'; default: 10 ms at the rate, 16kb at least)")
    .option('--egress-rate <rate>', 'limit what the container sends, likewise')
    .option('--egress-burst <size>', 'bytes the egress limit lets through at once, likewise')
    .argument('<command>', 'the program to run inside the container network')
    .argument('[args...]', 'its arguments')
    .passThroughOptions()
    .addHelpText('after', '\nExit status: that of COMMAND (128+N if killed by signal N); 125 if nsnet could not set up the network.')
    .action(async (command: string, args: string[], options: RunOptions) => {
      process.exitCode = await run(command, args, options);
    });
}

async function run(command: string, args: string[], options: RunOptions): Promise<number> {
  const id = options.name ?? randomBytes(6).toString('hex');
  const signals = new SignalRelay();
  let container: Container;
  try {
    container = await setupContainer(id, {
      network: options.network,
      publish: options.publish,
      ip: options.ip,
      ipv6: options.ip6,
      mac: options.mac,
      bandwidth: bandwidthOf(options),
      // A container id that is no DNS name (Docker's allow '..') is no name on the network, as in Docker.
      name: options.name !== undefined && isDnsName(options.name) ? options.name : undefined,
      aliases: options.networkAlias,
      gwPriority: options.gwPriority,
      dns: options.dns,
      dnsSearch: options.dnsSearch,
      dnsOptions: options.dnsOption,
    });
  } catch (error) {
    signals.stop();
    process.stderr.write(errorLine(error) + '\n');
    return SETUP_FAILED;
  }
  let exit: Exit;
  try {
    if (process.stderr.isTTY) process.stderr.write(describe(container) + '\n');
    // A signal that came while the network was being set up ends the run now.
    exit = signals.pending ? { code: null, signal: signals.pending } : await runInside(container, command, args, signals);
  } finally {
    signals.stop();
    // COMMAND has exited; what it left running in the namespace loses the network, and is named.
    await teardownContainer(id).then(
      ({ leftRunning }) => {
        if (leftRunning.length) process.stderr.write(leftRunningNote(id, leftRunning) + '\n');
      },
      (error: unknown) => {
        process.stderr.write(errorLine(error) + '\n');
        if (!(error instanceof NsnetError)) throw error;
      },
    );
  }
  return exitStatus(exit);
}

function runInside(container: Container, command: string, args: string[], signals: SignalRelay): Promise<Exit> {
  return waitForExit(container.netns.spawn(command, args, { stdio: 'inherit' }), signals);
}

function describe(container: Container): string {
  const endpoint = container.endpoint;
  if (!endpoint) return `nsnet: container ${container.id} (${container.mode})`;
  const addresses = [endpoint.ipv4, endpoint.ipv6].filter(Boolean).join(' ');
  const ports = endpoint.ports.map(formatPort).join(', ');
  return `nsnet: container ${container.id} on ${endpoint.network}: ${addresses}${ports ? `, ports ${ports}` : ''}`;
}
