/** Which firewall a network uses, from its `firewall` option and what the machine has. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { NsnetError } from '../errors';
import type { FirewallBackend } from '../network/options';

export type ActiveFirewall = 'nftables' | 'none';

function hasNft(): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((dir) => dir && existsSync(path.join(dir, 'nft')));
}

export function resolveFirewall(option: FirewallBackend): ActiveFirewall {
  if (option === 'none') return 'none';
  if (option === 'iptables') {
    throw new NsnetError('NOT_SUPPORTED', "the iptables backend is not available yet: use firewall 'nftables' or 'none'");
  }
  if (!hasNft()) {
    throw new NsnetError(
      'FIREWALL_UNAVAILABLE',
      "nftables' nft command was not found: install nftables, or create the network with firewall: 'none'",
    );
  }
  return 'nftables';
}
