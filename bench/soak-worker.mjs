// One worker of the soak (bench/soak.mjs), started by it as a child process
// with an IPC channel: sets up and tears down containers with published
// ports on the soak network through the public API, one operation at a
// time, and reports each operation to the soak script. On request it pins a
// live container (left alone until unpinned) for a traffic check, and runs
// reconcile(). A worker that starts in the slot of a killed one adopts the
// containers of that slot (their ids start with `w<slot>g`) and tears them
// down in its turn, unless told not to (`adopt: false`).
//
// argv[2]: JSON { slot, generation, network, minLive, maxLive, pauseMs, fixedPorts: [first, last], adopt }
import { listContainers, reconcile, setupContainer, teardownContainer } from '../dist/index.js';

const config = JSON.parse(process.argv[2]);
const prefix = `w${config.slot}g`;
/** id -> { hostPort, netnsPath } of the containers this worker holds. */
const live = new Map();
const pinned = new Set();
/** The container being torn down: not to be pinned. */
let leaving;
let stopping = false;
let serial = 0;

const send = (message) => process.connected && process.send(message);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = (items) => items[Math.floor(Math.random() * items.length)];

function describe(error) {
  return { code: error?.code ?? error?.name ?? 'unknown', message: String(error?.message ?? error).split('\n')[0] };
}

/** Runs one operation and reports it, with its start and end (ms since the epoch, the soak script's clock too). */
async function operation(op, id, fn) {
  const start = Date.now();
  send({ t: 'begin', op, id });
  try {
    await fn();
    send({ t: 'op', op, id, ok: true, start, end: Date.now() });
  } catch (error) {
    send({ t: 'op', op, id, ok: false, ...describe(error), start, end: Date.now() });
  }
}

async function setupOne() {
  const id = `${prefix}${config.generation}n${++serial}`;
  // Every container publishes one port on a free ephemeral host port; half of
  // them also ask for a fixed one from a range shared by all workers, so that
  // workers compete for host ports (the loser gets PORT_IN_USE).
  const publish = ['80/tcp'];
  const [first, last] = config.fixedPorts;
  if (Math.random() < 0.5) publish.push(`${first + Math.floor(Math.random() * (last - first + 1))}:81/tcp`);
  await operation('setup', id, async () => {
    const container = await setupContainer(id, { network: config.network, publish });
    const web = container.endpoint.ports.find((port) => port.containerPort === 80);
    live.set(id, { hostPort: web.hostPort, netnsPath: container.netns.path, address: container.endpoint.ipv4 });
  });
}

async function teardownOne(id) {
  leaving = id;
  await operation('teardown', id, async () => {
    await teardownContainer(id);
    live.delete(id);
  });
  leaving = undefined;
}

async function adopt() {
  for (const container of await listContainers()) {
    if (!container.id.startsWith(prefix)) continue;
    const web = container.endpoint?.ports.find((port) => port.containerPort === 80);
    live.set(container.id, { hostPort: web?.hostPort, netnsPath: container.netnsPath, adopted: true });
  }
}

async function churn() {
  while (!stopping) {
    const free = [...live.keys()].filter((id) => !pinned.has(id));
    const grow = live.size < config.minLive || (live.size < config.maxLive && Math.random() < 0.5);
    if (grow || !free.length) await setupOne();
    else await teardownOne(pick(free));
    await sleep(config.pauseMs * (0.5 + Math.random()));
  }
}

process.on('message', async (message) => {
  if (message.t === 'pin') {
    // A container set up by this worker, ready, with its port known.
    const candidates = [...live].filter(([id, c]) => !pinned.has(id) && id !== leaving && !c.adopted && c.hostPort);
    if (!candidates.length) return send({ t: 'pinned', none: true });
    const [id, container] = pick(candidates);
    pinned.add(id);
    send({ t: 'pinned', id, ...container });
  } else if (message.t === 'unpin') {
    pinned.delete(message.id);
  } else if (message.t === 'reconcile') {
    const start = Date.now();
    try {
      const report = await reconcile();
      const cleaned = Object.fromEntries(
        Object.entries(report).filter(([, value]) => Array.isArray(value) && value.length).map(([key, value]) => [key, value.length]),
      );
      send({ t: 'reconciled', ok: true, start, end: Date.now(), cleaned, firewallElements: report.firewallElements, failures: report.failures });
    } catch (error) {
      send({ t: 'reconciled', ok: false, ...describe(error), start, end: Date.now() });
    }
  } else if (message.t === 'stop') {
    stopping = true;
  }
});

if (config.adopt) await adopt();
send({ t: 'ready', adopted: live.size });
await churn();
process.exit(0);
