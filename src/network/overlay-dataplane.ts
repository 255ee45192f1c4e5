/**
 * The dataplane of an overlay network on one host: a VXLAN device on the
 * network's bridge, and per remote container a permanent FDB entry (its MAC
 * -> its host's underlay address) and permanent neighbour entries (its IPs ->
 * its MAC) on that device. Nothing is learnt and nothing is flooded: there is
 * no all-zeros FDB entry, so broadcasts (ARP for the shared gateway among
 * them) stay on their host, and the device, a proxy, answers ARP and
 * neighbour solicitations for remote containers from its own table.
 */
import { invalid, unlessGone } from '../errors';
import type { ChainedRequest } from '../kernel/rtnl-connection';
import { NetNamespace } from '../netns';
import type { Link } from '../rtnl/links';
import type { FdbEntry, IpNeighbour, NeighbourSpec } from '../rtnl/neighbours';
import { type RemoteEndpoint, RemoteChangeSchema } from '../types/overlay';
import { describeProblem, Validator } from '../types/schema';
import { checkMac } from '../validate';

export interface VxlanPort {
  /** The network's bridge, which the device is made a port of. */
  bridge: string;
  /** The VXLAN device's name. */
  vxlan: string;
  vni: number;
  /** UDP port of the VXLAN traffic, sent to and listened on. */
  port: number;
  /** This host's underlay address: the source of the tunnelled traffic. */
  underlay: string;
  mtu: number;
  /** The device's alias (an ownership tag). */
  alias?: string;
}

export type { RemoteEndpoint };

export interface RemoteChange {
  add: RemoteEndpoint[];
  remove: RemoteEndpoint[];
}

const remoteChange = new Validator(RemoteChangeSchema);

const ZERO_MAC = '00:00:00:00:00:00';

/** Makes the VXLAN device, learning off and proxy on, up, as a port of the bridge. */
export async function createVxlanPort(port: VxlanPort): Promise<Link> {
  const links = NetNamespace.host().links;
  return links.add({
    kind: 'vxlan',
    name: port.vxlan,
    id: port.vni,
    local: port.underlay,
    port: port.port,
    learning: false,
    proxy: true,
    mtu: port.mtu,
    master: port.bridge,
    up: true,
    ...(port.alias === undefined ? {} : { alias: port.alias }),
  });
}

/** Deletes the VXLAN device (and with it every entry on it); one already gone counts as deleted. */
export async function deleteVxlanPort(vxlan: string): Promise<void> {
  await unlessGone(() => NetNamespace.host().links.delete(vxlan));
}

/**
 * Removes then adds remote containers' entries on the VXLAN device, all in one
 * batch of the netlink connection (however many: the batch is sent in as few
 * sendmsg calls as the socket's buffers allow). An add replaces what is there
 * (idempotent); a remove of an entry not there is done. Every entry is checked
 * before anything is sent. A kernel refusal of one request fails the call
 * with the first refusal; the batch's other requests are applied.
 */
export async function applyRemotes(vxlan: string, change: RemoteChange): Promise<void> {
  const { add, remove } = checkChange(change);
  if (add.length === 0 && remove.length === 0) return;
  const ns = NetNamespace.host();
  const dev = await ns.links.indexOf(vxlan);
  const requests = await Promise.all([
    ...remove.flatMap((remote) => remoteEntries(dev, remote).map((spec) => ns.neighbours.deleteRequest(spec))),
    ...add.flatMap((remote) => remoteEntries(dev, remote).map((spec) => ns.neighbours.replaceRequest(spec))),
  ]);
  await sendBatch(ns, requests);
}

async function sendBatch(ns: NetNamespace, requests: ChainedRequest[]): Promise<void> {
  const connection = await ns.connection();
  const [outcomes] = await connection.chain(requests, []);
  const failed = outcomes.find((outcome) => !outcome.ok);
  if (failed && !failed.ok) throw failed.error;
}

/** A remote's FDB entry (dst: its host) and neighbour entries, on the device `dev`. */
function remoteEntries(dev: number, remote: RemoteEndpoint): NeighbourSpec[] {
  const entries: NeighbourSpec[] = [
    { family: 'bridge', dev, mac: remote.mac, self: true, dst: remote.host, permanent: true },
    { family: 4, dev, address: remote.ipv4, mac: remote.mac, state: 'permanent' },
  ];
  if (remote.ipv6 !== undefined) entries.push({ family: 6, dev, address: remote.ipv6, mac: remote.mac, state: 'permanent' });
  return entries;
}

/** The change, checked whole (nothing is sent for a bad one); the all-zeros MAC, where a VXLAN device floods to, and group MACs are never a remote's. */
function checkChange(change: unknown): RemoteChange {
  const { add = [], remove = [] } = remoteChange.valid(change, (problem) => invalid(describeProblem(problem, 'remote change')));
  for (const [list, remotes] of [['add', add], ['remove', remove]] as const) {
    remotes.forEach((remote, index) => checkMac(remote.mac, `remote change ${list}[${index}].mac`));
  }
  return { add, remove };
}

/**
 * The remote containers the VXLAN device knows, read from the kernel: each
 * permanent FDB entry with a dst, with its MAC's neighbour entries. An FDB
 * entry without an IPv4 neighbour entry is not a whole remote and is left out.
 */
export async function listRemotes(vxlan: string): Promise<RemoteEndpoint[]> {
  const neighbours = NetNamespace.host().neighbours;
  const [fdb, ip] = await Promise.all([
    neighbours.list({ dev: vxlan, family: 'bridge' }) as Promise<FdbEntry[]>,
    Promise.all([neighbours.list({ dev: vxlan, family: 4 }), neighbours.list({ dev: vxlan, family: 6 })]).then((lists) => lists.flat() as IpNeighbour[]),
  ]);
  const byMac = new Map<string, { ipv4?: string; ipv6?: string }>();
  for (const entry of ip) {
    if (entry.mac === undefined || entry.state !== 'permanent') continue;
    const known = byMac.get(entry.mac) ?? {};
    if (entry.family === 4) known.ipv4 = entry.address;
    else known.ipv6 = entry.address;
    byMac.set(entry.mac, known);
  }
  const remotes: RemoteEndpoint[] = [];
  for (const entry of fdb) {
    const addresses = byMac.get(entry.mac);
    if (!entry.self || !entry.permanent || entry.dst === undefined || entry.mac === ZERO_MAC || addresses?.ipv4 === undefined) continue;
    remotes.push({ mac: entry.mac, ipv4: addresses.ipv4, ...(addresses.ipv6 === undefined ? {} : { ipv6: addresses.ipv6 }), host: entry.dst });
  }
  return remotes;
}
