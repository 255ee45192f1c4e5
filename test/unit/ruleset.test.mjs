// The nftables ruleset: every set and map its script declares is emptied by
// reconcile's flush, so none keeps elements that belong to nothing.
import { expect } from 'chai';

import { BRIDGE_TABLE, FLUSH_EVERY_SET, INET_TABLE } from '../../dist/firewall/nftables/ruleset.js';

/** "family name" of every `set NAME {` and `map NAME {` in a table's script. */
function declared(script) {
  const family = script.match(/^\s*table (\w+) /m)[1];
  return [...script.matchAll(/^\s*(?:set|map) (\w+) \{/gm)].map((m) => `${family} ${m[1]}`);
}

describe('nftables ruleset', () => {
  it('flushes every set and map the script declares, and nothing else', () => {
    const inScript = [...declared(INET_TABLE), ...declared(BRIDGE_TABLE)];
    const flushed = FLUSH_EVERY_SET.map((change) => `${change.family ?? 'inet'} ${change.set}`);
    expect(inScript).to.include.members(['inet bridges', 'inet ports4_any', 'bridge icc_off_ports']);
    expect(flushed).to.have.members(inScript);
    expect(FLUSH_EVERY_SET.every((change) => change.op === 'flush')).to.equal(true);
  });

  it('refers only to sets it declares', () => {
    for (const script of [INET_TABLE, BRIDGE_TABLE]) {
      const names = declared(script).map((d) => d.split(' ')[1]);
      const used = [...script.matchAll(/@(\w+)/g)].map((m) => m[1]);
      expect(names).to.include.members([...new Set(used)]);
    }
  });
});
