// Prints "ready", waits for a line on stdin, then sets up COUNT containers
// named PREFIX-<i> on NETWORK all at once, container i publishing host port
// PORT+i; prints one line of JSON: each container's id and address.
// Usage: node burst-setup.mjs NETWORK PREFIX COUNT PORT
import { once } from 'node:events';

import { setupContainer } from '../../../dist/index.js';

const [network, prefix, count, port] = process.argv.slice(2);
console.log('ready');
await once(process.stdin, 'data'); // released together by the test
const made = await Promise.all(
  Array.from({ length: Number(count) }, async (_, i) => {
    const container = await setupContainer(`${prefix}-${i}`, { network, publish: [`${Number(port) + i}:80`] });
    return { id: container.id, ipv4: container.endpoint.ipv4 };
  }),
);
console.log(JSON.stringify(made));
process.stdin.destroy();
