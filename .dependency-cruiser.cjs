/**
 * The layers of src/, top to bottom (`npm run check:layers`):
 *
 *   cli → cni → network → dns (the resolver service and its client) → ipam, firewall, state,
 *     cluster (the etcd store of overlay networks)
 *     → netns.ts, rtnl/, kernel/ (the netlink connections), spawn.ts, sysctl.ts → native.ts → native-location.ts
 *
 * A module imports only from layers below its own. src/errors.ts, src/fault.ts
 * (the tests' fault switch) and src/types/ are the bottom, which every layer
 * may import: errors.ts imports nothing of nsnet's, fault.ts only errors.ts,
 * types/ only itself and errors.ts. Type-only imports
 * count too (tsPreCompilationDeps).
 */
const KERNEL_LAYER = '^src/(rtnl/|kernel/|netns[^/]*$|spawn\\.ts$|sysctl\\.ts$|native(-location)?\\.ts$)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle has no bottom: neither module can be read, tested or loaded without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'The nsnet command uses the library; nothing uses the command.',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cni-only-from-cli',
      severity: 'error',
      comment: 'The CNI plugin uses the library; the library (src/index.ts included) never imports its plugin.',
      from: { pathNot: '^src/(cli|cni)/' },
      to: { path: '^src/cni/' },
    },
    {
      name: 'network-is-above',
      severity: 'error',
      comment: 'Networks use ipam, the firewall, the state and the kernel layer, never the other way round.',
      from: { path: `^src/(dns|ipam|firewall|state|cluster)/|${KERNEL_LAYER}` },
      to: { path: '^src/network/' },
    },
    {
      name: 'dns-is-above-state',
      severity: 'error',
      comment: 'The resolver reads the state directory and the kernel layer; they know nothing of names.',
      from: { path: `^src/(ipam|firewall|state)/|${KERNEL_LAYER}` },
      to: { path: '^src/dns/' },
    },
    {
      name: 'cluster-beside-state',
      comment: 'The etcd store of overlay networks knows nothing of names, ipam, the firewall or the state directory, nor they of it.',
      severity: 'error',
      from: { path: '^src/cluster/' },
      to: { path: '^src/(dns|ipam|firewall|state)/' },
    },
    {
      name: 'cluster-is-above-the-kernel-layer',
      severity: 'error',
      comment: 'The kernel layer, ipam, the firewall and the state directory know nothing of the store.',
      from: { path: `^src/(ipam|firewall|state|dns)/|${KERNEL_LAYER}` },
      to: { path: '^src/cluster/' },
    },
    {
      name: 'firewall-is-above-state-and-ipam',
      severity: 'error',
      comment: 'The state directory and address management know nothing of the firewall.',
      from: { path: '^src/(state|ipam)/' },
      to: { path: '^src/firewall/' },
    },
    {
      name: 'firewall-beside-ipam',
      severity: 'error',
      comment: 'Ports and rules need address text (types/ip.ts), not address management: the network layer joins the two.',
      from: { path: '^src/firewall/' },
      to: { path: '^src/ipam/' },
    },
    {
      name: 'kernel-layer-is-below',
      severity: 'error',
      comment: 'Namespaces, rtnetlink, process spawning and sysctls know nothing of the firewall, ipam or the state.',
      from: { path: KERNEL_LAYER },
      to: { path: '^src/(firewall|ipam|state)/' },
    },
    {
      name: 'native-is-the-bottom',
      severity: 'error',
      comment: 'The addon interface and its loader import only the bottom modules (and the interface its loader).',
      from: { path: '^src/native(-location)?\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(errors\\.ts$|types/|native-location\\.ts$)' },
    },
    {
      name: 'errors-import-nothing',
      severity: 'error',
      comment: 'src/errors.ts is imported by everyone, so it imports nothing of nsnet\'s.',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'fault-switch-is-the-bottom',
      comment: 'src/fault.ts counts the steps of every layer, so it imports only src/errors.ts.',
      severity: 'error',
      from: { path: '^src/fault\\.ts$' },
      to: { path: '^src/', pathNot: '^src/errors\\.ts$' },
    },
    {
      name: 'types-are-the-bottom',
      severity: 'error',
      comment: 'src/types/ is imported by everyone, so it imports only itself and src/errors.ts.',
      from: { path: '^src/types/' },
      to: { path: '^src/', pathNot: '^src/(types/|errors\\.ts$)' },
    },
  ],
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.d\\.ts$' },
  },
};
