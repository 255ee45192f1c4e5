// Root hooks of the integration suites: refuse to run outside the sandbox,
// and after every test check that no thread of this process was left in
// another network namespace.
import { readdirSync, readlinkSync } from 'node:fs';

let sandboxNamespace;

function threadNamespaces() {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return { tid, ns: readlinkSync(`/proc/self/task/${tid}/ns/net`) };
    } catch {
      return { tid, ns: sandboxNamespace }; // the thread ended meanwhile
    }
  });
}

export const mochaHooks = {
  beforeAll() {
    if (process.env.NSNET_SANDBOX !== 'inside') {
      throw new Error('integration tests run only inside scripts/sandbox (use `npm test`)');
    }
    sandboxNamespace = readlinkSync('/proc/self/ns/net');
  },
  afterEach() {
    const strays = threadNamespaces().filter((thread) => thread.ns !== sandboxNamespace);
    if (strays.length > 0) {
      throw new Error(`threads left in another network namespace: ${JSON.stringify(strays)}`);
    }
  },
};
