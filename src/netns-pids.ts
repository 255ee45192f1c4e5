/** The processes running in a network namespace, found as `ip netns pids` finds them. */
import { asKernelError } from './errors';
import { native } from './native';

/**
 * The pids (ascending) whose network namespace has this inode, read from
 * /proc/<pid>/ns/net off the JS thread. A process that ends meanwhile, or
 * one this process may not look into, is skipped.
 */
export function namespacePids(inode: number): Promise<number[]> {
  return asKernelError('list the processes of a namespace', () => native().namespacePids(inode));
}
