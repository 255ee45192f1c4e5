// Two containers on one bridge network exchange TCP data, both ways.
// Run it in a sandbox so it leaves the machine's own network alone:
//   scripts/sandbox node examples/two-containers.mjs
import { createBridgeNetwork, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { echoServer, runNode, sendTcp, startNode, stopNode } from './lib/node-programs.mjs';

const net = await createBridgeNetwork({ name: 'pair', subnet: '10.92.0.0/24' });
const servers = [];
try {
  const alpha = await setupContainer('alpha', { network: 'pair' });
  const beta = await setupContainer('beta', { network: 'pair' });
  console.log(`network ${net.name}: bridge ${net.bridge}, ${net.subnet}, gateway ${net.gateway}`);
  for (const c of [alpha, beta]) {
    console.log(`${c.id.padEnd(6)} ${c.endpoint.ifname} ${c.endpoint.ipv4}  mac ${c.endpoint.mac}  host end ${c.endpoint.hostIfname}`);
    servers.push(await startNode(c.netns, echoServer(c.id, 7000)));
  }
  console.log(`alpha -> beta:  ${await runNode(alpha.netns, sendTcp(beta.endpoint.ipv4, 7000, 'hello beta'))}`);
  console.log(`beta -> alpha:  ${await runNode(beta.netns, sendTcp(alpha.endpoint.ipv4, 7000, 'hello alpha'))}`);
  console.log(`alpha -> gateway ${net.gateway}: ${await runNode(alpha.netns, `require('node:net').connect(1, '${net.gateway}').on('error', (e) => console.log('reached, ' + e.code))`)}`);
} finally {
  await Promise.all(servers.map(stopNode));
  await teardownContainer('alpha');
  await teardownContainer('beta');
  await removeNetwork('pair');
}
console.log('torn down');
