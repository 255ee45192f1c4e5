/**
 * The iptables firewall (where nftables is not available): each change is
 * one iptables-restore --noflush transaction per IP version.
 */
import { execFile } from 'node:child_process';

import { asNsnetError, messageOf, NsnetError } from '../../errors';
import { faultPoint } from '../../fault';
import { NetNamespace } from '../../netns';
import type { NetworkRecord } from '../../types/network';
import { endpointTag, networkTag, previousEndpointTag } from '../../types/ownership';
import type { Firewall } from '../backend';
import { baseRules, CHAINS, endpointRules, type IpVersion, networkRules, type Rule, type Table } from './rules';

function run(command: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new NsnetError('FIREWALL_FAILED', `${command} failed: ${String(stderr).trim() || error.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const tool = (version: IpVersion, name: 'save' | 'restore') => `${version === 4 ? 'iptables' : 'ip6tables'}-${name}`;

/** One transaction: lines grouped by table, `*table ... COMMIT`. */
function script(lines: { table: Table; line: string }[]): string {
  const tables: Table[] = ['raw', 'nat', 'filter'];
  return tables
    .map((table) => {
      const body = lines.filter((l) => l.table === table).map((l) => l.line);
      return body.length ? `*${table}\n${body.join('\n')}\nCOMMIT\n` : '';
    })
    .join('');
}

async function restore(version: IpVersion, lines: { table: Table; line: string }[]): Promise<void> {
  if (!lines.length) return;
  faultPoint('iptables-restore', `IPv${version}`);
  await run(tool(version, 'restore'), ['-w', '--noflush'], script(lines));
}

const add = (rule: Rule) => ({ table: rule.table, line: `${rule.first ? '-I' : '-A'} ${rule.chain} ${rule.spec}` });

/** The saved rules, per table, as `-A CHAIN ...` lines. */
async function saved(version: IpVersion): Promise<{ table: Table; line: string }[]> {
  const out = await run(tool(version, 'save'), []);
  const lines: { table: Table; line: string }[] = [];
  let table: Table | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1) as Table;
    else if (table && (line.startsWith('-A ') || line.startsWith(':'))) lines.push({ table, line });
  }
  return lines;
}

/** Whether a saved rule carries this owner comment (iptables-save may quote it). */
function ownedBy(line: string, owner: string): boolean {
  return line.includes(`--comment ${owner} `) || line.includes(`--comment "${owner}" `);
}

/** Deletes every saved rule that carries one of these owner comments. */
async function removeOwned(version: IpVersion, owners: string[]): Promise<void> {
  const owned = (await saved(version)).filter((l) => l.line.startsWith('-A ') && owners.some((owner) => ownedBy(l.line, owner)));
  await restore(version, owned.map((l) => ({ table: l.table, line: `-D${l.line.slice(2)}` })));
}

function versions(network: NetworkRecord): IpVersion[] {
  return network.ipv6 ? [4, 6] : [4];
}

/** Chains and jumps where missing; an existing chain keeps its rules. */
async function install(version: IpVersion): Promise<void> {
  const current = await saved(version);
  const has = (table: Table, line: string) => current.some((l) => l.table === table && l.line === line);
  const lines: { table: Table; line: string }[] = [];
  for (const [table, chains] of Object.entries(CHAINS) as [Table, string[]][]) {
    for (const chain of chains) if (!current.some((l) => l.table === table && l.line.startsWith(`:${chain} `))) lines.push({ table, line: `:${chain} - [0:0]` });
  }
  for (const rule of baseRules(version)) {
    // iptables-save prints `-m addrtype` as written; compare the line itself.
    if (!has(rule.table, `-A ${rule.chain} ${rule.spec}`)) lines.push(add(rule));
  }
  await restore(version, lines);
}

/** icc: false relies on br_netfilter passing bridged traffic through FORWARD. */
async function bridgeNetfilter(version: IpVersion): Promise<void> {
  const key = version === 4 ? 'net.bridge.bridge-nf-call-iptables' : 'net.bridge.bridge-nf-call-ip6tables';
  try {
    await NetNamespace.host().sysctl(key, 1);
  } catch {
    throw new NsnetError('FIREWALL_UNAVAILABLE', `icc: false with iptables needs br_netfilter (${key}); load it, or use nftables`);
  }
}

export const iptablesFirewall: Firewall = {
  async install() {
    await install(4);
    await install(6);
  },
  async addNetwork(network) {
    for (const version of versions(network)) {
      if (!network.icc) await bridgeNetfilter(version);
      await restore(version, networkRules(network, version).map(add));
    }
  },
  async removeNetwork(network) {
    for (const version of versions(network)) await removeOwned(version, [networkTag(network.name)]);
  },
  async addEndpoint(_network, endpoint) {
    try {
      for (const version of [4, 6] as IpVersion[]) await restore(version, endpointRules(endpoint, version).map(add));
    } catch (error) {
      // IPv4 may have gone in before IPv6 failed: all or nothing.
      const left: string[] = [];
      for (const version of [4, 6] as IpVersion[]) {
        await removeOwned(version, [endpointTag(endpoint.network, endpoint.id)]).catch((undoError: unknown) => left.push(`IPv${version} rules: ${messageOf(undoError)}`));
      }
      throw left.length ? asNsnetError(error).withNote(`could not undo: ${left.join('; ')}`, { notUndone: left }) : error;
    }
  },
  async removeEndpoint(_network, endpoint) {
    if (!endpoint.ports.length) return;
    const tags = [endpointTag(endpoint.network, endpoint.id), previousEndpointTag(endpoint.id)];
    for (const version of [4, 6] as IpVersion[]) await removeOwned(version, tags);
  },
  async restore(networks, endpoints) {
    let count = 0;
    for (const version of [4, 6] as IpVersion[]) {
      await install(version);
      // Declaring a chain in a --noflush restore empties it: one transaction rebuilds all.
      const lines: { table: Table; line: string }[] = [];
      for (const [table, chains] of Object.entries(CHAINS) as [Table, string[]][]) {
        for (const chain of chains) lines.push({ table, line: `:${chain} - [0:0]` });
      }
      const rules = [
        ...baseRules(version).filter((r) => r.chain.startsWith('NSNET-')),
        ...networks.flatMap((n) => networkRules(n, version)),
        ...endpoints.flatMap((e) => endpointRules(e, version)),
      ];
      count += rules.length;
      await restore(version, [...lines, ...rules.map(add)]);
    }
    return count;
  },
};
