// Sets up COUNT containers named PREFIX-<i> on NETWORK, twenty at a time, and
// tears them down again; prints, as JSON, how many descriptors this process
// had open after the first container, after all of them, and after teardown.
// Usage: node setup-many.mjs NETWORK PREFIX COUNT
import { readdirSync } from 'node:fs';

import { setupContainer, teardownContainer } from '../../../dist/index.js';

const [network, prefix, count] = process.argv.slice(2);
const ids = Array.from({ length: Number(count) }, (_, i) => `${prefix}-${i}`);
const openFds = () => readdirSync('/proc/self/fd').length;
const inChunks = async (list, fn) => {
  for (let i = 0; i < list.length; i += 20) await Promise.all(list.slice(i, i + 20).map(fn));
};

// The first one opens what every later one shares (the host's sockets, the state directory).
await setupContainer(ids[0], { network });
const first = openFds();
await inChunks(ids.slice(1), (id) => setupContainer(id, { network }));
const all = openFds();
await inChunks(ids, (id) => teardownContainer(id));
console.log(JSON.stringify({ first, all, tornDown: openFds() }));
