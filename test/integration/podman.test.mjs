// Podman 4 on its CNI backend running containers on nsnet's CNI plugin
// (test/podman.mjs: a busybox root filesystem, no image; Podman's
// configuration in a temporary directory). A `wan` namespace stands for the
// outside world (host 198.18.0.1, wan 198.18.0.2). What a container gets is
// read from inside it (busybox's ip), from the host (`ip -j`, `nft -j`) and
// from nsnet's records; traffic is real, served by busybox httpd in the
// containers and by node in `wan`.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { basename, join } from 'node:path';

import { expect } from 'chai';

import { netnsDir, removeNetwork } from '../../dist/index.js';
import { createWan, eventually, ipJson, runNode, stop, uniqueName } from '../helpers.mjs';
import { createPodman, stopCniService } from '../podman.mjs';

const HOST = '198.18.0.1';
const WAN = '198.18.0.2';
const SUBNET = '10.178.0.0/24';
const GATEWAY = '10.178.0.1';
const SUBNET6 = 'fd00:178::/64';
const GATEWAY6 = 'fd00:178::1';
const NAMESERVERS = ['10.178.0.53', '192.0.2.53'];
const SEARCH = 'podman.test';
const PORT = 18480; // published by the container `web`
const OTHER_PORT = 18481;
const WAN_PORT = 18482; // the wan namespace's server

const SUBNET_OTHER = '10.179.0.0/24';
const GATEWAY_OTHER = '10.179.0.1';

const stateDir = process.env.NSNET_STATE_DIR;
const network = uniqueName('pm');
const otherNetwork = uniqueName('pm');
const conflist = {
  // Podman 4 reads results of CNI 1.0.0 at most.
  cniVersion: '1.0.0',
  name: network,
  plugins: [
    {
      type: 'nsnet-cni',
      subnet: SUBNET,
      ipv6Subnet: SUBNET6,
      dns: { nameservers: NAMESERVERS, search: [SEARCH] },
      capabilities: { portMappings: true, ips: true },
    },
  ],
};

/** A second network, IPv4 only, for a container on two. */
const otherConflist = {
  cniVersion: '1.0.0',
  name: otherNetwork,
  plugins: [{ type: 'nsnet-cni', subnet: SUBNET_OTHER, capabilities: { portMappings: true, ips: true } }],
};

/** An address as busybox httpd reports a client (`[::ffff:10.0.0.2]`), plain. */
const plain = (address) => address.replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');

/** The reply of the containers' whoami program: which container answered, and the client it saw. */
function whoami(reply) {
  const [server, client] = reply.trim().split(' ');
  return { server, client: plain(client ?? '') };
}

