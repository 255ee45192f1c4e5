// Keeps a warm pool of SIZE namespaces on NETWORK (made with SUBNET), prints
// "ready" once it is full, then waits to be killed.
// Usage: node pool-owner.mjs NETWORK SUBNET SIZE
import { createBridgeNetwork } from '../../../dist/index.js';

const [name, subnet, size] = process.argv.slice(2);
const network = await createBridgeNetwork({ name, subnet, pool: { size: Number(size) } });
await network.pool().filled();
console.log('ready');
setInterval(() => undefined, 60_000);
