// nsnet-cni on an overlay network, on one simulated host (test/hosts.mjs) with
// etcd on the underlay (test/etcd.mjs): ADD makes the network and claims the
// container's address in the store, CHECK finds it, DEL releases it; a store
// that does not answer and a bad store URL get their CNI codes. The oracles:
// etcdctl and `ip -j` in the host and the container.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { CniPluginError, CniRuntime } from '../cni-runtime.mjs';
import { startEtcd } from '../etcd.mjs';
import { createHosts } from '../hosts.mjs';

const PLUGIN = fileURLToPath(new URL('../../bin/nsnet-cni.js', import.meta.url));
const PREFIX = '/nsnet/v1';

// Steps run in the host's worker (host.run(step, arg)): their source is sent, so they name nothing of this module.

/** The plugin run in the host (its namespaces and state directory), with the CNI_* variables given. */
async function runPlugin(nsnet, { file, env, input }) {
  const { spawnSync } = require('node:child_process');
  const cni = Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('CNI_') || key === 'PATH' || key === 'NSNET_NODE'));
  const result = spawnSync(file, { env: { ...process.env, ...cni }, input, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function newNamespace(nsnet, { name }) {
  return (await nsnet.NetNamespace.create(name)).path;
}

async function removeOn(nsnet, { network }) {
  await nsnet.removeNetwork(network, { force: true });
}

async function expectCniError(promise, cniCode) {
  try {
    await promise;
  } catch (error) {
    expect(error, error.message).to.be.instanceOf(CniPluginError);
    expect(error.cniCode, error.message).to.equal(cniCode);
    return;
  }
  throw new Error(`expected CNI error ${cniCode}, got success`);
}

describe('nsnet-cni on an overlay network (one simulated host, etcd)', function () {
  this.timeout(60000);
  let hosts;
  let etcd;
  let host;
  let dir;
  let runtime;
  const list = (plugin) => ({ cniVersion: '1.1.0', name: plugin.name ?? 'ovc', plugins: [{ type: 'nsnet-cni', driver: 'overlay', subnet: '10.217.0.0/24', leaseTtl: 3, ...plugin }] });

  before(async () => {
    hosts = await createHosts(1, { prefix: '10.218.0' });
    [host] = hosts.list;
    etcd = await startEtcd({ host: hosts.serviceAddress });
    dir = mkdtempSync(join(tmpdir(), 'nsnet-cni-'));
    symlinkSync(PLUGIN, join(dir, 'nsnet-cni'));
    const env = { NSNET_NODE: process.execPath, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` };
    runtime = new CniRuntime([dir], env, (file, env, input) => host.run(runPlugin, { file, env, input }));
  });

  after(async () => {
    await host?.run(removeOn, { network: 'ovc' }).catch(() => undefined);
    await hosts?.close();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ADD claims the container's address in the store (eth0 at the underlay MTU - 50), CHECK finds it, DEL releases it", async () => {
    const config = list({ store: etcd.url });
    const attachment = { containerId: 'cni-c1', netns: await host.run(newNamespace, { name: 'cni-c1' }), ifname: 'eth0' };
    const result = await runtime.addNetworkList(config, attachment);
    const ipv4 = result.ips[0].address.split('/')[0];
    const entry = JSON.parse(etcd.etcdctl(['get', '--print-value-only', `${PREFIX}/networks/ovc/addresses/${ipv4}`]));
    expect(entry).to.include({ ipv4, host: host.address });
    const [eth0] = await host.json(['nsenter', `--net=${attachment.netns}`, 'ip', '-j', 'link', 'show', 'dev', 'eth0']);
    expect(eth0.mtu).to.equal(1450);
    expect(entry.mac).to.equal(eth0.address);
    const [vxlan] = await host.json(['ip', '-d', '-j', 'link', 'show', 'dev', 'nsvx-ovc']);
    expect(vxlan.linkinfo.info_data).to.include({ local: host.address, learning: false });
    await runtime.checkNetworkList(config, attachment);
    await runtime.delNetworkList(config, attachment);
    expect(etcd.etcdctl(['get', '--prefix', '--keys-only', `${PREFIX}/networks/ovc/addresses/`]).trim()).to.equal('');
  });

  it('a store that does not answer: code 11 (STORE_UNAVAILABLE); a bad store URL: code 7 (INVALID_STORE)', async () => {
    const attachment = { containerId: 'cni-c2', netns: await host.run(newNamespace, { name: 'cni-c2' }), ifname: 'eth0' };
    await expectCniError(runtime.addNetworkList(list({ name: 'ovc-down', subnet: '10.219.0.0/24', store: `http://${hosts.serviceAddress}:1` }), attachment), 11);
    await expectCniError(runtime.addNetworkList(list({ name: 'ovc-bad', subnet: '10.219.0.0/24', store: 'ftp://x' }), attachment), 7);
    expect((await host.json(['ip', '-j', 'link'])).map((l) => l.ifname)).to.not.include.members(['nsbr-ovc-down', 'nsbr-ovc-bad']);
  });
});
