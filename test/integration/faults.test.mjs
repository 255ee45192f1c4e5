// Fault injection (NSNET_FAULT, src/fault.ts): each operation runs in a child
// process told to fail, or to be killed, at its step N, for N = 1, 2, ...
// until no fault fires. After each run this process runs reconcile(); then
// the kernel (ip, nft, iptables-save), the netns directory and the state
// directory must hold nothing of what died and agree with each other, and
// the address and host port it had must be free to take again.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, getNetwork, NetNamespace, netnsEtcDir, reconcile, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { createWan, ipJson, runWithFault, startTcpServer, stateRecords as records, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const WORKER = join(process.cwd(), 'test/integration/workers/fault-operation.mjs');
const STATE_DIR = process.env.NSNET_STATE_DIR;
const NETNS_DIR = process.env.NSNET_NETNS_DIR;
/** Every namespace, container and network of this file is named with it. */
const PREFIX = 'flt';
const MAX_STEPS = 60;
const HOST = '203.0.113.1';
const WAN = '203.0.113.2';
/** The host port every container here publishes, on IPv4 and IPv6. */
const PORT = 18173;
/** ... and the one a container that stays (reconcile's scenario) publishes. */
const OTHER_PORT = 18174;
const OUR_PORTS = new Set([PORT, OTHER_PORT]);
const PUBLISH = [`${PORT}:80`, `[::]:${PORT}:80`];

const name = (kind) => uniqueName(`${PREFIX}${kind}`);

