// A routed network through CNI: nsnet's plugin entry with "driver": "routed",
// executed as a runtime executes it (test/cni-runtime.mjs). The result names
// no bridge; the kernel has the host route it implies; CHECK sees a host
// route deleted; DEL leaves nothing.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { expect } from 'chai';

import { NetNamespace, removeNetwork } from '../../dist/index.js';
import { CniPluginError, CniRuntime } from '../cni-runtime.mjs';
import { eventually, ipJson, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

describe('CNI plugin: a routed network', function () {
  this.timeout(60000);
  const network = uniqueName('rcni');
  const list = {
    cniVersion: '1.1.0',
    name: network,
    plugins: [{ type: 'nsnet-cni', driver: 'routed', subnet: '10.176.0.0/24', ipv6Subnet: 'fd00:176::/64' }],
  };
  let dir;
  let runtime;
  const namespaces = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-cni-'));
    symlinkSync(join(process.cwd(), 'bin', 'nsnet-cni.js'), join(dir, 'nsnet-cni'));
    runtime = new CniRuntime([dir], { NSNET_NODE: process.execPath, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` });
  });
  after(async () => {
    for (const ns of namespaces) await ns.delete().catch(() => undefined);
    await removeNetwork(network, { force: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ADD, traffic, CHECK (which sees a host route gone), DEL: nothing left', async () => {
    const [n1, n2] = await Promise.all([0, 1].map(() => NetNamespace.create(uniqueName('rc'))));
    namespaces.push(n1, n2);
    const a1 = { containerId: 'r1', netns: n1.path, ifname: 'eth0' };
    const a2 = { containerId: 'r2', netns: n2.path, ifname: 'eth0' };
    const r1 = await runtime.addNetworkList(list, a1);
    await runtime.addNetworkList(list, a2);
    // No bridge: the host end, then the container's interface, its addresses alone on it.
    expect(r1.interfaces.map((i) => i.name)).to.deep.equal([r1.interfaces[0].name, 'eth0']);
    expect(r1.ips.map((i) => i.interface)).to.deep.equal([1, 1]);
    expect(r1.ips[0]).to.include({ address: '10.176.0.1/32', gateway: '169.254.1.1' });
    expect(r1.ips[1]).to.include({ gateway: 'fe80::1' });
    expect(r1.ips[1].address).to.match(/^fd00:176::[0-9a-f]+\/128$/);
    const hostEnd = r1.interfaces[0].name;
    expect(ipJson(['-4', 'route', 'show', 'dev', hostEnd]).map((r) => r.dst)).to.deep.equal(['10.176.0.1']);
    const addresses = ipJson(['addr', 'show', 'dev', 'eth0'], n1.name)[0].addr_info.map((a) => `${a.local}/${a.prefixlen}`);
    expect(addresses).to.include.members(r1.ips.map((i) => i.address));

    const server = await startTcpServer(n1, 80, 'r1');
    try {
      expect(await tcpRequest(n2, '10.176.0.1', 80, 'routed')).to.equal('r1:routed');
    } finally {
      await stop(server);
    }
    await runtime.checkNetworkList(list, a1);
    await NetNamespace.host().routes.delete({ dst: '10.176.0.1/32', dev: hostEnd });
    const failed = await runtime.checkNetworkList(list, a1).then(() => undefined, (error) => error);
    expect(failed).to.be.instanceOf(CniPluginError);
    expect(failed.error.msg).to.contain('host route 10.176.0.1/32');

    await runtime.delNetworkList(list, a1);
    await runtime.delNetworkList(list, a2);
    const left = () => ipJson(['link', 'show']).filter((l) => l.ifname === hostEnd);
    expect(await eventually(() => left().length === 0, 10000)).to.equal(true);
    expect(ipJson(['-4', 'route', 'show']).filter((r) => r.dst?.startsWith('10.176.'))).to.deep.equal([]);
  });

  it('refuses a bridge or a gateway for a routed network', async () => {
    const ns = await NetNamespace.create(uniqueName('rc'));
    namespaces.push(ns);
    const bad = { ...list, plugins: [{ ...list.plugins[0], gateway: '10.176.0.1' }] };
    const error = await runtime.addNetworkList(bad, { containerId: 'bad', netns: ns.path, ifname: 'eth0' }).then(() => undefined, (e) => e);
    expect(error).to.be.instanceOf(CniPluginError);
    expect(error.error.msg).to.contain('"gateway"');
    expect(ipJson(['link'], ns.name).map((l) => l.ifname)).to.deep.equal(['lo']);
  });
});
