// Steps of an overlay dataplane on simulated hosts (test/hosts.mjs), each a
// function run in a host's worker (host.run(step, arg)): its source is sent,
// so it names nothing of this module; paths are the worker's (test/workers/).

/** In a host's worker: the network, its VXLAN port and containers at `ips`; resolves to them as RemoteEndpoints. */
export async function setUpHost(nsnet, { network, bridge, vxlan, vni, underlay, ips }, keep) {
  const { createVxlanPort } = require('../../dist/network/overlay-dataplane.js');
  const { underlayMtu } = require('../../dist/network/overlay-underlay.js');
  const mtu = (await underlayMtu(underlay)) - 50;
  await nsnet.createBridgeNetwork({ name: network, bridge, subnet: '10.214.0.0/24', ipv6: { subnet: 'fd00:214::/64' }, mtu });
  await createVxlanPort({ bridge, vxlan, vni, port: 4789, underlay, mtu });
  keep.containers = [];
  for (const ip of ips) {
    // Addresses of each host's own: without a store, every host's IPAM would hand out the same ones.
    const { id } = await nsnet.setupContainer(`c-${ip.replaceAll('.', '-')}`, { network, ip, ipv6: `fd00:214::${ip.split('.')[3]}` });
    keep.containers.push(id);
    keep[ip] = id;
  }
  const endpoints = await (await nsnet.getNetwork(network)).endpoints();
  return endpoints.map(({ mac, ipv4, ipv6 }) => ({ mac, ipv4, ipv6, host: underlay }));
}

/** In a host's worker: applyRemotes(vxlan, change). */
export async function applyOn(nsnet, { vxlan, change }) {
  const { applyRemotes } = require('../../dist/network/overlay-dataplane.js');
  await applyRemotes(vxlan, change);
}

/** In a host's worker: the network removed, with its containers and servers; then the VXLAN port. */
export async function tearDownHost(nsnet, { network, vxlan }, keep) {
  const { deleteVxlanPort } = require('../../dist/network/overlay-dataplane.js');
  for (const child of Object.values(keep.servers ?? {})) child.kill();
  for (const id of keep.containers ?? []) await nsnet.teardownContainer(id);
  await deleteVxlanPort(vxlan);
  await nsnet.removeNetwork(network);
}

/** In a host's worker: a command run in the container at `ip`. */
export async function execIn(nsnet, { ip, argv }, keep) {
  const ns = await nsnet.NetNamespace.open(keep[ip]);
  return ns.exec(argv[0], argv.slice(1));
}

/** In a host's worker: a TCP server in container `id` on `port`, replying "<id>:<data>"; kept in keep.servers[id]. */
export async function serveTcp(nsnet, { id, port }, keep) {
  const ns = await nsnet.NetNamespace.open(id);
  const script = `require('node:net').createServer((s) => s.on('data', (d) => s.end('${id}:' + d))).listen(${port}, '::', () => console.log('listening'))`;
  const child = ns.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  keep.servers = { ...keep.servers, [id]: child };
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** In a host's worker: from container `from`, a TCP exchange with to:port; the reply, or 'failed: <why>'. */
export async function tcpFrom(nsnet, { from, to, port, timeoutMs = 3000 }) {
  const ns = await nsnet.NetNamespace.open(from);
  const script = `
    const socket = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
    let reply = '';
    setTimeout(() => { console.error('timeout'); process.exit(2); }, ${timeoutMs});
    socket.on('connect', () => socket.write('hello'));
    socket.on('data', (data) => (reply += data));
    socket.on('end', () => { process.stdout.write(reply); process.exit(0); });
    socket.on('error', (e) => { console.error(e.code); process.exit(3); });`;
  const result = await ns.exec(process.execPath, ['-e', script, to, String(port)]);
  return result.code === 0 ? result.stdout : `failed: ${result.stderr.trim()}`;
}

/**
 * Kills, by SIGKILL, the process whose pid the host's file `path` gives (its
 * `pid` field when JSON), `$NAME` in `path` read from the host's environment,
 * and waits until it is gone: its pid.
 */
export async function killByPidFile(nsnet, { path }) {
  const file = path.replace(/\$(\w+)/g, (_, name) => process.env[name]);
  const text = require('node:fs').readFileSync(file, 'utf8');
  const pid = text.trim().startsWith('{') ? JSON.parse(text).pid : Number(text);
  process.kill(pid, 'SIGKILL');
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
