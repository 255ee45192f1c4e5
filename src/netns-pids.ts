/** The processes running in a network namespace, found as `ip netns pids` finds them. */
import { asKernelError } from './errors';
import { native } from './native';

// The scan under way, shared by every caller that asks meanwhile: one pass
// over /proc serves a burst of teardowns.
let scan: Promise<Map<number, number[]>> | undefined;

async function scanProcesses(): Promise<Map<number, number[]>> {
  const { pids, inodes } = await asKernelError('list the processes of each namespace', () => native().processNamespaces());
  const byInode = new Map<number, number[]>();
  pids.forEach((pid, i) => {
    const inside = byInode.get(inodes[i]);
    if (inside) inside.push(pid);
    else byInode.set(inodes[i], [pid]);
  });
  return byInode;
}

/**
 * The pids (ascending) whose network namespace has this inode, read from
 * /proc/<pid>/ns/net off the JS thread. A process that ends meanwhile, or
 * one this process may not look into, is skipped.
 */
export async function namespacePids(inode: number): Promise<number[]> {
  scan ??= scanProcesses().finally(() => (scan = undefined));
  return [...((await scan).get(inode) ?? [])];
}
