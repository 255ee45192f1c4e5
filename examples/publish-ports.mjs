// Published ports: a container's port 80 on the host's port 8080 (every
// address), on 127.0.0.1:8081 only, and on a free port the host picks; reached
// from the host and, through the host's address, from a sibling (hairpin).
// No proxy process: the firewall translates the addresses.
// Run it in a sandbox:  scripts/sandbox node examples/publish-ports.mjs
import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';
import { echoServer, runNode, sendTcp, startNode, stopNode } from './lib/node-programs.mjs';

const host = NetNamespace.host();
const net = await createBridgeNetwork({ name: 'published', subnet: '10.93.0.0/24' });
let server;
try {
  const web = await setupContainer('web', { network: 'published', publish: ['8080:80', '127.0.0.1:8081:80', '80'] });
  const sibling = await setupContainer('sibling', { network: 'published' });
  server = await startNode(web.netns, echoServer('web', 80));
  for (const port of web.endpoint.ports) {
    console.log(`published ${port.hostIp}:${port.hostPort} -> web ${web.endpoint.ipv4}:${port.containerPort}/${port.protocol}`);
  }
  const picked = web.endpoint.ports[2].hostPort;
  // The bridge's gateway address is one of the host's own addresses.
  console.log(`host -> 127.0.0.1:8080        ${await runNode(host, sendTcp('127.0.0.1', 8080, 'via loopback'))}`);
  console.log(`host -> ${net.gateway}:8080        ${await runNode(host, sendTcp(net.gateway, 8080, 'via host address'))}`);
  console.log(`host -> 127.0.0.1:8081        ${await runNode(host, sendTcp('127.0.0.1', 8081, 'loopback only'))}`);
  console.log(`host -> 127.0.0.1:<picked>    ${await runNode(host, sendTcp('127.0.0.1', picked, 'picked port'))}`);
  console.log(`sibling -> ${net.gateway}:8080     ${await runNode(sibling.netns, sendTcp(net.gateway, 8080, 'hairpin'))}`);
} finally {
  if (server) await stopNode(server);
  await teardownContainer('sibling');
  await teardownContainer('web');
  await removeNetwork('published');
}
console.log('torn down: ports released, firewall elements removed');
