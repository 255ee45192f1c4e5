/** The processes running in a network namespace, found as `ip netns pids` finds them. */
import * as fs from 'node:fs';

/**
 * The pids (ascending) whose network namespace has this inode: each
 * /proc/<pid>/ns/net is compared with it. A process that ends meanwhile, or
 * one this process may not look into, is skipped.
 */
export async function namespacePids(inode: number): Promise<number[]> {
  const entries = await fs.promises.readdir('/proc');
  const pids = entries.filter((entry) => /^[0-9]+$/.test(entry)).map(Number);
  const inside = await Promise.all(
    pids.map((pid) =>
      fs.promises.stat(`/proc/${pid}/ns/net`).then(
        (stat) => stat.ino === inode,
        () => false,
      ),
    ),
  );
  return pids.filter((_, i) => inside[i]).sort((a, b) => a - b);
}