function record(kind, key) {
  const file = join(STATE_DIR, kind, `${key}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

function nftTable() {
  const listed = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', 'nsnet'], { encoding: 'utf8' }));
  return listed.nftables;
}

/** The published ports in nsnet's port maps, as "port address" (address: where they lead). */
function mappedPorts() {
  const mapped = [];
  for (const { map } of nftTable()) {
    if (!map || !map.name.startsWith('ports')) continue;
    for (const [key, data] of map.elem ?? []) {
      const port = key.concat.at(-1);
      if (OUR_PORTS.has(port)) mapped.push(`${port} ${data.concat[0]}`);
    }
  }
  return mapped.sort();
}

function bridgesInSets() {
  const bridges = new Set();
  for (const { set } of nftTable()) {
    if (set?.name === 'bridges') for (const element of set.elem ?? []) bridges.add(element);
  }
  return bridges;
}

/** The owner comments (nsnet:...) of every iptables and ip6tables rule. */
function iptablesOwners() {
  const text = ['iptables-save', 'ip6tables-save'].map((tool) => execFileSync(tool, { encoding: 'utf8' })).join('\n');
  return [...text.matchAll(/--comment "?(nsnet:[^\s"]+)/g)].map((match) => match[1]);
}

/**
 * The kernel agrees with the records of these networks ({ name, bridge }):
 * every piece of theirs in the kernel belongs to a ready endpoint, container
 * or network, and everything those have is there. `held` are namespaces the
 * test itself made.
 */
function checkConsistent(networks, held = []) {
  const names = new Set(networks.map((n) => n.name));
  const stored = records('networks').filter((n) => names.has(n.name));
  const storedNames = new Set(stored.map((n) => n.name));
  const endpoints = records('endpoints').filter((e) => names.has(e.network));
  const containers = records('containers').filter((c) => c.id.startsWith(PREFIX));
  for (const item of [...endpoints, ...containers]) expect(item.status, `${item.id} is ${item.status}`).to.equal('ready');

  const links = ipJson(['-d', 'link', 'show']);
  const byName = new Map(links.map((link) => [link.ifname, link]));
  for (const network of networks) {
    const bridge = byName.get(network.bridge);
    if (!storedNames.has(network.name)) {
      expect(bridge, `bridge ${network.bridge} of a network that has no record`).to.equal(undefined);
      expect(record('leases', network.name), `leases of network ${network.name} that has no record`).to.equal(undefined);
      continue;
    }
    expect(bridge?.ifalias, `bridge ${network.bridge}`).to.equal(`nsnet:network:${network.name}`);
    const onBridge = links.filter((link) => link.master === network.bridge).map((link) => link.ifname);
    const own = endpoints.filter((e) => e.network === network.name);
    expect(onBridge.sort(), `veths on ${network.bridge}`).to.deep.equal(own.map((e) => e.hostIfname).sort());
    const leases = record('leases', network.name);
    const owners = [leases?.ipv4, leases?.ipv6].flatMap((table) => Object.values(table?.addresses ?? {}));
    expect([...new Set(owners)].sort(), `lease owners of ${network.name}`).to.deep.equal(own.map((e) => e.id).sort());
  }
  for (const link of links) {
    const owner = /^nsnet:endpoint:([^:]+):(.+)$/.exec(link.ifalias ?? '');
    if (!owner || !names.has(owner[1])) continue;
    expect(endpoints.some((e) => e.id === owner[2] && e.hostIfname === link.ifname), `tagged veth ${link.ifname}`).to.equal(true);
  }
  for (const endpoint of endpoints) expect(existsSync(endpoint.netnsPath), `netns of ${endpoint.id}`).to.equal(true);

  const namespaces = readdirSync(NETNS_DIR).filter((file) => file.startsWith(PREFIX));
  const expectedNamespaces = [...containers.filter((c) => c.ownsNamespace).map((c) => c.id), ...held];
  expect(namespaces.sort(), 'namespaces').to.deep.equal(expectedNamespaces.sort());
  // Each container with a namespace of its own has its resolv.conf, and nothing else is left of one.
  const etcDirs = existsSync(netnsEtcDir()) ? readdirSync(netnsEtcDir()).filter((file) => file.startsWith(PREFIX)) : [];
  const owning = containers.filter((c) => c.ownsNamespace);
  expect(etcDirs.sort(), 'resolv.conf directories').to.deep.equal(owning.map((c) => c.id).sort());
  for (const container of owning) expect(readdirSync(join(netnsEtcDir(), container.id)), `resolv.conf of ${container.id}`).to.deep.equal(['resolv.conf']);
  for (const container of containers) {
    if (container.endpoint) expect(record('endpoints', container.endpoint), `endpoint of ${container.id}`).to.not.equal(undefined);
  }

  const published = endpoints.flatMap((e) => e.ports.filter((p) => OUR_PORTS.has(p.hostPort)).map((p) => ({ ...p, endpoint: e })));
  const bindings = ['tcp', 'udp', 'sctp'].flatMap((protocol) =>
    Object.entries(record('ports', protocol) ?? {}).flatMap(([port, list]) => (OUR_PORTS.has(Number(port)) ? list.map((b) => `${protocol} ${port} ${b.hostIp} ${b.owner}`) : [])),
  );
  expect(bindings.sort(), 'host ports').to.deep.equal(published.map((p) => `${p.protocol} ${p.hostPort} ${p.hostIp} ${p.endpoint.id}`).sort());

  const nftNetworks = stored.filter((n) => n.activeFirewall === 'nftables');
  const nftPorts = published.filter((p) => nftNetworks.some((n) => n.name === p.endpoint.network));
  expect(mappedPorts(), 'nf_tables port maps').to.deep.equal(
    nftPorts.map((p) => `${p.hostPort} ${p.hostIp.includes(':') ? p.endpoint.ipv6 : p.endpoint.ipv4}`).sort(),
  );
  const inSets = bridgesInSets();
  for (const network of networks) {
    const wanted = nftNetworks.some((n) => n.name === network.name);
    expect(inSets.has(network.bridge), `bridge ${network.bridge} in the bridges set`).to.equal(wanted);
  }

  const iptablesNetworks = new Set(stored.filter((n) => n.activeFirewall === 'iptables').map((n) => n.name));
  for (const owner of iptablesOwners()) {
    const tag = /^nsnet:(network|endpoint):([^:]+)(?::(.+))?$/.exec(owner);
    if (!tag || !names.has(tag[2])) continue;
    expect(iptablesNetworks.has(tag[2]), `iptables rule of ${owner}`).to.equal(true);
    if (tag[1] === 'endpoint') expect(endpoints.some((e) => e.id === tag[3]), `iptables rule of ${owner}`).to.equal(true);
  }
}

/** checkConsistent, given time for the kernel to remove the veths of deleted namespaces. */
async function settled(check) {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Runs `fn`; a failure says after which fault. */
async function explained(context, fn) {
  try {
    await fn();
  } catch (error) {
    error.message = `after ${context}\n${error.message}`;
    throw error;
  }
}

/** Runs `operation` in a child process with NSNET_FAULT=`fault`. */
function runFaulted(operation, args, fault) {
  return runWithFault(WORKER, [operation, JSON.stringify(args)], fault);
}

describe('fault injection at every step', function () {
  this.timeout(600000);
  const host = NetNamespace.host();
  let wan;
  let removeWan;
  /** The network every container here joins, and its iptables twin. */
  const nets = {
    nftables: { name: name('n'), subnet: '10.173.0.0/24', ipv6: 'fd00:173::/64' },
    iptables: { name: name('i'), subnet: '10.174.0.0/24', ipv6: 'fd00:174::/64' },
  };
  const address = (backend) => nets[backend].subnet.replace('0/24', '50');
  const address6 = (backend) => nets[backend].ipv6.replace('/64', '50');
  const containerOptions = (backend) => ({ network: nets[backend].name, ip: address(backend), ipv6: address6(backend), publish: PUBLISH });
  const all = () => Object.values(nets).map(({ name: n, bridge }) => ({ name: n, bridge }));
  const summary = [];

  before(async () => {
    for (const [backend, net] of Object.entries(nets)) {
      const made = await createBridgeNetwork({ name: net.name, subnet: net.subnet, ipv6: { subnet: net.ipv6 }, firewall: backend });
      net.bridge = made.bridge;
    }
    ({ netns: wan, remove: removeWan } = await createWan(name('w'), { host: HOST, wan: WAN }));
  });

  // What a failed test left goes, so that the next one starts clean.
  afterEach(async () => {
    for (const container of records('containers').filter((c) => c.id.startsWith(PREFIX))) await teardownContainer(container.id);
    const shared = new Set(Object.values(nets).map((n) => n.name));
    for (const network of records('networks').filter((n) => n.name.startsWith(PREFIX) && !shared.has(n.name))) {
      await removeNetwork(network.name, { force: true });
    }
    for (const ns of await NetNamespace.list()) {
      if (!ns.name.startsWith(PREFIX)) continue;
      for (const net of Object.values(nets)) await (await getNetwork(net.name)).disconnect(ns);
      await ns.delete();
    }
    await reconcile();
  });

  after(async () => {
    for (const net of Object.values(nets)) await removeNetwork(net.name, { force: true });
    await removeWan?.();
    console.log(`      steps walked: ${summary.join('; ')}`);
  });

  /**
   * The address and host port of a container that died are free: a new
   * container takes them, the kernel agrees, and (when `traffic`) a
   * connection from the wan namespace reaches it through the port.
   */
  async function retake(backend, traffic) {
    const id = name('r');
    const container = await setupContainer(id, containerOptions(backend));
    try {
      expect(container.endpoint.ipv4).to.equal(address(backend));
      await settled(() => checkConsistent(all()));
      if (traffic) {
        const server = await startTcpServer(container.netns, 80, 'retaken');
        try {
          expect(await tcpRequest(wan, HOST, PORT, 'hello')).to.equal('retaken:hello');
        } finally {
          await stop(server);
        }
      }
    } finally {
      await teardownContainer(id);
    }
  }

  /**
   * Walks every step N of a scenario: `prepare()` makes what the operation
   * needs and returns its arguments for the child; `failed(args, outcome)`
   * checks, before reconcile, what a failing step left (the rollback);
   * `repair(args)` finishes the job after reconcile (a teardown run again;
   * `insteadOfReconcile(args)` runs in reconcile's place),
   * `finish(args)` removes what a run that completed made; `check(args)` is
   * the oracle after reconcile. Returns the number of steps.
   */
  async function walk(operation, mode, scenario) {
    let n = 1;
    for (; ; n++) {
      expect(n, `${operation} has more than ${MAX_STEPS} steps`).to.be.at.most(MAX_STEPS);
      const args = await scenario.prepare();
      const run = await runFaulted(operation, args, `${operation}:${n}:${mode}`);
      const context = `${operation} ${mode} at step ${n} (${run.injected}), outcome ${JSON.stringify(run.outcome)}; steps:\n${run.stderr}`;
      if (run.injected === undefined) {
        expect(run.code, context).to.equal(0);
        expect(run.outcome?.ok, `${context} ${run.outcome?.message}`).to.equal(true);
        await scenario.finish?.(args);
        break;
      }
      if (mode === 'kill') {
        expect(run.signal, context).to.equal('SIGKILL');
      } else {
        expect(run.code, context).to.equal(0);
        // A teardown goes on past a failing part and says what it left; reconcile reports its failures.
        const failure = run.outcome.ok ? run.outcome.failures?.join('; ') : run.outcome.code;
        expect(failure, `${context}: ${JSON.stringify(run.outcome)}`).to.match(scenario.failsWith ?? /^FAULT_INJECTED$/);
        if (scenario.failed) await explained(context, () => settled(() => scenario.failed(args)));
      }
      if (mode === 'kill') await scenario.afterKill?.(args, run.injected);
      if (scenario.insteadOfReconcile) {
        await explained(context, () => scenario.insteadOfReconcile(args));
      } else {
        const report = await reconcile();
        expect(report.failures, context).to.deep.equal([]);
      }
      await explained(context, async () => {
        await scenario.repair?.(args);
        await settled(() => scenario.check(args));
        await scenario.cleanup?.(args);
      });
      await retake(scenario.backend ?? 'nftables', n === 1);
    }
    summary.push(`${[operation, scenario.backend, scenario.label, mode].filter(Boolean).join(' ')}: ${n - 1}`);
    return n - 1;
  }

  for (const mode of ['fail', 'kill']) {
    for (const backend of ['nftables', 'iptables']) {
      it(`setupContainer (${backend}, dual stack, published ports): ${mode} at every step leaves nothing`, async () => {
        const steps = await walk('setupContainer', mode, {
          backend,
          prepare: () => ({ id: name('s'), options: containerOptions(backend) }),
          failed: ({ id }) => {
            expect(record('containers', id), 'record of the container').to.equal(undefined);
            checkConsistent(all());
          },
          // Its last step is the record marked ready: killed at any step, it is not.
          check: ({ id }) => {
            expect(record('containers', id), 'record of the container').to.equal(undefined);
            checkConsistent(all());
          },
          finish: ({ id }) => teardownContainer(id),
        });
        expect(steps).to.be.at.least(8);
      });
    }

    it(`setupContainer (nftables): ${mode} at every step, then teardownContainer alone (no reconcile) leaves nothing`, async () => {
      const steps = await walk('setupContainer', mode, {
        label: 'then teardownContainer',
        prepare: () => ({ id: name('k'), options: containerOptions('nftables') }),
        insteadOfReconcile: ({ id }) => teardownContainer(id),
        check: ({ id }) => {
          expect(record('containers', id), 'record of the container').to.equal(undefined);
          checkConsistent(all());
        },
        finish: ({ id }) => teardownContainer(id),
      });
      expect(steps).to.be.at.least(8);
    });

    it(`teardownContainer: ${mode} at every step, then reconcile and teardown again, leaves nothing`, async () => {
      const steps = await walk('teardownContainer', mode, {
        prepare: async () => {
          const id = name('t');
          // The handle would keep the namespace (and its veth) after the teardown.
          (await setupContainer(id, containerOptions('nftables'))).netns.close();
          return { id };
        },
        failsWith: /^(FAULT_INJECTED|TEARDOWN_INCOMPLETE)$/,
        repair: async ({ id }) => {
          await settled(() => checkConsistent(all()));
          await teardownContainer(id);
        },
        check: () => checkConsistent(all()),
      });
      expect(steps).to.be.at.least(3);
    });

    it(`connect (dual stack, published ports): ${mode} at every step leaves nothing, or the whole endpoint`, async () => {
      const net = nets.nftables;
      const removeConnected = async ({ netns }) => {
        await (await getNetwork(net.name)).disconnect(netns);
        await (await NetNamespace.open(netns)).delete();
      };
      const steps = await walk('connect', mode, {
        prepare: async () => {
          const ns = await NetNamespace.create(name('c'));
          ns.close();
          return { network: net.name, netns: ns.name, options: { ip: address('nftables'), ipv6: address6('nftables'), publish: PUBLISH } };
        },
        failed: ({ netns }) => {
          expect(records('endpoints').filter((e) => e.network === net.name), 'endpoints').to.deep.equal([]);
          checkConsistent(all(), [netns]);
        },
        check: ({ netns }) => checkConsistent(all(), [netns]),
        finish: (args) => removeConnected(args),
        // The ports and the 'ready' record go at once: killed at the first after the other was
        // written, the endpoint is whole once reconcile has written its elements back.
        cleanup: (args) => removeConnected(args),
      });
      expect(steps).to.be.at.least(6);
    });

    it(`disconnect: ${mode} at every step, then reconcile and disconnect again, leaves nothing`, async () => {
      const net = nets.nftables;
      const steps = await walk('disconnect', mode, {
        prepare: async () => {
          const ns = await NetNamespace.create(name('d'));
          await (await getNetwork(net.name)).connect(ns, { ip: address('nftables'), ipv6: address6('nftables'), publish: PUBLISH });
          ns.close();
          return { network: net.name, netns: ns.name };
        },
        failsWith: /^(FAULT_INJECTED|TEARDOWN_INCOMPLETE)$/,
        repair: async ({ netns }) => {
          await settled(() => checkConsistent(all(), [netns]));
          await (await getNetwork(net.name)).disconnect(netns);
        },
        check: ({ netns }) => checkConsistent(all(), [netns]),
        finish: ({ netns }) => NetNamespace.open(netns).then((ns) => ns.delete()),
        cleanup: async ({ netns }) => (await NetNamespace.open(netns)).delete(),
      });
      expect(steps).to.be.at.least(3);
    });

    for (const backend of ['nftables', 'iptables']) {
      it(`createBridgeNetwork (${backend}, dual stack): ${mode} at every step leaves nothing, or the whole network`, async () => {
        const options = (args) => ({ name: args.name, bridge: args.bridge, subnet: '10.175.0.0/24', ipv6: { subnet: 'fd00:175::/64' }, firewall: backend });
        const network = (args) => [...all(), { name: args.name, bridge: args.bridge }];
        const steps = await walk('createBridgeNetwork', mode, {
          backend,
          prepare: () => {
            const args = { name: name('b') };
            args.bridge = args.name;
            return { ...args, options: options(args) };
          },
          failed: (args) => {
            expect(record('networks', args.name), 'network record').to.equal(undefined);
            checkConsistent(network(args));
          },
          // Killed between making the bridge and tagging it: the bridge is untagged but in
          // nsnet's interface group, which is how reconcile knows it (and removes it, below).
          afterKill: (args, step) => {
            if (!/^rtnl batch link set \S+ alias/.test(step)) return;
            const [bridge] = ipJson(['-d', 'link', 'show', 'dev', args.bridge]);
            expect(bridge.ifalias, 'bridge killed before its tag').to.equal(undefined);
            expect(String(bridge.group), 'interface group of the bridge').to.equal(String(0x6e736e74));
          },
          check: (args) => checkConsistent(network(args)),
          // Made again with the same options: the name, bridge and subnet are free (or the network is whole).
          cleanup: async (args) => {
            await createBridgeNetwork(options(args));
            checkConsistent(network(args));
            await removeNetwork(args.name);
            checkConsistent(network(args));
          },
          finish: (args) => removeNetwork(args.name),
        });
        expect(steps).to.be.at.least(5);
      });
    }

    it(`removeNetwork (force, with an endpoint): ${mode} at every step, then reconcile and remove again, leaves nothing`, async () => {
      const options = (args) => ({ name: args.name, bridge: args.name, subnet: '10.176.0.0/24', ipv6: { subnet: 'fd00:176::/64' } });
      const network = (args) => [...all(), { name: args.name, bridge: args.name }];
      const steps = await walk('removeNetwork', mode, {
        prepare: async () => {
          const args = { name: name('m'), options: { force: true } };
          const net = await createBridgeNetwork(options(args));
          const ns = await NetNamespace.create(name('e'));
          await net.connect(ns, { publish: PUBLISH });
          ns.close();
          args.netns = ns.name;
          return args;
        },
        failsWith: /^(FAULT_INJECTED|TEARDOWN_INCOMPLETE)$/,
        repair: async (args) => {
          await settled(() => checkConsistent(network(args), [args.netns]));
          await removeNetwork(args.name, { force: true }).catch((error) => {
            if (error.code !== 'NETWORK_NOT_FOUND') throw error;
          });
        },
        check: (args) => {
          expect(record('networks', args.name), 'network record').to.equal(undefined);
          checkConsistent(network(args), [args.netns]);
        },
        cleanup: async (args) => {
          await (await NetNamespace.open(args.netns)).delete();
          await createBridgeNetwork(options(args));
          await removeNetwork(args.name);
        },
        finish: async (args) => (await NetNamespace.open(args.netns)).delete(),
      });
      expect(steps).to.be.at.least(5);
    });

    it(`reconcile (a dead container, a flushed port map): ${mode} at every step, then reconcile again, repairs everything`, async () => {
      let live;
      const steps = await walk('reconcile', mode, {
        prepare: async () => {
          live ??= await setupContainer(name('l'), { network: nets.nftables.name, publish: [`${OTHER_PORT}:80`] });
          const dead = await setupContainer(name('x'), containerOptions('nftables'));
          dead.netns.close();
          // Gone behind nsnet's back: reconcile must find out.
          execFileSync('ip', ['netns', 'delete', dead.id]);
          execFileSync('nft', ['flush', 'map', 'inet', 'nsnet', 'ports4_any']);
          return { dead: dead.id };
        },
        failsWith: /FAULT_INJECTED|fault injected/,
        check: ({ dead }) => {
          expect(record('containers', dead), 'record of the dead container').to.equal(undefined);
          checkConsistent(all());
          expect(mappedPorts()).to.include(`${OTHER_PORT} ${live.endpoint.ipv4}`);
        },
      });
      await teardownContainer(live.id);
      expect(steps).to.be.at.least(3);
    });
  }
});
