/** Which firewall a network uses, and its backend. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { NsnetError } from '../errors';
import type { ActiveFirewall, FirewallBackend } from '../types/network';
import type { Firewall } from './backend';
import { iptablesFirewall } from './iptables/backend';
import { nftablesFirewall } from './nftables/backend';

export type { Firewall };

export function firewallFor(active: ActiveFirewall): Firewall | undefined {
  if (active === 'nftables') return nftablesFirewall;
  if (active === 'iptables') return iptablesFirewall;
  return undefined;
}

function onPath(command: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => dir && existsSync(path.join(dir, command)));
}

/** 'auto' prefers nftables, then iptables; an explicit choice must be installed. */
export function resolveFirewall(option: FirewallBackend): ActiveFirewall {
  if (option === 'none') return 'none';
  const nft = onPath('nft');
  const iptables = onPath('iptables-restore') && onPath('iptables-save');
  if (option === 'nftables' || (option === 'auto' && nft)) {
    if (nft) return 'nftables';
  } else if (iptables) {
    return 'iptables';
  }
  throw new NsnetError(
    'FIREWALL_UNAVAILABLE',
    `no ${option === 'auto' ? 'nft or iptables-restore' : option} command found: install nftables (or iptables), or use firewall: 'none'`,
  );
}
