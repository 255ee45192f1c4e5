// Root hooks of the integration suites: refuse to run outside the sandbox,
// and after every test check that no thread of this process was left in
// another network namespace.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// Containers' resolv.conf files go to /etc/netns/<name>/ by default: unless
// the sandbox has an /etc of its own (its overlay) or covers /etc/netns with a
// mount, they go to its /run (a tmpfs), never to the machine's /etc. Set here, before any test starts a
// program, so that the nsnet commands the tests run write there too.
const etcNetnsCovered = readFileSync('/proc/self/mounts', 'utf8')
  .split('\n')
  .some((line) => line.split(' ')[1] === '/etc/netns' || line.startsWith('nsnet-sandbox-etc /etc overlay '));
if (process.env.NSNET_SANDBOX === 'inside' && !etcNetnsCovered && !process.env.NSNET_NETNS_ETC_DIR) {
  process.env.NSNET_NETNS_ETC_DIR = '/run/nsnet-etc-netns';
}

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
