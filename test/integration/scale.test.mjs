// One network of 1,000 containers, the most a bridge takes with room to
// spare (the kernel's limit is 1,023 ports): every one has an address of its
// own in the kernel, the listings see all of them, and traffic still flows
// between the first and the last.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { expect } from 'chai';

import { createBridgeNetwork, NetNamespace, removeNetwork, setupContainer, teardownContainer } from '../../dist/index.js';
import { ipJson, startTcpServer, stop, tcpRequest, uniqueName } from '../helpers.mjs';

const COUNT = 1000;
const bin = join(process.cwd(), 'bin', 'nsnet.js');

async function nsnetJson(args) {
  const { stdout } = await promisify(execFile)(process.execPath, [bin, ...args], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

/** Runs `fn` over `items`, `width` at a time. */
async function inWaves(items, width, fn) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

describe('a network of 1,000 containers', function () {
  this.timeout(300000);
  const name = uniqueName('sc');
  const prefix = uniqueName('s');
  const ids = Array.from({ length: COUNT }, (_, i) => `${prefix}-${i}`);
  let network;
  const addresses = new Map();

  before(async () => {
    network = await createBridgeNetwork({ name, subnet: '10.146.0.0/16' });
    await inWaves(ids, 50, async (id) => addresses.set(id, (await setupContainer(id, { network: name })).endpoint.ipv4));
  });
  after(async () => {
    await inWaves(ids, 50, (id) => teardownContainer(id));
    await removeNetwork(name, { force: true });
  });

  it('gives each its own address and its own port on the bridge, as the kernel reads them', () => {
    expect(new Set(addresses.values()).size).to.equal(COUNT);
    const ports = ipJson(['link', 'show', 'master', network.bridge]);
    expect(ports).to.have.length(COUNT);
    // Every hundredth, and the last, read back from its namespace.
    for (const id of [...ids.filter((_, i) => i % 100 === 0), ids[COUNT - 1]]) {
      expect(ipJson(['-4', 'addr', 'show', 'dev', 'eth0'], id)[0].addr_info[0].local).to.equal(addresses.get(id));
    }
  });

  it('nsnet ps and network inspect list all of them', async () => {
    const listed = (await nsnetJson(['ps', '--json'])).containers.filter((c) => c.id.startsWith(`${prefix}-`));
    expect(listed).to.have.length(COUNT);
    expect(new Map(listed.map((c) => [c.id, c.endpoint.ipv4]))).to.deep.equal(addresses);
    const [inspected] = await nsnetJson(['network', 'inspect', '--json', name]);
    expect(new Set(inspected.endpoints.map((e) => e.ipv4))).to.deep.equal(new Set(addresses.values()));
  });

  it('carries traffic between the first and the last', async () => {
    const first = await NetNamespace.open(ids[0]);
    const last = await NetNamespace.open(ids[COUNT - 1]);
    const server = await startTcpServer(first, 7000);
    try {
      expect(await tcpRequest(last, addresses.get(ids[0]), 7000, 'far')).to.equal('echo:far');
    } finally {
      await stop(server);
      first.close();
      last.close();
    }
  });
});
