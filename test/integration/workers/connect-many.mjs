// Connects COUNT new namespaces named PREFIX-<i> to NETWORK, all at once, and
// prints one line per endpoint ("name address") as each completes.
// Usage: node connect-many.mjs NETWORK PREFIX COUNT
import { getNetwork, NetNamespace } from '../../../dist/index.js';

const [network, prefix, count] = process.argv.slice(2);
const net = await getNetwork(network);
await Promise.all(
  Array.from({ length: Number(count) }, async (_, i) => {
    const ns = await NetNamespace.create(`${prefix}-${i}`);
    const ep = await net.connect(ns);
    console.log(`${ns.name} ${ep.ipv4}`);
  }),
);
