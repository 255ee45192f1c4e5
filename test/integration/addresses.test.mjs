import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { expectReject, ipJson, uniqueName } from '../helpers.mjs';

/** Addresses of `dev` as iproute2 reads them: "addr/len" plus flags. */
function ipAddresses(dev, netns) {
  const [entry] = ipJson(['addr', 'show', 'dev', dev], netns);
  return entry.addr_info.map((a) => ({ cidr: `${a.local}/${a.prefixlen}`, family: a.family, info: a }));
}

describe('ns.addresses', () => {
  let ns;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('ad'));
    await ns.links.add({ kind: 'bridge', name: 'eth0', up: true });
  });
  afterEach(async () => {
    await ns.delete();
  });

  it('adds and deletes IPv4 and IPv6 addresses', async () => {
    await ns.addresses.add('eth0', '10.77.0.2/24');
    await ns.addresses.add('eth0', 'fd00:77::2/64', { nodad: true });
    let cidrs = ipAddresses('eth0', ns.name).map((a) => a.cidr);
    expect(cidrs).to.include.members(['10.77.0.2/24', 'fd00:77::2/64']);
    await ns.addresses.delete('eth0', '10.77.0.2/24');
    await ns.addresses.delete('eth0', 'fd00:77::2/64');
    cidrs = ipAddresses('eth0', ns.name).map((a) => a.cidr);
    expect(cidrs).to.not.include.members(['10.77.0.2/24']);
    expect(cidrs).to.not.include('fd00:77::2/64');
  });

  it('adds an IPv6 address with no DAD: usable at once, never tentative', async () => {
    await ns.addresses.add('eth0', 'fd00:78::2/64', { nodad: true });
    const info = ipAddresses('eth0', ns.name).find((a) => a.cidr === 'fd00:78::2/64').info;
    expect(info.nodad).to.equal(true);
    expect(info.tentative).to.equal(undefined);
  });

  it('lists what ip lists, filtered by device and family', async () => {
    await ns.links.set('lo', { up: true });
    await ns.addresses.add('eth0', '10.77.0.2/24');
    await ns.addresses.add('eth0', '10.77.1.2/16');
    await ns.addresses.add('eth0', 'fd00:77::2/64', { nodad: true });
    const ours = (await ns.addresses.list()).map((a) => `${a.dev} ${a.cidr}`).sort();
    const theirs = ipJson(['addr'], ns.name)
      .flatMap((link) => link.addr_info.map((a) => `${link.ifname} ${a.local}/${a.prefixlen}`))
      .sort();
    expect(ours).to.deep.equal(theirs);
    const v4 = await ns.addresses.list({ dev: 'eth0', family: 4 });
    expect(v4.map((a) => a.cidr).sort()).to.deep.equal(['10.77.0.2/24', '10.77.1.2/16']);
    expect(v4[0]).to.include({ dev: 'eth0', family: 4 });
    expect(v4[0].index).to.equal(ipJson(['link', 'show', 'eth0'], ns.name)[0].ifindex);
    const v6 = await ns.addresses.list({ dev: 'eth0', family: 6 });
    expect(v6.map((a) => a.cidr)).to.include('fd00:77::2/64');
    expect(v6.every((a) => a.family === 6)).to.equal(true);
  });

  it('reports EEXIST for a duplicate and EADDRNOTAVAIL for a missing address', async () => {
    await ns.addresses.add('eth0', '10.77.0.2/24');
    await expectReject(ns.addresses.add('eth0', '10.77.0.2/24'), 'NetlinkError', 'EEXIST');
    await expectReject(ns.addresses.delete('eth0', '10.77.9.9/24'), 'NetlinkError', 'EADDRNOTAVAIL');
    await expectReject(ns.addresses.add('nodev0', '10.77.0.3/24'), 'NetlinkError', 'ENODEV');
  });

  it('refuses malformed addresses before touching the kernel', async () => {
    for (const bad of ['10.77.0.256/24', '10.77.0.2/33', 'fd00::1/129', '10.77.0.2/', 'fe80::1%eth0/64', 'eth0', '', 42]) {
      await expectReject(ns.addresses.add('eth0', bad), 'NsnetError', 'INVALID_ARGUMENT');
    }
    expect(ipAddresses('eth0', ns.name).filter((a) => a.family === 'inet')).to.deep.equal([]);
  });
});
