/** The processes running in a network namespace, found as `ip netns pids` finds them. */
import { asKernelError } from './errors';
import { native } from './native';

type ProcessesByNamespace = Map<number, number[]>;

async function scanProcesses(): Promise<ProcessesByNamespace> {
  const { pids, inodes } = await asKernelError('list the processes of each namespace', () => native().processNamespaces());
  const byInode: ProcessesByNamespace = new Map();
  pids.forEach((pid, i) => {
    const inside = byInode.get(inodes[i]);
    if (inside) inside.push(pid);
    else byInode.set(inodes[i], [pid]);
  });
  return byInode;
}

// A pass over /proc serves every caller that asked before it started: a
// burst of teardowns shares one or two. A pass under way when a caller asks
// may have read past a process that entered since, so that caller joins the
// next one, which starts when the pass under way ends.
let running: Promise<ProcessesByNamespace> | undefined;
let next: Promise<ProcessesByNamespace> | undefined;

function freshScan(): Promise<ProcessesByNamespace> {
  next ??= (running ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => {
      next = undefined;
      const scan = scanProcesses().finally(() => {
        if (running === scan) running = undefined;
      });
      running = scan;
      return scan;
    });
  return next;
}

/**
 * The pids (ascending) whose network namespace has this inode, read from
 * /proc/<pid>/ns/net off the JS thread, by a pass that started after this
 * call. A process that ends meanwhile, or one this process may not look
 * into, is skipped.
 */
export async function namespacePids(inode: number): Promise<number[]> {
  return [...((await freshScan()).get(inode) ?? [])];
}
