// Isolation: containers of different networks cannot reach each other, and
// `icc: false` cuts containers of one network off from each other, while each
// still reaches its gateway (the host).
// Run it in a sandbox:  scripts/sandbox node examples/isolation.mjs
import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { echoServer, runNode, sendTcp, startNode, stopNode } from './lib/node-programs.mjs';

await createBridgeNetwork({ name: 'front', subnet: '10.94.0.0/24' });
await createBridgeNetwork({ name: 'back', subnet: '10.94.1.0/24' });
await createBridgeNetwork({ name: 'locked', subnet: '10.94.2.0/24', icc: false });
const ids = ['f1', 'f2', 'b1', 'l1', 'l2'];
const servers = [];
try {
  const c = {};
  for (const id of ids) {
    const network = { f: 'front', b: 'back', l: 'locked' }[id[0]];
    c[id] = await setupContainer(id, { network });
    servers.push(await startNode(c[id].netns, echoServer(id, 7000)));
  }
  const attempt = async (from, to, what) =>
    console.log(`${`${from} -> ${to}`.padEnd(9)} ${what.padEnd(26)} ${await runNode(c[from].netns, sendTcp(c[to].endpoint.ipv4, 7000, `hi ${to}`))}`);
  await attempt('f1', 'f2', '(same network)');
  await attempt('f1', 'b1', '(other network)');
  await attempt('b1', 'f1', '(other network)');
  await attempt('l1', 'l2', '(same network, icc off)');
} finally {
  await Promise.all(servers.map(stopNode));
  for (const id of ids) await teardownContainer(id);
  for (const name of ['front', 'back', 'locked']) await removeNetwork(name);
}
console.log('torn down');
