import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { expectReject, uniqueName } from '../helpers.mjs';

const readlinkOr = (path) => {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
};

/** The value as `ip netns exec` + cat reads it: the kernel's, not ours. */
function readInNamespace(name, file) {
  return execFileSync('ip', ['netns', 'exec', name, 'cat', file], { encoding: 'utf8' }).trim();
}

describe('ns.sysctl', () => {
  let ns;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('sys'));
  });
  afterEach(async () => {
    await ns.delete();
  });

  it('writes inside the namespace only', async () => {
    // The opposite of the host's value, so that a write landing on the host would show.
    const hostForwarding = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const hostBefore = hostForwarding();
    const wanted = hostBefore === '1' ? '0' : '1';
    await ns.sysctl('net.ipv4.ip_forward', wanted);
    expect(readInNamespace(ns.name, '/proc/sys/net/ipv4/ip_forward')).to.equal(wanted);
    expect(await ns.sysctl('net.ipv4.ip_forward')).to.equal(wanted);
    expect(hostForwarding()).to.equal(hostBefore);
  });

  it('reads and writes per-interface keys, dotted or with slashes', async () => {
    await ns.links.add({ kind: 'bridge', name: 'eth0.100' });
    await ns.sysctl('net/ipv4/conf/eth0.100/arp_notify', true);
    expect(readInNamespace(ns.name, '/proc/sys/net/ipv4/conf/eth0.100/arp_notify')).to.equal('1');
    await ns.sysctl('net.ipv6.conf.lo.disable_ipv6', '1');
    expect(readInNamespace(ns.name, '/proc/sys/net/ipv6/conf/lo/disable_ipv6')).to.equal('1');
  });

  it("writes the key of the namespace's interface, not of the host's one of the same name, by a handle made or opened", async () => {
    const name = uniqueName('sb').slice(0, 15);
    const host = NetNamespace.host();
    await host.links.add({ kind: 'bridge', name });
    const opened = await NetNamespace.open(ns.name);
    try {
      await ns.links.add({ kind: 'bridge', name });
      // The handle that made the namespace writes through directories opened inside it; the opened one from a thread inside.
      for (const [handle, key, value] of [[ns, 'arp_notify', '1'], [opened, 'arp_ignore', '2']]) {
        await handle.sysctl(`net/ipv4/conf/${name}/${key}`, value);
        expect(readInNamespace(ns.name, `/proc/sys/net/ipv4/conf/${name}/${key}`)).to.equal(value);
        expect(readFileSync(`/proc/sys/net/ipv4/conf/${name}/${key}`, 'utf8').trim()).to.equal('0');
        expect(await handle.sysctl(`net/ipv4/conf/${name}/${key}`)).to.equal(value);
      }
    } finally {
      opened.close();
      await host.links.delete(name);
    }
  });

  it('a namespace made without its sysctl directories opens none, and writes its own keys through a thread inside', async () => {
    const held = () => readdirSync('/proc/self/fd').filter((fd) => /^\/proc\/sys\/net\/ipv[46]\/conf$/.test(readlinkOr(`/proc/self/fd/${fd}`))).length;
    const before = held();
    const bare = await NetNamespace.create(uniqueName('sysb'), { sysctlDirs: false });
    expect(held(), 'no directory opened').to.equal(before);
    const full = await NetNamespace.create(uniqueName('sysf'));
    expect(held() - before, 'a namespace made as by default has both').to.equal(2);
    await full.delete();
    const name = uniqueName('sb').slice(0, 15);
    const host = NetNamespace.host();
    await host.links.add({ kind: 'bridge', name });
    try {
      await bare.links.add({ kind: 'bridge', name });
      await bare.sysctl(`net/ipv6/conf/${name}/disable_ipv6`, 1);
      expect(readInNamespace(bare.name, `/proc/sys/net/ipv6/conf/${name}/disable_ipv6`)).to.equal('1');
      expect(readFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, 'utf8').trim()).to.equal('0');
      expect(await bare.sysctl(`net/ipv6/conf/${name}/disable_ipv6`)).to.equal('1');
    } finally {
      await host.links.delete(name);
      await bare.delete();
    }
  });

  it('refuses keys outside net.* and path tricks', async () => {
    for (const bad of ['kernel.hostname', 'net', 'net..ipv4', 'net/../kernel/hostname', '', 'net.ipv4.ip_forward\n']) {
      await expectReject(ns.sysctl(bad), 'NsnetError', 'INVALID_ARGUMENT');
    }
    await expectReject(ns.sysctl('net.ipv4.ip_forward', '1\n0'), 'NsnetError', 'INVALID_ARGUMENT');
  });

  it('reports a missing key as ENOENT', async () => {
    const error = await expectReject(ns.sysctl('net.ipv4.conf.nodev.forwarding'), 'NetlinkError', 'ENOENT');
    expect(error.op).to.contain('net.ipv4.conf.nodev.forwarding');
  });
});
