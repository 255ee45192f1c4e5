import { statSync } from 'node:fs';

import { expect } from 'chai';

import { native } from '../../dist/native.js';
import { namespacePids } from '../../dist/netns-pids.js';

/** Replaces the addon's pass over /proc by one that reports when each pass starts and ends. */
function countPasses() {
  const addon = native();
  const real = addon.processNamespaces;
  const passes = [];
  addon.processNamespaces = () => {
    const pass = { whileAnotherRan: passes.some((earlier) => !earlier.ended), ended: false };
    passes.push(pass);
    return real.call(addon).finally(() => (pass.ended = true));
  };
  return { passes, restore: () => (addon.processNamespaces = real) };
}

describe('namespacePids', () => {
  it('finds this process in its own namespace', async () => {
    expect(await namespacePids(statSync('/proc/self/ns/net').ino)).to.include(process.pid);
  });

  it('serves callers that asked together with one pass, and a caller that asked during a pass with the next one', async () => {
    const { passes, restore } = countPasses();
    try {
      const together = [namespacePids(1), namespacePids(1), namespacePids(1)];
      while (passes.length === 0) await new Promise((resolve) => setImmediate(resolve));
      expect(passes).to.have.length(1);
      // Asked while the first pass runs: it may have read past a process that entered since.
      const later = [namespacePids(1), namespacePids(1)];
      await Promise.all(together);
      await Promise.all(later);
      expect(passes).to.have.length(2);
      expect(passes[1].whileAnotherRan, 'the second pass started while the first ran').to.equal(false);
    } finally {
      restore();
    }
  });
});
