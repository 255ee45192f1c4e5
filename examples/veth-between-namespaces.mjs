// Two network namespaces ("containers") on a bridge of the host, each with a
// veth, an address and a default route, exchanging TCP data through it.
// Run it in a sandbox so it leaves the machine's own network alone:
//   scripts/sandbox node examples/veth-between-namespaces.mjs
import { once } from 'node:events';

import { NetNamespace } from '../dist/index.js';

const host = NetNamespace.host();
const bridge = 'nsbr-demo';

async function addContainer(name, address) {
  const ns = await NetNamespace.create(name);
  // One request: the host end on the bridge, the peer made directly inside
  // the namespace under its final name.
  await host.links.add({ kind: 'veth', name: `veth-${name}`, master: bridge, up: true, peer: { name: 'eth0', netns: ns } });
  await ns.links.set('lo', { up: true });
  await ns.links.set('eth0', { up: true });
  await ns.addresses.add('eth0', `${address}/24`);
  await ns.routes.add({ dst: 'default', gateway: '10.88.0.1' });
  return ns;
}

function nodeIn(ns, script, ...args) {
  return ns.spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function main() {
  await host.links.add({ kind: 'bridge', name: bridge, up: true });
  await host.addresses.add(bridge, '10.88.0.1/24');
  const red = await addContainer('red', '10.88.0.2');
  const blue = await addContainer('blue', '10.88.0.3');
  try {
    for (const ns of [red, blue]) {
      const [eth0] = await ns.addresses.list({ dev: 'eth0', family: 4 });
      const [route] = await ns.routes.list({ family: 4 });
      console.log(`${ns.name.padEnd(5)} eth0 ${eth0.cidr}, default via ${route.gateway} (netns ${ns.path})`);
    }

    const server = nodeIn(
      red,
      `require('node:net').createServer((s) => s.on('data', (d) => s.end('red got: ' + d)))
         .listen(8080, () => console.log('listening'))`,
    );
    await once(server.stdout, 'data');
    const client = nodeIn(
      blue,
      `const s = require('node:net').connect(8080, '10.88.0.2', () => s.write('hello from blue'));
       s.on('data', (d) => process.stdout.write(String(d)));`,
    );
    let reply = '';
    client.stdout.on('data', (chunk) => (reply += chunk));
    const [code] = await once(client, 'exit');
    console.log(`blue -> red:8080 over the bridge: "${reply}"`);
    process.kill(server.pid, 'SIGTERM');
    await once(server, 'exit');
    if (code !== 0 || reply !== 'red got: hello from blue') throw new Error('the TCP exchange failed');
  } finally {
    await red.delete();
    await blue.delete();
    await host.links.delete(bridge);
  }
  console.log('cleaned up: namespaces, veths and bridge removed');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
