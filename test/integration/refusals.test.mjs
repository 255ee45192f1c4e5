// Input that must be refused, with the right code and nothing changed: the
// kernel (ip -j, nft -j) and the state directory read back before and after
// each refusal, and the next connect gets the address it would have got.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer } from '../../dist/index.js';
import { expectReject, ip, ipJson, linkNames, newLinks, settledHost, uniqueName } from '../helpers.mjs';

const stateDir = process.env.NSNET_STATE_DIR;

/** Every state file and its content. */
function stateFiles(dir = stateDir) {
  const files = {};
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) Object.assign(files, stateFiles(path));
    else if (entry.endsWith('.json')) files[path.slice(stateDir.length + 1)] = readFileSync(path, 'utf8');
  }
  return files;
}

/** IPv6 link-local addresses and their routes come (after DAD) in their own time: not nsnet's doing. */
const kernelsOwn = (text) => /\bfe80:|\bff00::\/8/.test(text);

/** What the kernel holds, as iproute2 and nft read it: links, addresses and routes of the host and of `ns`, and nsnet's table. */
function kernelState(ns) {
  const links = (netns) => ipJson(['link'], netns).map((l) => `${l.ifname} ${l.master ?? ''} ${l.address ?? ''} ${l.operstate}`);
  const addresses = (netns) => ipJson(['addr'], netns).flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
  const routes = (netns) => ipJson(['route', 'show', 'table', 'all'], netns).map((r) => `${r.type ?? ''} ${r.dst} ${r.dev ?? ''} ${r.gateway ?? ''}`);
  const without = (list) => list.filter((entry) => !kernelsOwn(entry));
  let nft = [];
  try {
    nft = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', 'nsnet'], { encoding: 'utf8' })).nftables.map((entry) => JSON.stringify(entry));
  } catch {
    // No table: nothing installed, which is a state too.
  }
  const of = (netns) => ({ links: links(netns), addresses: without(addresses(netns)), routes: without(routes(netns)) });
  return { host: of(), ns: of(ns.name), nft };
}

