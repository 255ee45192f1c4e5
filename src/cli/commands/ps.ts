/** `nsnet ps`: containers, and endpoints connected without a container, with addresses and ports. */
import { Command } from 'commander';

import { type ContainerInfo, containersAndEndpoints, type ListedEndpoint, listedEndpoint, networkRecords } from '../../network/listing';
import { formatPort, printJson, printTable } from '../output';

export function psCommand(): Command {
  return new Command('ps')
    .description('list containers and endpoints with their addresses and published ports')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const [{ containers, endpoints }, networks] = await Promise.all([containersAndEndpoints(listedEndpoint), networkRecords()]);
      const overlays = new Map(networks.flatMap((net) => (net.overlay ? [[net.name, net.overlay.vni]] : [])));
      // Endpoints made with net.connect() rather than setupContainer() (by id: macvlan children share their host side, the parent).
      const owned = new Set(containers.map((c) => c.endpoint?.id).filter(Boolean));
      const loose = endpoints.filter((e) => !owned.has(e.id));
      if (options.json) {
        printJson({ containers, endpoints: loose });
        return;
      }
      printTable(
        ['CONTAINER', 'MODE', 'NETWORK', 'ADDRESSES', 'PORTS', 'NETNS', 'STATUS'],
        [...containers.map((c) => containerRow(c, overlays)), ...loose.map((e) => ['-', 'endpoint', ...endpointCells(e, overlays), e.netns, 'ready'])],
      );
    });
}

function containerRow(c: ContainerInfo<ListedEndpoint>, overlays: ReadonlyMap<string, number>): string[] {
  const mode = c.mode === 'container' ? `container:${c.joined}` : c.mode;
  const cells = c.endpoint ? endpointCells(c.endpoint, overlays) : ['-', '-', '-'];
  return [c.id, mode, ...cells, c.netnsPath ?? (c.mode === 'host' ? 'host' : '-'), c.status];
}

/** NETWORK (an overlay network's with its VNI: it spans hosts), ADDRESSES, PORTS. */
function endpointCells(e: ListedEndpoint, overlays: ReadonlyMap<string, number>): string[] {
  const addresses = [e.ipv4, e.ipv6].filter(Boolean).join(',');
  const vni = overlays.get(e.network);
  return [vni === undefined ? e.network : `${e.network} (overlay vni ${vni})`, addresses, e.ports.map(formatPort).join(',') || '-'];
}
