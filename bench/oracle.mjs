// The kernel as the judge of a benchmark's containers: what `ip` and `nft`
// show, not what nsnet's records say. Each check throws when anything is
// missing, wrong or shared.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';

import { netnsDir } from '../dist/index.js';

const run = async (file, args) => (await promisify(execFile)(file, args, { encoding: 'utf8', maxBuffer: 1 << 28 })).stdout;

/** eth0's IPv4 address in each namespace, as `ip -j -n NS addr` shows it. */
async function kernelAddresses(ids) {
  const addresses = new Map();
  for (let i = 0; i < ids.length; i += 8) { // a few `ip` at a time: 1,000 at once would only queue
    await Promise.all(ids.slice(i, i + 8).map(async (id) => {
      const [eth0] = JSON.parse(await run('ip', ['-j', '-n', id, '-4', 'addr', 'show', 'dev', 'eth0']));
      addresses.set(id, eth0?.addr_info?.find((a) => a.family === 'inet')?.local);
    }));
  }
  return addresses;
}

/** The host ports nsnet maps on every host address: port -> "address:port", from `nft -j`. */
async function kernelPorts() {
  const listing = JSON.parse(await run('nft', ['-j', 'list', 'map', 'inet', 'nsnet', 'ports4_any']));
  const map = listing.nftables.find((entry) => entry.map)?.map;
  if (!map) throw new Error('oracle: nft shows no map inet nsnet ports4_any');
  const ports = new Map();
  for (const [key, value] of map.elem ?? []) {
    const [, port] = key.concat;
    if (ports.has(port)) throw new Error(`oracle: host port ${port} is mapped twice`);
    ports.set(port, `${value.concat[0]}:${value.concat[1]}`);
  }
  return ports;
}

/**
 * `expected`: id -> { ipv4, hostPort?, containerPort? } as setupContainer
 * answered. Every container has its address in the kernel, no two share one,
 * and each published host port leads to its container.
 */
export async function checkContainers(expected) {
  const ids = [...expected.keys()];
  const addresses = await kernelAddresses(ids);
  const owners = new Map();
  for (const id of ids) {
    const address = addresses.get(id);
    if (address !== expected.get(id).ipv4) throw new Error(`oracle: ${id} has ${address ?? 'no address'} in the kernel, nsnet said ${expected.get(id).ipv4}`);
    if (owners.has(address)) throw new Error(`oracle: ${id} and ${owners.get(address)} both have ${address}`);
    owners.set(address, id);
  }
  const published = ids.filter((id) => expected.get(id).hostPort !== undefined);
  if (published.length === 0) return;
  const ports = await kernelPorts();
  for (const id of published) {
    const { ipv4, hostPort, containerPort } = expected.get(id);
    if (ports.get(hostPort) !== `${ipv4}:${containerPort}`) throw new Error(`oracle: host port ${hostPort} of ${id} maps to ${ports.get(hostPort) ?? 'nothing'}, not ${ipv4}:${containerPort}`);
  }
}

/** After teardown: no namespace of `ids` is left, and none of their host ports. */
export async function checkGone(expected) {
  const left = new Set(fs.readdirSync(netnsDir()));
  const named = [...expected.keys()].filter((id) => left.has(id));
  if (named.length) throw new Error(`oracle: ${named.length} namespaces left after teardown, e.g. ${named[0]}`);
  const hostPorts = [...expected.values()].map((e) => e.hostPort).filter((p) => p !== undefined);
  if (hostPorts.length === 0) return;
  const ports = await kernelPorts();
  const mapped = hostPorts.filter((p) => ports.has(p));
  if (mapped.length) throw new Error(`oracle: ${mapped.length} host ports still mapped after teardown, e.g. ${mapped[0]}`);
}

/** What a benchmark expects of the container setupContainer answered with. */
export function expectation(container) {
  const [port] = container.endpoint.ports;
  return { ipv4: container.endpoint.ipv4, hostPort: port?.hostPort, containerPort: port?.containerPort };
}
