// Adds (or removes) COUNT made-up remote containers on the VXLAN device
// VXLAN of this namespace, as one applyRemotes batch ('batch') or as one
// request per entry, each awaited ('single'); prints { ms } as JSON. Run
// under strace to count the netlink sends.
//   node remotes-batch.mjs VXLAN COUNT batch|single add|remove
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { NetNamespace } = require('../../dist/index.js');
const { applyRemotes } = require('../../dist/network/overlay-dataplane.js');

const [vxlan, countText, mode, op] = process.argv.slice(2);
const count = Number(countText);

/** The i-th made-up remote: a MAC and an address of its own, on one of 50 hosts. */
function madeUpRemote(i) {
  const hi = (i >> 8) & 0xff;
  const lo = i & 0xff;
  const hex = (n) => n.toString(16).padStart(2, '0');
  return { mac: `02:42:0a:d7:${hex(hi)}:${hex(lo)}`, ipv4: `10.215.${hi}.${lo}`, host: `10.213.1.${1 + (i % 50)}` };
}

const remotes = Array.from({ length: count }, (_, i) => madeUpRemote(i));
const neighbours = NetNamespace.host().neighbours;
const dev = await NetNamespace.host().links.indexOf(vxlan);

async function one(op, remote) {
  // The entries applyRemotes makes: both modes program the same permanent entries.
  const fdb = { family: 'bridge', dev, mac: remote.mac, self: true, dst: remote.host, permanent: true };
  const arp = { family: 4, dev, address: remote.ipv4, mac: remote.mac, state: 'permanent' };
  if (op === 'add') {
    await neighbours.replace(fdb);
    await neighbours.replace(arp);
  } else {
    await neighbours.delete(fdb);
    await neighbours.delete(arp);
  }
}

const start = performance.now();
if (mode === 'batch') await applyRemotes(vxlan, op === 'add' ? { add: remotes, remove: [] } : { add: [], remove: remotes });
else for (const remote of remotes) await one(op, remote);
process.stdout.write(`${JSON.stringify({ ms: performance.now() - start })}\n`);
