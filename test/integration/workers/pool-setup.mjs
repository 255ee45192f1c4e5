// Fills a pool of one on NETWORK, then sets up container ID from it (under
// the NSNET_FAULT the test set: its steps count from the setup on), and
// prints the outcome as one JSON line (a fault that kills prints nothing).
// Usage: node pool-setup.mjs NETWORK ID PORT
import { getNetwork, setupContainer } from '../../../dist/index.js';

const [network, id, port] = process.argv.slice(2);
await (await getNetwork(network)).pool(1).filled();
let outcome;
try {
  await setupContainer(id, { network, publish: [`${port}:80`] });
  outcome = { ok: true };
} catch (error) {
  outcome = { ok: false, code: error.code, message: error.message };
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
process.exit(0);
