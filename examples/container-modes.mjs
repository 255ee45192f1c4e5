// Docker's network modes with setupContainer: 'bridge' (the default network),
// a user network, 'none', 'host' and 'container:<id>'; then teardown.
// Run it in a sandbox so it leaves the machine's own network alone:
//   scripts/sandbox node examples/container-modes.mjs
import { createBridgeNetwork, listNetworks, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

function nodeIn(ns, script) {
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}`))));
  });
}

const interfaces = `console.log(Object.entries(require('node:os').networkInterfaces())
  .map(([name, addrs]) => [name, addrs.filter((a) => a.family === 'IPv4').map((a) => a.cidr).join(',')])
  .filter(([, v4]) => v4).map((entry) => entry.join(' ')).join(', '))`;

async function main() {
  // The default network stays, like docker0; this removes it only if it made it.
  const hadDefault = (await listNetworks()).some((net) => net.name === 'bridge');
  await createBridgeNetwork({ name: 'backend', subnet: '10.91.0.0/24' });
  const web = await setupContainer('web', { network: 'bridge' }); // default network, bridge nsnet0
  const db = await setupContainer('db', { network: 'backend', ip: '10.91.0.10' });
  const sealed = await setupContainer('sealed', { network: 'none' });
  const tool = await setupContainer('tool', { network: 'host' });
  const sidecar = await setupContainer('sidecar', { network: 'container:web' });
  try {
    for (const c of [web, db, sealed, tool, sidecar]) {
      console.log(`${c.id.padEnd(8)} ${c.mode.padEnd(9)} netns ${String(c.netns.inode).padEnd(11)} ${await nodeIn(c.netns, interfaces)}`);
    }
    console.log(`sidecar shares web's namespace: ${sidecar.netns.inode === web.netns.inode}`);
    console.log(`tool is in the host namespace: ${tool.netns.inode === NetNamespace.host().inode}`);
  } finally {
    for (const id of ['sidecar', 'tool', 'sealed', 'db', 'web']) await teardownContainer(id);
    await removeNetwork('backend');
    if (!hadDefault) await removeNetwork('bridge');
  }
  console.log('torn down: namespaces deleted, addresses released');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
