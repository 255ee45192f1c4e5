/**
 * The iptables firewall (where nftables is not available): each change is
 * one iptables-restore --noflush transaction per IP version.
 */
import { execFile } from 'node:child_process';

import { asNsnetError, messageOf, NsnetError } from '../../errors';
import { faultPoint } from '../../fault';
import { NetNamespace } from '../../netns';
import { isIPv6 } from '../../types/ip';
import type { EndpointRecord } from '../../types/endpoint';
import { type NetworkRecord, networkDriver } from '../../types/network';
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
/** Fails the transaction if the rule is not there. */
const check = (rule: Rule) => ({ table: rule.table, line: `-C ${rule.chain} ${rule.spec}` });

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

const COMMENT = / -m comment --comment ("[^"]*"|\S+)/;

/**
 * A rule as written here or as iptables-save prints it, in one form: its
 * options (`-s 10.0.0.0/8`, `! -o br0`) sorted, as iptables-save orders
 * them its own way, the comment unquoted, a host address with its prefix length.
 */
function comparable(line: string): string {
  const comment = COMMENT.exec(line)?.[1].replace(/"/g, '') ?? '';
  const options: string[][] = [];
  for (const token of line.replace(COMMENT, '').split(' ')) {
    const option = options.at(-1);
    const afterNot = option?.length === 1 && option[0] === '!';
    if (token === '!' || (token.startsWith('-') && !afterNot)) options.push([token]);
    else option?.push(isHostAddress(option, token) ? `${token}/${isIPv6(token) ? 128 : 32}` : token);
  }
  return [...options.map((option) => option.join(' ')).sort(), `--comment ${comment}`].join(' ');
}

/** `-d 10.0.0.1`: an address without a prefix length, after -s or -d. */
function isHostAddress(option: string[], token: string): boolean {
  return /^-[ds]$/.test(option.at(-1) ?? '') && /^[0-9a-f.:]+$/.test(token);
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

/** The rules of the endpoints whose network is among `networks`. */
function endpointsRules(networks: NetworkRecord[], endpoints: EndpointRecord[], version: IpVersion): Rule[] {
  const byName = new Map(networks.map((n) => [n.name, n]));
  return endpoints.flatMap((e) => {
    const network = byName.get(e.network);
    return network ? endpointRules(network, e, version) : [];
  });
}

function versions(network: NetworkRecord): IpVersion[] {
  return [...(network.subnet ? [4 as const] : []), ...(network.ipv6 ? [6 as const] : [])];
}

/** The chains and jumps that are missing, as lines that make them; an existing chain keeps its rules. */
function missingBase(version: IpVersion, current: { table: Table; line: string }[]): { table: Table; line: string }[] {
  const has = (table: Table, line: string) => current.some((l) => l.table === table && l.line === line);
  const lines: { table: Table; line: string }[] = [];
  for (const [table, chains] of Object.entries(CHAINS) as [Table, string[]][]) {
    for (const chain of chains) if (!current.some((l) => l.table === table && l.line.startsWith(`:${chain} `))) lines.push({ table, line: `:${chain} - [0:0]` });
  }
  for (const rule of baseRules(version)) {
    // iptables-save prints `-m addrtype` as written; compare the line itself.
    if (!has(rule.table, `-A ${rule.chain} ${rule.spec}`)) lines.push(add(rule));
  }
  return lines;
}

async function install(version: IpVersion): Promise<void> {
  await restore(version, missingBase(version, await saved(version)));
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
  async addNetwork(network) {
    for (const version of versions(network)) {
      // Only bridged traffic needs br_netfilter to meet the icc rules; a routed network's is routed.
      if (!network.icc && networkDriver(network) === 'bridge') await bridgeNetfilter(version);
      await restore(version, networkRules(network, version).map(add));
    }
  },
  async removeNetwork(network) {
    for (const version of versions(network)) await removeOwned(version, [networkTag(network.name)]);
  },
  async addEndpoint(network, endpoint) {
    try {
      for (const version of [4, 6] as IpVersion[]) {
        const rules = endpointRules(network, endpoint, version);
        // After `iptables -F` the rules would go in but lead nowhere: the
        // fixed rules and the network's are checked in the same run.
        const relied = [...baseRules(version), ...networkRules(network, version)];
        if (rules.length) await restore(version, [...relied.map(check), ...rules.map(add)]);
      }
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
  async installed() {
    for (const version of [4, 6] as IpVersion[]) if (missingBase(version, await saved(version)).length) return false;
    return true;
  },
  async reinstall(networks, endpoints) {
    let count = 0;
    for (const version of [4, 6] as IpVersion[]) {
      const current = await saved(version);
      // The rules of the records that are not there. Nothing is emptied: a
      // connect in flight keeps its rules. (One there all the same, printed
      // otherwise, would be added twice, which is harmless: both go with their owner.)
      const there = new Set(current.map((l) => `${l.table} ${comparable(l.line)}`));
      const rules = [...networks.flatMap((n) => networkRules(n, version)), ...endpointsRules(networks, endpoints, version)].filter(
        (rule) => !there.has(`${rule.table} ${comparable(`-A ${rule.chain} ${rule.spec}`)}`),
      );
      count += rules.length;
      await restore(version, [...missingBase(version, current), ...rules.map(add)]);
    }
    return count;
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
        ...endpointsRules(networks, endpoints, version),
      ];
      count += rules.length;
      await restore(version, [...lines, ...rules.map(add)]);
    }
    return count;
  },
};