/** GET `url` from this process (the sandbox host); a server still starting gets a few more tries. */
function httpGet(url, tries = 50) {
  return new Promise((resolve, reject) => {
    get(url, { timeout: 3000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${response.statusCode}`))));
    })
      .on('timeout', function timeout() {
        this.destroy(new Error(`${url}: timed out`));
      })
      .on('error', (error) => {
        if (error.code !== 'ECONNREFUSED' || tries <= 1) reject(error);
        else setTimeout(() => httpGet(url, tries - 1).then(resolve, reject), 50);
      });
  });
}

/** The same GET from inside namespace `ns`. */
function httpGetFrom(ns, url) {
  const script = `
    const get = (tries) => require('node:http').get(process.argv[1], { timeout: 3000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => { process.stdout.write(body); process.exit(response.statusCode === 200 ? 0 : 4); });
    }).on('timeout', () => { console.error('timeout'); process.exit(2); })
      .on('error', (e) => { if (e.code === 'ECONNREFUSED' && tries > 1) setTimeout(() => get(tries - 1), 50); else { console.error(e.code); process.exit(3); } });
    get(50);
  `;
  return runNode(ns, script, [url]);
}

/** An HTTP server inside `ns` answering with the address it sees the client at. */
async function startHttpWhoAmI(ns, port) {
  const script = `
    require('node:http').createServer((request, response) => response.end(request.socket.remoteAddress.replace(/^::ffff:/, '')))
      .listen(${port}, '::', () => console.log('listening'));
  `;
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(([code]) => Promise.reject(new Error(`wan server exited with ${code}`)))]);
  return child;
}

/** Every element of nsnet's nf_tables sets and maps, as `nft -j` lists them. */
function nftElements() {
  const table = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', 'nsnet'], { encoding: 'utf8' })).nftables;
  return table.flatMap((entry) => {
    const container = entry.set ?? entry.map;
    return container ? (container.elem ?? []).map((elem) => `${container.name} ${JSON.stringify(elem)}`) : [];
  });
}

const recordFiles = (kind) => (existsSync(join(stateDir, kind)) ? readdirSync(join(stateDir, kind)).sort() : []);
const readRecord = (kind, name) => JSON.parse(readFileSync(join(stateDir, kind, name), 'utf8'));

/** nsnet's records that a container adds: attachments, endpoints, published ports, the network's leases. */
function records() {
  const ports = recordFiles('ports').flatMap((file) =>
    Object.entries(readRecord('ports', file))
      .filter(([key]) => key !== 'version')
      .map(([port, owners]) => `${file} ${port} ${JSON.stringify(owners)}`),
  );
  const leases = existsSync(join(stateDir, 'leases', `${network}.json`)) ? readRecord('leases', `${network}.json`) : {};
  return {
    attachments: recordFiles('attachments'),
    endpoints: recordFiles('endpoints'),
    ports,
    leases: [leases.ipv4?.addresses, leases.ipv6?.addresses],
  };
}

/** What a container leaves in the kernel and in nsnet's state, read independently of nsnet. */
function snapshot() {
  return {
    links: ipJson(['link'])
      .map((link) => link.ifname)
      .sort(),
    namespaces: readdirSync(netnsDir()).sort(),
    elements: nftElements().sort(),
    records: records(),
  };
}

const WAN_LINK = 'pmwan0';

/** The host's veths that no endpoint record names (but the wan's): those of containers gone, still going. */
function strayVeths() {
  const hostEnds = new Set(recordFiles('endpoints').map((file) => readRecord('endpoints', file).hostIfname));
  return ipJson(['-d', 'link']).filter((link) => link.linkinfo?.info_kind === 'veth' && link.ifname !== WAN_LINK && !hostEnds.has(link.ifname));
}

/**
 * snapshot() once the veths of containers gone are gone too: the CNI
 * service removes one a moment after DEL, or the kernel with its namespace.
 */
async function settledSnapshot() {
  await eventually(() => strayVeths().length === 0, 10000);
  return snapshot();
}

/** Waits until snapshot() is `expected` again (the kernel deletes a namespace's links in the background), else shows the difference. */
async function expectSettled(expected, timeoutMs = 10000) {
  await eventually(() => JSON.stringify(snapshot()) === JSON.stringify(expected), timeoutMs);
  expect(snapshot()).to.deep.equal(expected);
}

/** `ip -o addr show dev eth0` of busybox: the global addresses, as CIDRs. */
function globalAddresses(text) {
  return [...text.matchAll(/inet6? (\S+) scope global/g)].map((m) => m[1]);
}

describe('Podman 4 (CNI backend) on the nsnet CNI plugin', function podmanSuite() {
  this.timeout(60000);
  let podman;
  let wan;
  let removeWan;
  let wanServer;
  let empty; // the kernel and the records with the network made and no container on it
  let web; // the container `web`, started by the first test and stopped by a later one

  /** `podman run` of a busybox httpd named `name` on the network, detached: its id, namespace and record. */
  async function startWeb(name, extra = []) {
    const id = await podman.ok(['run', '-d', '--name', name, '--hostname', name, '--network', network, ...extra, '--rootfs', podman.rootfs, 'httpd', '-f', '-p', '80', '-h', '/www']);
    const netnsPath = await podman.ok(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', name]);
    const attachment = readRecord('attachments', `${network}:${id}:eth0.json`);
    const endpoint = readRecord('endpoints', `${attachment.endpoint}.json`);
    return { id, netnsPath, netns: basename(netnsPath), endpoint };
  }

  let outputs = 0;
  /**
   * `podman ARGS sh -c SCRIPT` (a run or an exec): the script's output, written
   * to a file of the shared root filesystem rather than passed back through
   * Podman's attach (through which, on a loaded machine, a container's
   * answer once came back empty).
   */
  async function shell(args, script) {
    const file = `/tmp/output-${(outputs += 1)}`;
    await podman.ok([...args, 'sh', '-c', `(${script}) > ${file}`]);
    const path = join(podman.rootfs, file);
    const output = readFileSync(path, 'utf8').trim();
    rmSync(path);
    return output;
  }

  /** A short-lived busybox container on `networks` running `script`: its output. */
  const runOnce = (script, networks = [network]) => shell(['run', '--rm', '--network', networks.join(','), '--rootfs', podman.rootfs], script);

  before(async () => {
    ({ netns: wan, remove: removeWan } = await createWan(WAN_LINK, { host: HOST, wan: WAN }));
    wanServer = await startHttpWhoAmI(wan, WAN_PORT);
    podman = await createPodman({ lists: [conflist, otherConflist], defaultNetwork: network });
    // The first containers make the networks (and the front end starts the CNI service).
    await runOnce('true');
    await runOnce('true', [otherNetwork]);
    empty = await settledSnapshot();
  });

  after(async () => {
    const failures = [];
    const attempt = async (fn) => fn().catch((error) => failures.push(error));
    if (podman) await attempt(() => podman.close());
    await attempt(() => stopCniService());
    if (wanServer) await attempt(() => stop(wanServer));
    if (removeWan) await attempt(() => removeWan());
    for (const name of [network, otherNetwork]) await attempt(() => removeNetwork(name, { force: true }));
    if (failures.length) throw failures[0];
  });

  it('gives a container the addresses, routes and DNS servers nsnet recorded, as the kernel has them', async () => {
    web = await startWeb('web', ['-p', `${PORT}:80`]);
    const [addresses, link, routes, routes6, resolvConf] = (
      await shell(['exec', 'web'], 'ip -o addr show dev eth0; echo @; ip -o link show dev eth0; echo @; ip route; echo @; ip -6 route; echo @; cat /etc/resolv.conf')
    ).split('@\n');
    const { endpoint } = web;
    expect(endpoint.ipv4.startsWith('10.178.0.')).to.equal(true);
    expect(endpoint.ipv6.startsWith('fd00:178::')).to.equal(true);
    const recorded = [`${endpoint.ipv4}/24`, `${endpoint.ipv6}/64`];
    expect(globalAddresses(addresses)).to.deep.equal(recorded);
    const oracle = ipJson(['addr', 'show', 'dev', 'eth0'], web.netns)[0];
    expect(oracle.address).to.equal(endpoint.mac);
    expect(link).to.include(`link/ether ${endpoint.mac}`);
    expect(oracle.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)).to.deep.equal(recorded);
    expect(routes).to.match(new RegExp(`^default via ${GATEWAY} dev eth0`, 'm'));
    expect(routes6).to.match(new RegExp(`^default via ${GATEWAY6} dev eth0`, 'm'));
    expect(ipJson(['route', 'show', 'default'], web.netns).map(({ gateway, dev }) => ({ gateway, dev }))).to.deep.equal([{ gateway: GATEWAY, dev: 'eth0' }]);
    // The host end of the veth is on the network's bridge.
    expect(ipJson(['-d', 'link', 'show', 'dev', endpoint.hostIfname])[0].master).to.equal(`nsbr-${network}`);
    // Podman read nsnet's result: the address it shows, and the DNS servers of the config in resolv.conf.
    expect(await podman.ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, 'web'])).to.equal(endpoint.ipv4);
    for (const server of NAMESERVERS) expect(resolvConf).to.match(new RegExp(`^nameserver ${server.replaceAll('.', '\\.')}$`, 'm'));
    expect(resolvConf).to.match(new RegExp(`^search ${SEARCH}( |$)`, 'm'));
  });

  it('carries traffic between containers, over IPv4 and IPv6, with no address translation', async () => {
    const { ipv4, ipv6 } = web.endpoint;
    const output = await runOnce(`ip -o -4 addr show dev eth0; wget -qO- http://${ipv4}/cgi-bin/whoami; wget -qO- 'http://[${ipv6}]/cgi-bin/whoami'`);
    const [own, reply4, reply6] = output.split('\n');
    const client = /inet (\S+)\//.exec(own)[1];
    expect(client).to.not.equal(ipv4);
    expect(whoami(reply4)).to.deep.equal({ server: 'web', client });
    expect(whoami(reply6).server).to.equal('web');
    expect(whoami(reply6).client.startsWith('fd00:178::')).to.equal(true);
  });

  it('publishes -p on the host: from the host, from 127.0.0.1, from the wan namespace, and back from a container (hairpin)', async () => {
    expect(whoami(await httpGet(`http://${HOST}:${PORT}/cgi-bin/whoami`)).server).to.equal('web');
    expect(whoami(await httpGet(`http://127.0.0.1:${PORT}/cgi-bin/whoami`)).server).to.equal('web');
    // From outside, the container sees the client's own address.
    expect(whoami(await httpGetFrom(wan, `http://${HOST}:${PORT}/cgi-bin/whoami`))).to.deep.equal({ server: 'web', client: WAN });
    expect(whoami(await runOnce(`wget -qO- http://${HOST}:${PORT}/cgi-bin/whoami`)).server).to.equal('web');
  });

  it("masquerades a container's traffic out: the wan server sees the host's address", async () => {
    expect(await runOnce(`wget -qO- http://${WAN}:${WAN_PORT}/`)).to.equal(HOST);
  });

  it('puts a container run without --network on the default_network of containers.conf', async () => {
    const output = await shell(['run', '--rm', '--rootfs', podman.rootfs], 'ip -o -4 addr show dev eth0');
    expect(output).to.match(/inet 10\.178\.0\.\d+\/24 /);
  });

  it('refuses a host port that is published already: podman run fails naming the port, and nothing is left', async () => {
    const before = await settledSnapshot();
    const result = await podman.run(['run', '-d', '--name', 'taken', '--network', network, '-p', `${PORT}:80`, '--rootfs', podman.rootfs, 'httpd', '-f', '-p', '80']);
    expect(result.code, result.stderr).to.not.equal(0);
    expect(result.stderr).to.match(new RegExp(`tcp port ${PORT} on 0\\.0\\.0\\.0 is already published`));
    await expectSettled(before);
    await podman.ok(['rm', 'taken']);
    // The container that has the port still serves it.
    expect(whoami(await httpGet(`http://${HOST}:${PORT}/cgi-bin/whoami`)).server).to.equal('web');
  });

  it('gives --ip, --ip6 and --mac-address to the container', async () => {
    const mac = '02:42:0a:b2:00:4d';
    const fixed = await startWeb('fixed', ['--ip', '10.178.0.77', '--ip6', 'fd00:178::77', '--mac-address', mac]);
    expect(fixed.endpoint).to.include({ ipv4: '10.178.0.77', ipv6: 'fd00:178::77', mac });
    const inside = await shell(['exec', 'fixed'], 'ip -o addr show dev eth0; ip -o link show dev eth0');
    expect(globalAddresses(inside)).to.deep.equal(['10.178.0.77/24', 'fd00:178::77/64']);
    expect(inside).to.include(`link/ether ${mac}`);
    expect(ipJson(['link', 'show', 'dev', 'eth0'], fixed.netns)[0].address).to.equal(mac);
    expect(whoami(await runOnce('wget -qO- http://10.178.0.77/cgi-bin/whoami')).server).to.equal('fixed');
    await podman.ok(['rm', '--force', '--time', '0', 'fixed']);
  });

  it('runs a container on two nsnet networks (--network a,b): an interface on each, the default routes of one', async () => {
    const output = await runOnce(`ip -o addr; echo @; ip route; echo @; wget -qO- http://${web.endpoint.ipv4}/cgi-bin/whoami`, [network, otherNetwork]);
    const [addresses, routes, reply] = output.split('@\n');
    const byInterface = Object.fromEntries(['eth0', 'eth1'].map((dev) => [dev, globalAddresses(addresses.split('\n').filter((line) => line.includes(` ${dev} `)).join('\n'))]));
    const [first, second] = byInterface.eth0[0].startsWith('10.178.') ? ['eth0', 'eth1'] : ['eth1', 'eth0'];
    expect(byInterface[first]).to.have.length(2); // dual stack
    expect(byInterface[second]).to.have.length(1);
    expect(byInterface[second][0].startsWith('10.179.0.')).to.equal(true);
    // Whichever network Podman added first gave the default route.
    const defaults = [...routes.matchAll(/^default via (\S+) dev (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(defaults).to.have.length(1);
    expect([`${GATEWAY} ${first}`, `${GATEWAY_OTHER} ${second}`]).to.include(defaults[0]);
    expect(whoami(reply).server).to.equal('web');
  });

  it('gives the container its network again after podman network reload (DEL and ADD in its namespace) and podman restart', async () => {
    await podman.ok(['network', 'reload', 'web']);
    expect(records().attachments.filter((a) => a.startsWith(`${network}:${web.id}:`))).to.have.length(1);
    expect(whoami(await httpGet(`http://${HOST}:${PORT}/cgi-bin/whoami`)).server).to.equal('web');
    expect((await settledSnapshot()).namespaces).to.deep.equal([...empty.namespaces, web.netns].sort());
    await podman.ok(['restart', '--time', '0', 'web']);
    const netns = basename(await podman.ok(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', 'web']));
    expect(netns).to.not.equal(web.netns);
    expect(whoami(await httpGet(`http://${HOST}:${PORT}/cgi-bin/whoami`)).server).to.equal('web');
    expect(whoami(await httpGetFrom(wan, `http://${HOST}:${PORT}/cgi-bin/whoami`))).to.deep.equal({ server: 'web', client: WAN });
    expect((await settledSnapshot()).namespaces).to.deep.equal([...empty.namespaces, netns].sort());
    expect(records().attachments).to.deep.equal([`${network}:${web.id}:eth0.json`]);
  });

  it('podman stop runs DEL: no link, namespace, nf_tables element or record of the container is left; podman rm after it', async () => {
    await podman.ok(['stop', '--time', '0', 'web']);
    await expectSettled(empty);
    await podman.ok(['rm', 'web']);
    expect(snapshot()).to.deep.equal(empty);
    await expectClosed(`http://${HOST}:${PORT}/`);
  });

  it('podman rm --force of a running container, and a container that ends by itself (conmon has Podman clean up), leave nothing', async () => {
    await startWeb('forced', ['-p', `${OTHER_PORT}:80`]);
    expect(snapshot()).to.not.deep.equal(empty);
    await podman.ok(['rm', '--force', '--time', '0', 'forced']);
    await expectSettled(empty);

    await podman.ok(['run', '-d', '--name', 'brief', '--network', network, '-p', `${OTHER_PORT}:80`, '--rootfs', podman.rootfs, 'sleep', '0.5']);
    expect(records().attachments).to.have.length(1);
    await expectSettled(empty);
    expect(await podman.ok(['inspect', '--format', '{{.State.Status}}', 'brief'])).to.equal('exited');
    await podman.ok(['rm', 'brief']);
    expect(snapshot()).to.deep.equal(empty);
  });
});

/** A connection to `url` that must be refused: nothing listens or forwards there any more. */
async function expectClosed(url) {
  const outcome = await httpGet(url, 1).then(
    () => 'it answered',
    (error) => error.code ?? error.message,
  );
  expect(outcome).to.equal('ECONNREFUSED');
}
