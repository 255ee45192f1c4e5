import { spawnSync } from 'node:child_process';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { expectReject, ip, ipJson, ipLink, linkNames, newLinks, uniqueName } from '../helpers.mjs';

describe('ns.links', () => {
  const host = NetNamespace.host();
  let ns;
  let created;

  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('lk'));
    created = [];
  });
  afterEach(async () => {
    for (const name of created) await host.links.delete(name).catch(() => undefined);
    await ns.delete();
  });

  async function addHost(spec) {
    created.push(spec.name);
    return host.links.add(spec);
  }

  it('creates a veth whose peer appears in the other namespace with its name, MAC and MTU', async () => {
    const br = uniqueName('br');
    const veth = uniqueName('ve');
    await addHost({ kind: 'bridge', name: br, up: true });
    const made = await addHost({
      kind: 'veth',
      name: veth,
      mtu: 1400,
      master: br,
      up: true,
      peer: { name: 'eth0', netns: ns, mac: '02:42:ac:11:00:07', mtu: 1400 },
    });
    const hostEnd = ipLink(veth);
    expect(hostEnd.linkinfo.info_kind).to.equal('veth');
    expect(hostEnd.mtu).to.equal(1400);
    expect(hostEnd.master).to.equal(br);
    expect(hostEnd.flags).to.include('UP');
    const peer = ipLink('eth0', ns.name);
    expect(peer.address).to.equal('02:42:ac:11:00:07');
    expect(peer.mtu).to.equal(1400);
    expect(peer.linkinfo.info_kind).to.equal('veth');
    // Each end names the other's index.
    expect(hostEnd.link_index).to.equal(peer.ifindex);
    expect(peer.link_index).to.equal(hostEnd.ifindex);
    const read = await host.links.get(veth);
    expect(read).to.include({ index: hostEnd.ifindex, name: veth, kind: 'veth', mtu: 1400, up: true });
    // add() resolves to the link as the kernel made it.
    expect(made).to.include({ index: hostEnd.ifindex, name: veth, kind: 'veth', peerIndex: peer.ifindex });
    expect(read.master).to.equal(ipLink(br).ifindex);
    expect(read.peerIndex).to.equal(peer.ifindex);
    // The peer is elsewhere: its namespace's id, as `ip` reads it.
    expect(read.peerNetnsId).to.be.a('number').and.equal(hostEnd.link_netnsid);
  });

  it('creates bridges, up or down, with MAC, MTU and alias', async () => {
    const br = uniqueName('br');
    const up = uniqueName('br');
    const made = await addHost({ kind: 'bridge', name: br, mac: '02:00:00:aa:bb:cc', mtu: 9000, alias: 'nsnet:test' });
    expect(made).to.include({ name: br, kind: 'bridge', mac: '02:00:00:aa:bb:cc', mtu: 9000, alias: 'nsnet:test' });
    await addHost({ kind: 'bridge', name: up, up: true });
    const bridge = ipLink(br);
    expect(bridge.linkinfo.info_kind).to.equal('bridge');
    expect(bridge.address).to.equal('02:00:00:aa:bb:cc');
    expect(bridge.mtu).to.equal(9000);
    expect(bridge.ifalias).to.equal('nsnet:test');
    expect(bridge.flags).to.not.include('UP');
    expect(ipLink(up).flags).to.include('UP');
    expect((await host.links.get(br)).alias).to.equal('nsnet:test');
  });

  it('puts a link in an interface group at creation and on change, and reads it back', async () => {
    const br = uniqueName('br');
    const made = await addHost({ kind: 'bridge', name: br, linkGroup: 4242 });
    expect(made.linkGroup).to.equal(4242);
    expect(String(ipLink(br).group)).to.equal('4242');
    await host.links.set(br, { linkGroup: 0 });
    expect(String(ipLink(br).group)).to.equal('default');
    expect((await host.links.get(br)).linkGroup).to.equal(undefined);
    await expectReject(host.links.set(br, { linkGroup: -1 }), 'NsnetError', 'INVALID_ARGUMENT');
  });

  it('creates vxlan and macvlan links on a parent', async () => {
    const parent = uniqueName('pa');
    const vx = uniqueName('vx');
    const mv = uniqueName('mv');
    await addHost({ kind: 'bridge', name: parent, up: true });
    await addHost({ kind: 'vxlan', name: vx, id: 42, local: '10.200.0.1', group: '10.200.0.2', port: 4789, dev: parent });
    await addHost({ kind: 'macvlan', name: mv, parent, mode: 'private' });
    const vxlan = ipLink(vx).linkinfo;
    expect(vxlan.info_kind).to.equal('vxlan');
    expect(vxlan.info_data).to.include({ id: 42, local: '10.200.0.1', remote: '10.200.0.2', port: 4789, link: parent });
    expect(ipLink(mv).linkinfo.info_kind).to.equal('macvlan');
    expect(ipLink(mv).linkinfo.info_data.mode).to.equal('private');
    expect(ipLink(mv).link).to.equal(parent);
  });

  // Kernels may be built without some link kinds: nsnet must succeed exactly
  // where iproute2 does, and fail the same way where it cannot.
  for (const [kind, ipArgs, spec] of [
    ['dummy', [], {}],
    ['ipvlan', ['mode', 'l3'], { mode: 'l3' }],
  ]) {
    it(`creates a ${kind} link exactly where iproute2 can`, async () => {
      const parent = uniqueName('pa');
      await addHost({ kind: 'bridge', name: parent });
      const probe = uniqueName('pr');
      const linkArgs = kind === 'ipvlan' ? ['link', parent] : [];
      const ipResult = spawnSync('ip', ['link', 'add', ...linkArgs, 'name', probe, 'type', kind, ...ipArgs], { encoding: 'utf8' });
      if (ipResult.status === 0) ip(['link', 'del', probe]);
      const name = uniqueName(kind.slice(0, 2));
      const request = host.links.add({ kind, name, ...(kind === 'ipvlan' ? { parent } : {}), ...spec });
      if (ipResult.status === 0) {
        created.push(name);
        await request;
        expect(ipLink(name).linkinfo.info_kind).to.equal(kind);
      } else {
        expect(ipResult.stderr).to.contain('Unknown device type');
        const error = await expectReject(request, 'NetlinkError', 'EOPNOTSUPP');
        expect(error.extack).to.equal('Unknown device type');
        expect(ipLink(name)).to.equal(undefined);
      }
    });
  }

  it('changes state, MTU, MAC, master, alias and name', async () => {
    const br = uniqueName('br');
    const veth = uniqueName('ve');
    const renamed = uniqueName('rn');
    await addHost({ kind: 'bridge', name: br });
    await addHost({ kind: 'veth', name: veth, peer: { name: uniqueName('pe') } });
    created.push(renamed);
    await host.links.set(veth, { up: true, mtu: 1280, mac: '02:00:00:00:00:42', master: br, alias: 'owned' });
    let link = ipLink(veth);
    expect(link.flags).to.include('UP');
    expect(link).to.include({ mtu: 1280, address: '02:00:00:00:00:42', master: br, ifalias: 'owned' });
    await host.links.set(veth, { master: null, up: false });
    link = ipLink(veth);
    expect(link.master).to.equal(undefined);
    expect(link.flags).to.not.include('UP');
    const { index } = await host.links.get(veth);
    await host.links.set(veth, { name: renamed });
    expect(ipLink(veth)).to.equal(undefined);
    expect(ipLink(renamed).ifindex).to.equal(index);
    await host.links.set(index, { mtu: 1500 });
    expect(ipLink(renamed).mtu).to.equal(1500);
  });

  it('moves a link into another namespace', async () => {
    const veth = uniqueName('mv');
    const peer = uniqueName('pe');
    await addHost({ kind: 'veth', name: veth, peer: { name: peer } });
    await host.links.set(peer, { netns: ns });
    expect(ipLink(peer)).to.equal(undefined);
    expect(ipLink(peer, ns.name).linkinfo.info_kind).to.equal('veth');
    expect((await ns.links.get(peer)).name).to.equal(peer);
    // Bridges are bound to their namespace: the kernel refuses, with reason.
    const br = uniqueName('br');
    await addHost({ kind: 'bridge', name: br });
    const error = await expectReject(host.links.set(br, { netns: ns }), 'NetlinkError', 'EINVAL');
    expect(error.extack).to.contain('netns');
  });

  it('gets by name or index, lists what ip lists, and filters by kind and master', async () => {
    const br = uniqueName('br');
    const a = uniqueName('va');
    const b = uniqueName('vb');
    await addHost({ kind: 'bridge', name: br });
    await addHost({ kind: 'veth', name: a, master: br, peer: { name: uniqueName('pa'), netns: ns } });
    await addHost({ kind: 'veth', name: b, peer: { name: uniqueName('pb'), netns: ns } });
    const byName = await host.links.get(a);
    expect(await host.links.get(byName.index)).to.deep.equal(byName);
    const ours = (await host.links.list()).map((link) => [link.index, link.name, link.mtu, link.mac]);
    const theirs = ipJson(['link']).map((link) => [link.ifindex, link.ifname, link.mtu, link.address]);
    expect(ours).to.deep.equal(theirs);
    const veths = (await host.links.list({ kind: 'veth' })).map((link) => link.name);
    expect(veths).to.include.members([a, b]);
    expect(veths).to.not.include(br);
    expect((await host.links.list({ master: br })).map((link) => link.name)).to.deep.equal([a]);
  });

  it('briefs: every link ip lists, with its index, name, state and master, as list() has them', async () => {
    const br = uniqueName('br');
    const a = uniqueName('va');
    const b = uniqueName('vb');
    await addHost({ kind: 'bridge', name: br, up: true });
    await addHost({ kind: 'veth', name: a, master: br, up: true, peer: { name: uniqueName('pa'), netns: ns } });
    await addHost({ kind: 'veth', name: b, peer: { name: uniqueName('pb'), netns: ns } });
    const briefs = await host.links.briefs();
    expect(briefs).to.deep.equal((await host.links.list()).map(({ index, name, up, master }) => (master ? { index, name, up, master } : { index, name, up })));
    const nameOf = (index) => ipJson(['link']).find((link) => link.ifindex === index)?.ifname;
    expect(briefs.map((link) => [link.index, link.name, link.master && nameOf(link.master)])).to.deep.equal(
      ipJson(['link']).map((link) => [link.ifindex, link.ifname, link.master]),
    );
    expect(briefs.find((link) => link.name === a)).to.include({ up: true, master: ipLink(br).ifindex });
    expect(briefs.find((link) => link.name === b)).to.deep.equal({ index: ipLink(b).ifindex, name: b, up: false });
  });

  it('deletes a veth from either end, and both ends go', async () => {
    const veth = uniqueName('ve');
    await host.links.add({ kind: 'veth', name: veth, peer: { name: 'eth1', netns: ns } });
    await ns.links.delete('eth1');
    expect(ipLink(veth)).to.equal(undefined);
    expect(ipLink('eth1', ns.name)).to.equal(undefined);
  });

  it('reports EEXIST and ENODEV from the kernel with the operation', async () => {
    const br = uniqueName('br');
    await addHost({ kind: 'bridge', name: br });
    const exists = await expectReject(host.links.add({ kind: 'bridge', name: br }), 'NetlinkError', 'EEXIST');
    expect(exists.errno).to.equal(17);
    expect(exists.op).to.contain(br);
    const missing = uniqueName('no');
    await expectReject(host.links.get(missing), 'NetlinkError', 'ENODEV');
    await expectReject(host.links.delete(missing), 'NetlinkError', 'ENODEV');
    await expectReject(host.links.set(missing, { up: true }), 'NetlinkError', 'ENODEV');
    await expectReject(host.links.get(987654), 'NetlinkError', 'ENODEV');
  });

  it('passes on the kernel extended-ACK text', async () => {
    const outer = uniqueName('br');
    const inner = uniqueName('br');
    await addHost({ kind: 'bridge', name: outer });
    await addHost({ kind: 'bridge', name: inner });
    // A bridge cannot be a port of a bridge: the kernel says so in the ACK.
    const error = await expectReject(host.links.set(inner, { master: outer }), 'NetlinkError', 'ELOOP');
    expect(error.extack).to.be.a('string').and.not.be.empty;
    expect(error.message).to.contain(error.extack);
  });

  it('refuses invalid names, MACs and MTUs before touching the kernel', async () => {
    const before = linkNames();
    const bad = [
      { kind: 'dummy', name: 'x'.repeat(16) },
      { kind: 'veth', name: 'ok', peer: { name: 'p', up: true } },
      { kind: 'veth', name: 'ok', peer: { name: 'p', alias: 'x' } },
      { kind: 'bridge', name: 'ok', alias: 'a'.repeat(256) },
      { kind: 'dummy', name: 'a/b' },
      { kind: 'dummy', name: 'a:b' },
      { kind: 'dummy', name: 'a b' },
      { kind: 'dummy', name: '' },
      { kind: 'dummy', name: 'ok', mac: '01:00:5e:00:00:01' },
      { kind: 'dummy', name: 'ok', mac: 'zz:00:00:00:00:01' },
      { kind: 'dummy', name: 'ok', mtu: 67 },
      { kind: 'dummy', name: 'ok', mtu: 65536 },
      { kind: 'teapot', name: 'ok' },
      { kind: 'veth', name: 'ok', peer: { name: 'y'.repeat(16) } },
      { kind: 'veth', name: 'ok', peer: { name: 'p', netns: {} } },
    ];
    for (const spec of bad) await expectReject(host.links.add(spec), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(host.links.set('lo', { mtu: 10 }), 'NsnetError', 'INVALID_ARGUMENT');
    await expectReject(host.links.get('bad name'), 'NsnetError', 'INVALID_ARGUMENT');
    expect(newLinks(before)).to.deep.equal([]);
  });

  it('batches many concurrent requests, each with its own result', async function () {
    this.timeout(60000);
    const names = Array.from({ length: 300 }, () => uniqueName('b'));
    created.push(...names);
    await Promise.all(names.map((name) => host.links.add({ kind: 'bridge', name })));
    // One more of each fails on its own: the batch reports per request.
    const results = await Promise.allSettled([
      host.links.add({ kind: 'bridge', name: names[0] }),
      host.links.set(names[1], { mtu: 1300 }),
      host.links.delete(uniqueName('no')),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'fulfilled', 'rejected']);
    expect(results[0].reason.code).to.equal('EEXIST');
    expect(results[2].reason.code).to.equal('ENODEV');
    expect(ipLink(names[1]).mtu).to.equal(1300);
    const present = new Set(ipJson(['link']).map((link) => link.ifname));
    for (const name of names) expect(present.has(name), name).to.equal(true);
    await Promise.all(names.map((name) => host.links.delete(name)));
    const after = new Set(ipJson(['link']).map((link) => link.ifname));
    for (const name of names) expect(after.has(name), name).to.equal(false);
  });

  it('settles every request when the handle closes mid-burst: queued ones fail NAMESPACE_CLOSED', async function () {
    this.timeout(60000);
    const other = await NetNamespace.open(ns.name);
    const names = Array.from({ length: 600 }, () => uniqueName('c'));
    const first = names.slice(0, 300).map((name) => other.links.add({ kind: 'bridge', name }));
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is with the kernel
    const second = names.slice(300).map((name) => other.links.add({ kind: 'bridge', name }));
    other.close();
    const results = await Promise.allSettled([...first, ...second]);
    const codes = new Set(results.filter((r) => r.status === 'rejected').map((r) => r.reason.code));
    expect([...codes].filter((code) => code !== "NAMESPACE_CLOSED")).to.deep.equal([]);
    // Whatever the kernel acknowledged exists; nothing reported failed does.
    const present = new Set(ipJson(['link'], ns.name).map((link) => link.ifname));
    results.forEach((result, i) => expect(present.has(names[i]), names[i]).to.equal(result.status === 'fulfilled'));
  });
});
