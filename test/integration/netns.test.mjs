import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { NetNamespace, netnsDir } from '../../dist/index.js';
import { expectReject, ip, ipJson, stop, uniqueName } from '../helpers.mjs';

function ipNetnsNames() {
  return ipJson(['netns', 'list']).map((entry) => entry.name);
}

describe('NetNamespace', () => {
  it('creates a named namespace that ip netns sees, with its own interfaces', async () => {
    const name = uniqueName('ns');
    const ns = await NetNamespace.create(name);
    try {
      expect(ns.name).to.equal(name);
      expect(ns.path).to.equal(join(netnsDir(), name));
      expect(ipNetnsNames()).to.include(name);
      expect(ns.inode).to.equal(statSync(ns.path).ino);
      expect(ns.inode).to.not.equal(NetNamespace.host().inode);
      const links = ipJson(['link'], name).map((link) => link.ifname);
      expect(links).to.deep.equal(['lo']);
    } finally {
      await ns.delete();
    }
    expect(existsSync(join(netnsDir(), name))).to.equal(false);
    expect(ipNetnsNames()).to.not.include(name);
  });

  it('deleteHolding runs its work once the file is gone and before the namespace is let go, even from a handle at rest', async () => {
    const name = uniqueName('nh');
    const ns = await NetNamespace.create(name);
    const hostEnd = uniqueName('vh').slice(0, 15);
    await NetNamespace.host().links.add({ kind: 'veth', name: hostEnd, peer: { name: 'eth0', netns: ns } });
    ns.release();
    const seen = await ns.deleteHolding(async () => ({
      file: existsSync(ns.path),
      // The namespace, held by the handle alone, still has its end of the veth, so the host end is there.
      hostEnd: ipJson(['link', 'show', 'dev', hostEnd]).length,
    }));
    expect(seen).to.deep.equal({ file: false, hostEnd: 1 });
    expect(ns.closed).to.equal(true);
    // Let go, the kernel removes the namespace and the veth with it.
    const deadline = Date.now() + 10000;
    while (ipJson(['link']).some((link) => link.ifname === hostEnd) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ipJson(['link']).map((link) => link.ifname)).to.not.include(hostEnd);
  });

  it('sees a namespace made by ip netns add, by name and by path', async () => {
    const name = uniqueName('ipns');
    ip(['netns', 'add', name]);
    try {
      const byName = await NetNamespace.open(name);
      const byPath = await NetNamespace.open(join(netnsDir(), name));
      expect(byName.inode).to.equal(statSync(join(netnsDir(), name)).ino);
      expect(byPath.inode).to.equal(byName.inode);
      expect((await NetNamespace.list()).map((ns) => ns.name)).to.include(name);
      byName.close();
      byPath.close();
    } finally {
      ip(['netns', 'del', name]);
    }
  });

  it('opens the namespace of a process by pid', async () => {
    const name = uniqueName('pid');
    const ns = await NetNamespace.create(name);
    const sleeper = ns.spawn('sh', ['-c', 'echo ready; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(sleeper.stdout, 'data'); // past the namespace switch
    try {
      const opened = await NetNamespace.open({ pid: sleeper.pid });
      expect(opened.inode).to.equal(ns.inode);
      opened.close();
    } finally {
      await stop(sleeper);
      await ns.delete();
    }
  });

  it('creates an unnamed namespace reachable through its path while open', async () => {
    const ns = await NetNamespace.create();
    try {
      expect(ns.name).to.equal(undefined);
      expect(statSync(ns.path).ino).to.equal(ns.inode);
      const child = spawn('nsenter', [`--net=${ns.path}`, 'ip', '-j', 'link'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      await once(child, 'exit');
      expect(JSON.parse(out).map((link) => link.ifname)).to.deep.equal(['lo']);
    } finally {
      await ns.delete();
    }
  });

  it('host() is the namespace of this process', () => {
    const host = NetNamespace.host();
    expect(host.inode).to.equal(statSync('/proc/self/ns/net').ino);
    expect(NetNamespace.host()).to.equal(host);
  });

  it('refuses a duplicate name with NETNS_EXISTS and leaves the first one alone', async () => {
    const name = uniqueName('dup');
    const ns = await NetNamespace.create(name);
    try {
      await expectReject(NetNamespace.create(name), 'NsnetError', 'NETNS_EXISTS');
      expect(statSync(ns.path).ino).to.equal(ns.inode);
    } finally {
      await ns.delete();
    }
  });

  it('refuses invalid names before touching anything', async () => {
    const before = readdirSync(netnsDir());
    for (const bad of ['', '.', '..', 'a/b', '../escape', 'has space', '-dash', 'x'.repeat(256), 7]) {
      await expectReject(NetNamespace.create(bad), 'NsnetError', 'INVALID_ARGUMENT');
    }
    // open() also takes paths; a name without '/' must still be a valid name.
    for (const bad of ['', '.', '..', 'has space', '-dash', 7, { pid: -1 }, { pid: 1.5 }]) {
      await expectReject(NetNamespace.open(bad), 'NsnetError', 'INVALID_ARGUMENT');
    }
    expect(readdirSync(netnsDir())).to.deep.equal(before);
  });

  it('reports NETNS_NOT_FOUND for a missing name, path or pid, and a file that is no namespace', async () => {
    await expectReject(NetNamespace.open(uniqueName('missing')), 'NsnetError', 'NETNS_NOT_FOUND');
    await expectReject(NetNamespace.open('/nonexistent/netns'), 'NsnetError', 'NETNS_NOT_FOUND');
    await expectReject(NetNamespace.open({ pid: 2 ** 22 + 1 }), 'NsnetError', 'NETNS_NOT_FOUND');
    await expectReject(NetNamespace.open('/proc/self/ns/uts'), 'NsnetError', 'NETNS_NOT_FOUND');
  });

  it('refuses to delete the host namespace', async () => {
    await expectReject(NetNamespace.host().delete(), 'NsnetError', 'HOST_NAMESPACE');
  });

  it('rejects use of a closed handle with NAMESPACE_CLOSED', async () => {
    const name = uniqueName('closed');
    const ns = await NetNamespace.create(name);
    ns.close();
    try {
      await expectReject(ns.links.list(), 'NsnetError', 'NAMESPACE_CLOSED');
    } finally {
      await (await NetNamespace.open(name)).delete();
    }
  });

  it('creates and deletes 200 namespaces, leaving nothing in the netns directory', async function () {
    this.timeout(120000);
    const before = readdirSync(netnsDir());
    const names = Array.from({ length: 200 }, () => uniqueName('bulk'));
    const created = await Promise.all(names.map((name) => NetNamespace.create(name)));
    expect(new Set(created.map((ns) => ns.inode)).size).to.equal(200);
    const listed = ipNetnsNames();
    for (const name of names) expect(listed).to.include(name);
    await Promise.all(created.map((ns) => ns.delete()));
    expect(readdirSync(netnsDir())).to.deep.equal(before);
    expect(ipNetnsNames().filter((name) => name.startsWith('bulk'))).to.deep.equal([]);
  });
});