describe('refused input changes nothing', () => {
  const namespaces = [];
  const networks = [];
  let subnets = 0;
  const freshSubnet = () => `10.201.${subnets++}.0/24`;

  async function namespace() {
    const ns = await NetNamespace.create(uniqueName('rf'));
    namespaces.push(ns);
    return ns;
  }
  async function network(options = {}) {
    const name = options.name ?? uniqueName('rf');
    networks.push(name);
    return createBridgeNetwork({ subnet: freshSubnet(), ...options, name });
  }

  afterEach(async () => {
    for (const ns of namespaces.splice(0)) await ns.delete().catch(() => undefined);
    for (const name of networks.splice(0)) await removeNetwork(name, { force: true }).catch(() => undefined);
  });

  it('createBridgeNetwork refuses mode names, special subnets and a host address the host does not have', async () => {
    await settledHost();
    const before = { links: linkNames(), addresses: ipJson(['addr']), state: stateFiles() };
    const refused = [
      [{ name: 'host' }, 'INVALID_ARGUMENT', 'container mode'],
      [{ name: 'none' }, 'INVALID_ARGUMENT', 'container mode'],
      [{ name: 'ok', subnet: '224.1.0.0/24' }, 'INVALID_ARGUMENT', 'multicast'],
      [{ name: 'ok', subnet: '240.0.0.0/24' }, 'INVALID_ARGUMENT', 'reserved'],
      [{ name: 'ok', subnet: '0.1.0.0/16' }, 'INVALID_ARGUMENT', 'this network'],
      [{ name: 'ok', subnet: '127.5.0.0/16' }, 'INVALID_ARGUMENT', 'loopback'],
      [{ name: 'ok', subnet: '10.201.99.0/24', ipv6: { subnet: '::ffff:10.0.0.0/120' } }, 'INVALID_ARGUMENT', 'IPv4-mapped'],
      [{ name: 'ok', subnet: '10.201.99.0/24', ipv6: { subnet: 'ff05::/64' } }, 'INVALID_ARGUMENT', 'multicast'],
      [{ name: 'ok', subnet: '10.201.99.0/24', ipv6: { subnet: 'fe80::/64' } }, 'INVALID_ARGUMENT', 'link-local'],
      [{ name: 'ok', subnet: '10.201.99.0/24', ipv6: { subnet: '::/120' } }, 'INVALID_ARGUMENT', 'unspecified'],
      [{ name: 'ok', subnet: '10.201.99.0/24', hostIp: '10.1.2.3' }, 'ADDRESS_NOT_LOCAL', '10.1.2.3'],
      [{ name: 'ok', subnet: '10.201.99.0/24', ipv6: { subnet: 'fd00:201::/64' }, hostIp: 'fd00:201::99' }, 'ADDRESS_NOT_LOCAL', 'fd00:201::99'],
    ];
    networks.push('ok'); // should one be made after all
    for (const [options, code, text] of refused) {
      const error = await expectReject(createBridgeNetwork(options), 'NsnetError', code);
      expect(error.message).to.contain(text);
    }
    expect(newLinks(before.links)).to.deep.equal([]);
    expect(ipJson(['addr'])).to.deep.equal(before.addresses);
    expect(stateFiles()).to.deep.equal(before.state);
    // Local addresses are fine: 127.0.0.0/8 is the host's, and so is an address on one of its interfaces.
    const local = await network({ hostIp: '127.0.0.2' });
    expect(local.options.hostIp).to.equal('127.0.0.2');
    // As is the network's own gateway, once its bridge is made.
    const own = await network({ subnet: '10.201.98.0/24', ipv6: { subnet: 'fd00:201:98::/64' }, hostIp: 'fd00:201:98::1' });
    expect(own.options.hostIp).to.equal('fd00:201:98::1');
  });

  it('connect refuses taken names and MACs, foreign host addresses, bad ports and addresses; the lease pointer stays', async () => {
    const net = await network({ ipv6: { subnet: 'fd00:201:1::/64' } });
    const base = net.subnet.replace('.0/24', '');
    const first = await namespace();
    const ep = await net.connect(first);
    expect(ep.ipv4).to.equal(`${base}.2`);
    const ns = await namespace();
    const refused = [
      [{ ifname: 'lo' }, 'INTERFACE_EXISTS', 'lo'],
      [{ ifname: 'all' }, 'INVALID_ARGUMENT', 'reserved'],
      [{ mac: ep.mac }, 'MAC_IN_USE', ep.mac],
      [{ mac: ep.mac.toUpperCase() }, 'MAC_IN_USE', ep.mac],
      [{ mac: ipJson(['link', 'show', 'dev', ep.hostIfname])[0].address }, 'MAC_IN_USE', 'already used'],
      [{ mac: ipJson(['link', 'show', 'dev', net.bridge])[0].address }, 'MAC_IN_USE', net.bridge],
      [{ mac: '01:00:5e:00:00:01' }, 'INVALID_ARGUMENT', 'multicast'],
      [{ mac: '00:00:00:00:00:00' }, 'INVALID_ARGUMENT', 'all zeros'],
      [{ publish: ['10.1.2.3:8080:80'] }, 'ADDRESS_NOT_LOCAL', '10.1.2.3'],
      [{ publish: ['[fd00:201:1::99]:8080:80'] }, 'ADDRESS_NOT_LOCAL', 'fd00:201:1::99'],
      [{ publish: [{ hostPort: -1, containerPort: 80 }] }, 'INVALID_PUBLISH', '"-1"'],
      [{ publish: [{ hostPort: 8080, containerPort: 70000 }] }, 'INVALID_PUBLISH', '"70000"'],
      [{ ip: '10.9.9.9' }, 'ADDRESS_OUT_OF_RANGE', '10.9.9.9'],
      [{ ip: net.gateway }, 'ADDRESS_IN_USE', net.gateway],
      [{ ip: `${base}.0` }, 'ADDRESS_OUT_OF_RANGE', 'not a usable address'],
      [{ ip: `${base}.255` }, 'ADDRESS_OUT_OF_RANGE', 'not a usable address'],
      [{ ip: ep.ipv4 }, 'ADDRESS_IN_USE', ep.ipv4],
      [{ ipv6: 'fd00:202::5' }, 'ADDRESS_OUT_OF_RANGE', 'fd00:202::5'],
    ];
    const before = { kernel: kernelState(ns), state: stateFiles() };
    for (const [options, code, text] of refused) {
      const error = await expectReject(net.connect(ns, options), 'NsnetError', code);
      expect(error.message, JSON.stringify(options)).to.contain(text);
      expect(kernelState(ns), JSON.stringify(options)).to.deep.equal(before.kernel);
      expect(stateFiles(), JSON.stringify(options)).to.deep.equal(before.state);
    }
    // The one address each family would have got first is the one it gets now.
    const next = await net.connect(ns, { publish: [`${net.gateway}:18090:80`, '[fd00:201:1::1]:18091:80'] });
    expect(next.ipv4).to.equal(`${base}.3`);
    expect(next.ipv6).to.equal('fd00:201:1::3');
    expect(next.ports).to.deep.equal([
      { hostIp: net.gateway, hostPort: 18090, containerPort: 80, protocol: 'tcp' },
      { hostIp: 'fd00:201:1::1', hostPort: 18091, containerPort: 80, protocol: 'tcp' },
    ]);
    expect(ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], ns.name)[0].addr_info.map((a) => a.local)).to.deep.equal([`${base}.3`]);
  });

  it('a connect to a network whose bridge was deleted says so, and changes nothing', async () => {
    const net = await network();
    const ns = await namespace();
    ip(['link', 'del', net.bridge]);
    const before = { kernel: kernelState(ns), state: stateFiles() };
    const error = await expectReject(net.connect(ns), 'NetlinkError', 'ENODEV');
    expect(error.message).to.contain(`the bridge of network "${net.name}" is gone; reconcile()`);
    expect(kernelState(ns)).to.deep.equal(before.kernel);
    expect(stateFiles()).to.deep.equal(before.state);
  });

  it('setupContainer refuses a foreign host address before it makes the namespace', async () => {
    const net = await network();
    const before = { links: linkNames(), state: stateFiles() };
    const id = uniqueName('rfc');
    const error = await expectReject(setupContainer(id, { network: net.name, publish: ['10.1.2.3:8080:80'] }), 'NsnetError', 'ADDRESS_NOT_LOCAL');
    expect(error.message).to.contain('10.1.2.3 (hostIp of a published port) is not an address of this host');
    expect(existsSync(join(process.env.NSNET_NETNS_DIR, id))).to.equal(false);
    expect(newLinks(before.links)).to.deep.equal([]);
    expect(stateFiles()).to.deep.equal(before.state);
  });

  it('the 1,024th port of a bridge: NETWORK_FULL, nothing left behind, and the address it would have got once there is room', async function () {
    this.timeout(120000);
    const net = await network();
    const base = net.subnet.replace('.0/24', '');
    const ns = await namespace();
    // The filler: 1,023 veths (both ends in the host) on the bridge, in one `ip -batch`, in a link group of their own.
    const group = String(1000 + (process.pid % 1000));
    const batch = Array.from({ length: 1023 }, (_, i) => `link add rfa${i} group ${group} master ${net.bridge} type veth peer name rfb${i} group ${group}`).join('\n');
    execFileSync('ip', ['-batch', '-'], { input: `${batch}\n` });
    try {
      expect(ipJson(['link', 'show', 'master', net.bridge])).to.have.length(1023);
      const before = { kernel: kernelState(ns), state: stateFiles() };
      const error = await expectReject(net.connect(ns), 'NsnetError', 'NETWORK_FULL');
      expect(error.message).to.contain('at most 1,023 ports');
      expect(error.details.step).to.equal('create veth');
      expect(kernelState(ns)).to.deep.equal(before.kernel);
      expect(stateFiles()).to.deep.equal(before.state);
    } finally {
      ip(['link', 'delete', 'group', group]);
    }
    const ep = await net.connect(ns);
    expect(ep.ipv4).to.equal(`${base}.2`);
    expect(ipJson(['link', 'show', 'master', net.bridge]).map((l) => l.ifname)).to.deep.equal([ep.hostIfname]);
  });
});
