// Keeps a warm pool of SIZE namespaces on NETWORK (made with SUBNET), prints
// "ready" once it is full, then waits to be killed; with "end", ends there
// (its event loop empty).
// Usage: node pool-owner.mjs NETWORK SUBNET SIZE [end]
import { createBridgeNetwork } from '../../../dist/index.js';

const [name, subnet, size, then] = process.argv.slice(2);
const network = await createBridgeNetwork({ name, subnet, pool: { size: Number(size) } });
await network.pool().filled();
console.log('ready');
if (then !== 'end') setInterval(() => undefined, 60_000);
