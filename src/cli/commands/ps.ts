/** `nsnet ps`: containers, and endpoints connected without a container, with addresses and ports. */
import { Command } from 'commander';

import { type ContainerInfo, containersAndEndpoints, type ListedEndpoint, listedEndpoint } from '../../network/listing';
import { formatPort, printJson, printTable } from '../output';

export function psCommand(): Command {
  return new Command('ps')
    .description('list containers and endpoints with their addresses and published ports')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { containers, endpoints } = await containersAndEndpoints(listedEndpoint);
      // Endpoints made with net.connect() rather than setupContainer() (by id: macvlan children share their host side, the parent).
      const owned = new Set(containers.map((c) => c.endpoint?.id).filter(Boolean));
      const loose = endpoints.filter((e) => !owned.has(e.id));
      if (options.json) {
        printJson({ containers, endpoints: loose });
        return;
      }
      printTable(
        ['CONTAINER', 'MODE', 'NETWORK', 'ADDRESSES', 'PORTS', 'NETNS', 'STATUS'],
        [...containers.map(containerRow), ...loose.map((e) => ['-', 'endpoint', ...endpointCells(e), e.netns, 'ready'])],
      );
    });
}

function containerRow(c: ContainerInfo<ListedEndpoint>): string[] {
  const mode = c.mode === 'container' ? `container:${c.joined}` : c.mode;
  const cells = c.endpoint ? endpointCells(c.endpoint) : ['-', '-', '-'];
  return [c.id, mode, ...cells, c.netnsPath ?? (c.mode === 'host' ? 'host' : '-'), c.status];
}

/** NETWORK, ADDRESSES, PORTS. */
function endpointCells(e: ListedEndpoint): string[] {
  const addresses = [e.ipv4, e.ipv6].filter(Boolean).join(',');
  return [e.network, addresses, e.ports.map(formatPort).join(',') || '-'];
}
