// The overlay agent as a process (`nsnet overlay serve NAME`, started on
// demand by ensureOverlayAgent) against a real etcd in the sandbox: one per
// network however many ask at once, its file with its pid and lease, its host
// key on that lease, SIGTERM revoking it, and a start that fails fast when
// the store does not answer. The network's record is written here as
// createOverlayNetwork writes it (its VXLAN device made with ip).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';

import { expect } from 'chai';

import { ClusterStore } from '../../dist/cluster/store.js';
import { readOverlayAgentInfo, overlayAgentFile } from '../../dist/network/overlay-agent-file.js';
import { ensureOverlayAgent, stopOverlayAgent } from '../../dist/network/overlay-agent-process.js';
import { currentStore } from '../../dist/state/store.js';
import { useEtcd } from '../etcd.mjs';
import { eventually, running } from '../helpers.mjs';

const PREFIX = '/nsnet/v1';
const UNDERLAY = '127.0.0.1';

describe('overlay agent process', function () {
  this.timeout(60_000);
  const server = useEtcd();
  let savedStateDir;
  const started = [];

  before(() => {
    savedStateDir = process.env.NSNET_STATE_DIR;
    process.env.NSNET_STATE_DIR = mkdtempSync('/run/nsnet-overlay-agent-');
  });
  after(() => {
    rmSync(process.env.NSNET_STATE_DIR, { recursive: true, force: true });
    if (savedStateDir === undefined) delete process.env.NSNET_STATE_DIR;
    else process.env.NSNET_STATE_DIR = savedStateDir;
  });
  afterEach(async () => {
    // Agents a failed test left: ended by the pid they recorded.
    for (const name of started.splice(0)) await stopOverlayAgent(name);
  });

  async function overlayNetwork(name, vni) {
    const bridge = `nsbr-${name}`;
    const vxlan = `nsvx-${name}`;
    execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
    execFileSync('ip', ['link', 'add', vxlan, 'type', 'vxlan', 'id', String(vni), 'dstport', '4789', 'local', UNDERLAY, 'nolearning', 'proxy']);
    execFileSync('ip', ['link', 'set', vxlan, 'master', bridge, 'up']);
    await currentStore().create('networks', name, {
      name,
      driver: 'overlay',
      bridge,
      bridgeMac: '02:42:0a:5a:00:01',
      subnet: '10.90.0.0/24',
      gateway: '10.90.0.1',
      subnetAuto: false,
      mtu: 1450,
      masquerade: true,
      icc: true,
      internal: false,
      hostIp: '0.0.0.0',
      firewall: 'none',
      activeFirewall: 'none',
      overlay: { vni, port: 4789, vxlan, underlay: UNDERLAY, store: { endpoints: [server.etcd.url], prefix: PREFIX }, leaseTtl: 3 },
      created: new Date().toISOString(),
    });
    started.push(name);
    return { vxlan };
  }

  /** The VXLAN device's remote entries as the kernel holds them: MAC -> underlay address, and IPv4 -> MAC. */
  function programmed(vxlan) {
    const fdb = JSON.parse(execFileSync('bridge', ['-j', 'fdb', 'show', 'dev', vxlan], { encoding: 'utf8' }))
      .filter((e) => e.dst !== undefined && e.mac !== '00:00:00:00:00:00')
      .map((e) => `${e.mac}>${e.dst}`);
    const neigh = JSON.parse(execFileSync('ip', ['-j', '-4', 'neigh', 'show', 'dev', vxlan], { encoding: 'utf8' })).map((e) => `${e.dst}>${e.lladdr}`);
    return { fdb: fdb.sort(), neigh: neigh.sort() };
  }

  async function removeNetwork(name) {
    await currentStore().remove('networks', name);
    execFileSync('ip', ['link', 'del', `nsbr-${name}`]);
    execFileSync('ip', ['link', 'del', `nsvx-${name}`]);
  }

  it('starts one agent however many ask at once; it holds its lease, its host key is on it; SIGTERM revokes it', async () => {
    const { vxlan } = await overlayNetwork('ovp1', 4301);
    const infos = await Promise.all([ensureOverlayAgent('ovp1'), ensureOverlayAgent('ovp1'), ensureOverlayAgent('ovp1')]);
    expect(new Set(infos.map((info) => info.pid)).size).to.equal(1);
    const [info] = infos;
    expect(info).to.include({ network: 'ovp1', underlay: UNDERLAY });
    expect(running(info.pid)).to.equal(true);
    expect(readOverlayAgentInfo('ovp1')).to.deep.equal(info);
    expect(server.etcd.leaseOf(`${PREFIX}/networks/ovp1/hosts/${UNDERLAY}`)).to.equal(info.leaseId);
    expect((await ensureOverlayAgent('ovp1')).pid, 'one running is the one').to.equal(info.pid);
    // Another host's container: programmed by the agent (ONE batch), removed when it goes.
    const other = ClusterStore.open({ endpoints: [server.etcd.url], prefix: PREFIX });
    try {
      const lease = await other.grantLease(30);
      const remote = { ipv4: '10.90.0.7', mac: '02:42:0a:5a:00:07', host: '192.168.90.2', container: 'c7' };
      await other.claimAddresses('ovp1', remote, lease);
      expect(await eventually(() => programmed(vxlan).fdb.length === 1, 8000), 'the remote programmed').to.equal(true);
      expect(programmed(vxlan)).to.deep.equal({ fdb: ['02:42:0a:5a:00:07>192.168.90.2'], neigh: ['10.90.0.7>02:42:0a:5a:00:07'] });
      await other.releaseAddresses('ovp1', remote);
      expect(await eventually(() => programmed(vxlan).fdb.length === 0, 8000), 'the remote removed').to.equal(true);
      expect(programmed(vxlan).neigh).to.deep.equal([]);
    } finally {
      await other.close();
    }
    await stopOverlayAgent('ovp1');
    expect(running(info.pid)).to.equal(false);
    expect(existsSync(overlayAgentFile('ovp1'))).to.equal(false);
    expect(server.etcd.stored(`${PREFIX}/networks/ovp1/hosts/`).size, 'its lease revoked').to.equal(0);
    expect(server.etcd.etcdctl(['lease', 'list'])).to.not.include(BigInt(info.leaseId).toString(16));
    await removeNetwork('ovp1');
  });

  it('SIGTERM with an endpoint on the network lets the lease run out (a restart keeps the address); stopped for removal it revokes it at once', async () => {
    await overlayNetwork('ovp4', 4304);
    const record = { id: 'e4', network: 'ovp4', netnsPath: '/run/netns/none', netnsInode: 4, ifname: 'eth0', hostIfname: 'nsve-e4', mac: '02:42:0a:5a:00:04', ipv4: '10.90.0.4', prefixLength: 24, ports: [], status: 'ready', pid: process.pid, created: new Date().toISOString() };
    await currentStore().create('endpoints', 'ovp4@4', record);
    const address = `${PREFIX}/networks/ovp4/addresses/10.90.0.4`;
    try {
      const first = await ensureOverlayAgent('ovp4');
      expect(server.etcd.leaseOf(address)).to.equal(first.leaseId);
      await stopOverlayAgent('ovp4');
      expect(running(first.pid)).to.equal(false);
      expect(server.etcd.leaseOf(address), 'still held, on the old lease').to.equal(first.leaseId);
      const second = await ensureOverlayAgent('ovp4');
      expect(server.etcd.leaseOf(address), 'taken onto the new lease').to.equal(second.leaseId);
      await stopOverlayAgent('ovp4', { remove: true });
      expect(running(second.pid)).to.equal(false);
      expect(server.etcd.stored(`${PREFIX}/networks/ovp4/`).size, "this host's keys gone").to.equal(0);
    } finally {
      await currentStore().remove('endpoints', 'ovp4@4');
    }
    await removeNetwork('ovp4');
  });

  it('an address moving from host B to host C (released and claimed again at once) is programmed to C in the kernel', async () => {
    const { vxlan } = await overlayNetwork('ovp6', 4306);
    const b = ClusterStore.open({ endpoints: [server.etcd.url], prefix: PREFIX });
    const c = ClusterStore.open({ endpoints: [server.etcd.url], prefix: PREFIX });
    try {
      await ensureOverlayAgent('ovp6');
      const onB = { ipv4: '10.90.0.6', mac: '02:42:0a:5a:00:06', host: '192.168.90.2', container: 'b6' };
      const onC = { ipv4: '10.90.0.6', mac: '02:42:0a:5a:00:66', host: '192.168.90.3', container: 'c6' };
      await b.claimAddresses('ovp6', onB, await b.grantLease(30));
      expect(await eventually(() => programmed(vxlan).fdb.length === 1, 8000), 'on B').to.equal(true);
      const leaseC = await c.grantLease(30);
      await b.releaseAddresses('ovp6', onB);
      await c.claimAddresses('ovp6', onC, leaseC);
      expect(await eventually(() => programmed(vxlan).fdb.join() === '02:42:0a:5a:00:66>192.168.90.3', 8000), 'on C').to.equal(true);
      expect(programmed(vxlan)).to.deep.equal({ fdb: ['02:42:0a:5a:00:66>192.168.90.3'], neigh: ['10.90.0.6>02:42:0a:5a:00:66'] });
    } finally {
      await b.close();
      await c.close();
    }
    await stopOverlayAgent('ovp6', { remove: true });
    await removeNetwork('ovp6');
  });

  it('a start that fails for another reason than the store passes its code on (here: its VXLAN device gone)', async () => {
    const { vxlan } = await overlayNetwork('ovp5', 4305);
    execFileSync('ip', ['link', 'del', vxlan]);
    const other = ClusterStore.open({ endpoints: [server.etcd.url], prefix: PREFIX });
    try {
      // A remote container to program: the first batch meets the missing device.
      await other.claimAddresses('ovp5', { ipv4: '10.90.0.8', mac: '02:42:0a:5a:00:08', host: '192.168.90.2', container: 'c8' }, await other.grantLease(30));
      const error = await ensureOverlayAgent('ovp5').then(() => undefined, (e) => e);
      expect(error, 'the start failed').to.be.instanceOf(Error);
      expect(error.code, error.message).to.not.be.oneOf(['STORE_UNAVAILABLE', 'INTERNAL']);
      expect(error.message).to.match(new RegExp(`^the overlay agent of network ovp5 exited at start \\(1\\): nsnet: ${error.code}: `));
    } finally {
      await other.close();
    }
    await currentStore().remove('networks', 'ovp5');
    execFileSync('ip', ['link', 'del', 'nsbr-ovp5']);
  });

  it('removes at its start what is programmed of containers the store no longer has; ends by itself when its network is gone', async () => {
    const { vxlan } = await overlayNetwork('ovp2', 4302);
    // Left by an agent before this one: a container of a host that went meanwhile.
    execFileSync('bridge', ['fdb', 'add', '02:42:0a:5a:00:09', 'dev', vxlan, 'dst', '192.168.90.3', 'self', 'permanent']);
    execFileSync('ip', ['neigh', 'add', '10.90.0.9', 'lladdr', '02:42:0a:5a:00:09', 'dev', vxlan, 'nud', 'permanent']);
    expect(programmed(vxlan).fdb).to.deep.equal(['02:42:0a:5a:00:09>192.168.90.3']);
    const { pid } = await ensureOverlayAgent('ovp2');
    expect(programmed(vxlan)).to.deep.equal({ fdb: [], neigh: [] });
    await removeNetwork('ovp2');
    expect(await eventually(() => !running(pid), 8000), 'the agent exited').to.equal(true);
    expect(server.etcd.stored(`${PREFIX}/networks/ovp2/`).size).to.equal(0);
  });

  it('the store down: the start fails with STORE_UNAVAILABLE, fast, and leaves no agent', async () => {
    await overlayNetwork('ovp3', 4303);
    await server.etcd.stop();
    try {
      const startedAt = Date.now();
      const error = await ensureOverlayAgent('ovp3').then(() => undefined, (e) => e);
      expect(error?.code, error?.message).to.equal('STORE_UNAVAILABLE');
      expect(error.message).to.include(server.etcd.url);
      expect(Date.now() - startedAt).to.be.below(5000);
      expect(readOverlayAgentInfo('ovp3')).to.equal(undefined);
    } finally {
      await server.etcd.restart();
    }
    await removeNetwork('ovp3');
  });
});
