// ns.neighbours: ARP/NDP entries checked against `ip -j neigh`, bridge FDB
// entries (a VXLAN device's remotes, a bridge port's static entries) against
// `bridge -j fdb`; bad input refused with nothing sent.
import { execFileSync } from 'node:child_process';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { expectReject, ipJson, uniqueName } from '../helpers.mjs';

/** `bridge -j -n NETNS fdb show dev DEV`, parsed. */
function bridgeFdb(dev, netns) {
  const out = execFileSync('bridge', ['-j', '-n', netns, 'fdb', 'show', 'dev', dev], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

/** An FDB entry as `bridge -j fdb` prints it, from ours. */
function asBridgePrints(entry) {
  const printed = { mac: entry.mac, flags: entry.self ? ['self'] : [], state: entry.state };
  if (entry.dst) printed.dst = entry.dst;
  if (entry.master) printed.master = entry.master;
  return printed;
}

const byText = (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b));

describe('ns.neighbours', () => {
  let ns;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('nb'));
    await ns.links.add({ kind: 'bridge', name: 'br0' });
    await ns.links.add({ kind: 'veth', name: 'p0', master: 'br0', peer: { name: 'p0x' } });
    await ns.links.add({ kind: 'vxlan', name: 'vx0', id: 5, port: 4789, local: '10.0.0.1' });
  });
  afterEach(async () => {
    await ns.delete();
  });

  it('adds, replaces, lists and deletes ARP and NDP entries as ip neigh sees them', async () => {
    await ns.neighbours.add({ dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:09' });
    await ns.neighbours.add({ dev: 'br0', address: 'fd00::9', lladdr: '02:00:00:00:00:0A', state: 'stale', router: true });
    const theirs = ipJson(['neigh', 'show', 'dev', 'br0'], ns.name).map((n) => ({
      family: n.dst.includes(':') ? 6 : 4,
      dev: 'br0',
      address: n.dst,
      mac: n.lladdr,
      state: n.state[0].toLowerCase(),
      ...('router' in n ? { router: true } : {}), // ip -j prints a flag as a key with null
    }));
    const ours = await ns.neighbours.list({ dev: 'br0', family: 4 }).then(async (v4) => [...v4, ...(await ns.neighbours.list({ dev: 'br0', family: 6 }))]);
    expect(ours.sort(byText)).to.deep.equal(theirs.sort(byText));
    expect(ours.find((n) => n.family === 6)).to.include({ state: 'stale', router: true, mac: '02:00:00:00:00:0a' });

    await expectReject(ns.neighbours.add({ dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:10' }), 'NetlinkError', 'EEXIST');
    await ns.neighbours.replace({ dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:10' });
    expect(ipJson(['neigh', 'show', 'dev', 'br0', 'to', '10.0.0.9'], ns.name)[0].lladdr).to.equal('02:00:00:00:00:10');

    await ns.neighbours.delete({ dev: 'br0', address: '10.0.0.9' });
    await ns.neighbours.delete({ dev: 'br0', address: 'fd00::9' });
    expect(ipJson(['neigh', 'show', 'dev', 'br0'], ns.name).filter((n) => !n.state.includes('FAILED'))).to.deep.equal([]);
    await expectReject(ns.neighbours.delete({ dev: 'br0', address: '10.0.0.9' }), 'NetlinkError', 'ENOENT');
  });

  it("programs a VXLAN device's remotes (dst), appended and deleted one by one, as bridge fdb sees them", async () => {
    const flood = { family: 'bridge', dev: 'vx0', mac: '00:00:00:00:00:00' };
    await ns.neighbours.append({ ...flood, dst: '10.0.0.2' });
    await ns.neighbours.append({ ...flood, dst: '10.0.0.3' });
    await ns.neighbours.add({ family: 'bridge', dev: 'vx0', mac: '02:00:00:00:00:aa', dst: '10.0.0.4' });
    const ours = await ns.neighbours.list({ dev: 'vx0', family: 'bridge' });
    expect(ours.map(asBridgePrints).sort(byText)).to.deep.equal(bridgeFdb('vx0', ns.name).sort(byText));
    expect(ours.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst).sort()).to.deep.equal(['10.0.0.2', '10.0.0.3']);
    expect(ours.find((e) => e.mac === '02:00:00:00:00:aa')).to.deep.equal({
      family: 'bridge', dev: 'vx0', mac: '02:00:00:00:00:aa', self: true, dst: '10.0.0.4', permanent: true, state: 'permanent',
    });

    await ns.neighbours.delete({ ...flood, dst: '10.0.0.2' });
    expect(bridgeFdb('vx0', ns.name).filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst)).to.deep.equal(['10.0.0.3']);
    await ns.neighbours.delete({ family: 'bridge', dev: 'vx0', mac: '02:00:00:00:00:aa', dst: '10.0.0.4' });
    expect(bridgeFdb('vx0', ns.name).some((e) => e.mac === '02:00:00:00:00:aa')).to.equal(false);
  });

  it("adds a static entry to the table of a port's bridge (master), by flag or by the bridge's name", async () => {
    await ns.neighbours.add({ family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:aa', master: true, permanent: false });
    await ns.neighbours.add({ family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:bb', master: 'br0' });
    const ours = await ns.neighbours.list({ dev: 'p0', family: 'bridge' });
    expect(ours.map(asBridgePrints).sort(byText)).to.deep.equal(bridgeFdb('p0', ns.name).sort(byText));
    expect(ours.find((e) => e.mac === '02:00:00:00:00:aa')).to.deep.equal({
      family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:aa', master: 'br0', permanent: false, state: 'static',
    });
    expect(ours.find((e) => e.mac === '02:00:00:00:00:bb')).to.include({ master: 'br0', permanent: true, state: 'permanent' });
    await ns.neighbours.delete({ family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:aa', master: true });
    expect(bridgeFdb('p0', ns.name).some((e) => e.mac === '02:00:00:00:00:aa')).to.equal(false);
  });

  it('lists every family with no filter, and each alone', async () => {
    await ns.neighbours.add({ dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:09' });
    await ns.neighbours.append({ family: 'bridge', dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.0.0.2' });
    const all = await ns.neighbours.list();
    const families = await Promise.all([4, 6, 'bridge'].map((family) => ns.neighbours.list({ family })));
    expect(all.sort(byText)).to.deep.equal(families.flat().sort(byText));
    expect(families[0].map((n) => n.address)).to.deep.equal(['10.0.0.9']);
    expect(families[2].some((e) => e.dev === 'vx0' && e.dst === '10.0.0.2')).to.equal(true);
  });

  it('refuses bad entries before sending anything', async () => {
    const refused = [
      {},
      { dev: 'br0', address: '10.0.0.9' }, // no mac to add
      { dev: 'br0', address: '10.0.0.300', mac: '02:00:00:00:00:09' },
      { dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00' },
      { dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:09', state: 'sticky' },
      { dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:09', family: 6 },
      { dev: 'bad name', address: '10.0.0.9', mac: '02:00:00:00:00:09' },
      { family: 'bridge', dev: 'vx0' }, // no mac
      { family: 'bridge', dev: 'vx0', mac: '00:00:00:00:00:00', dst: 'nowhere' },
      { family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:aa', master: 'vx0' }, // not its bridge
      { family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:aa', master: 1 },
      { family: 'bridge', dev: 'p0', mac: '02:00:00:00:00:aa', vlan: 4095 },
    ];
    for (const entry of refused) await expectReject(ns.neighbours.add(entry), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(ns.neighbours.append({ dev: 'br0', address: '10.0.0.9', mac: '02:00:00:00:00:09' }), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(ns.neighbours.append({ family: 'bridge', dev: 'vx0', mac: '00:00:00:00:00:00' }), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(ns.neighbours.list({ family: 5 }), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(ns.neighbours.list({ family: '4' }), 'NsnetError', 'INVALID_ARGUMENT');
    expect(ipJson(['neigh', 'show'], ns.name)).to.deep.equal([]);
    expect(bridgeFdb('vx0', ns.name)).to.deep.equal([]);
    expect(bridgeFdb('p0', ns.name).some((e) => e.mac === '02:00:00:00:00:aa')).to.equal(false);
  });
});
