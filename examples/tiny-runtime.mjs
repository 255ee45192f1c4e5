// A tiny container runtime: run a program in a fresh container network,
// passing its output and exit status through, and tear the network down when
// the program exits (as `nsnet run` does).
// Run it in a sandbox:  scripts/sandbox node examples/tiny-runtime.mjs
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';

import { listNetworks, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../dist/index.js';

/** Runs `command` in a new container on `network`; resolves to its exit status. */
async function runContainer(command, args, { network = 'bridge', publish } = {}) {
  const id = `run-${randomBytes(4).toString('hex')}`;
  const container = await setupContainer(id, { network, publish });
  try {
    const child = container.netns.spawn(command, args, { stdio: 'inherit' });
    const stop = () => child.kill('SIGTERM');
    process.once('SIGINT', stop).once('SIGTERM', stop);
    const [code, signal] = await new Promise((resolve) => child.on('exit', (...exit) => resolve(exit)));
    process.off('SIGINT', stop).off('SIGTERM', stop);
    return code ?? 128 + constants.signals[signal];
  } finally {
    await teardownContainer(id);
    console.log(`runtime: container ${id} torn down, namespace gone: ${(await NetNamespace.list()).every((ns) => ns.name !== id)}`);
  }
}

const show = `const os = require('node:os');
console.log('inside: ' + Object.entries(os.networkInterfaces()).map(([n, a]) => n + ' ' + a[0].cidr).join(', '));
process.exit(3);`;
// The default network stays, like docker0; this removes it only if it made it.
const hadDefault = (await listNetworks()).some((net) => net.name === 'bridge');
const status = await runContainer(process.execPath, ['-e', show]);
console.log(`runtime: the program exited with status ${status}`);
const none = await runContainer(process.execPath, ['-e', show], { network: 'none' });
console.log(`runtime: in 'none' mode it exited with status ${none}`);
if (!hadDefault) await removeNetwork('bridge');
