/** The namespace a network operation is aimed at: a handle, a name, a path or a pid. */
import { invalid } from '../errors';
import { NetNamespace, type NamespaceTarget } from '../netns';

export type ConnectTarget = NetNamespace | NamespaceTarget;

/** Opens the target; `owned` says whether the caller must release it. */
export async function openTarget(target: ConnectTarget): Promise<{ ns: NetNamespace; owned: boolean }> {
  if (target instanceof NetNamespace) return { ns: target, owned: false };
  if (typeof target !== 'string' && (typeof target !== 'object' || target === null)) {
    throw invalid('target must be a NetNamespace, a namespace name or path, or { pid }');
  }
  return { ns: await NetNamespace.open(target), owned: true };
}
