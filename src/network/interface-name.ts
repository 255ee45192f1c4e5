/** The name of a namespace's next interface, when a connect asks for none. */
import type { NetNamespace } from '../netns';

/**
 * The lowest ethN no interface of `ns` has, as Docker names a container's
 * interfaces (libnetwork's generateIfaceName): eth1 beside eth0, and eth0
 * again once it is gone.
 */
export async function freeInterfaceName(ns: NetNamespace): Promise<string> {
  const taken = new Set((await ns.links.list()).map((link) => link.name));
  let n = 0;
  while (taken.has(`eth${n}`)) n++;
  return `eth${n}`;
}
