// Runs one nsnet operation for the fault-injection test, under the
// NSNET_FAULT the test set, and prints its outcome as one JSON line (a
// fault that kills the process prints nothing).
//
//   node fault-operation.mjs OPERATION 'ARGUMENTS AS JSON'
import {
  createBridgeNetwork,
  createMacvlanNetwork,
  createRoutedNetwork,
  getNetwork,
  reconcile,
  removeNetwork,
  setupContainer,
  teardownContainer,
} from '../../../dist/index.js';

const [operation, json] = process.argv.slice(2);
const args = JSON.parse(json);

const operations = {
  setupContainer: () => setupContainer(args.id, args.options),
  teardownContainer: () => teardownContainer(args.id),
  connect: async () => (await getNetwork(args.network)).connect(args.netns, args.options),
  disconnect: async () => (await getNetwork(args.network)).disconnect(args.netns),
  createBridgeNetwork: () => createBridgeNetwork(args.options),
  createMacvlanNetwork: () => createMacvlanNetwork(args.options),
  createRoutedNetwork: () => createRoutedNetwork(args.options),
  removeNetwork: () => removeNetwork(args.name, args.options),
  reconcile: () => reconcile(),
};

let outcome;
try {
  const result = await operations[operation]();
  outcome = { ok: true, failures: result?.failures };
} catch (error) {
  outcome = { ok: false, name: error.name, code: error.code, message: error.message };
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
process.exit(0);
