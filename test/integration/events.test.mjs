// ns.events(): the kernel's notifications of one namespace, checked against
// what list() reads from the kernel right after each change; a burst the
// reader does not keep up with, reported as an overrun; the socket closed
// with the stream; and `nsnet monitor`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'chai';

import { NetNamespace } from '../../dist/index.js';
import { errorCode, ip, uniqueName } from '../helpers.mjs';

const bin = join(process.cwd(), 'bin', 'nsnet.js');
const openDescriptors = () => readdirSync('/proc/self/fd').length;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a stream in the background: its events so far, and a wait for quiet. */
function collect(events) {
  const seen = [];
  const done = (async () => {
    for await (const event of events) seen.push(event);
  })();
  return {
    seen,
    done,
    /** Resolves once no event has come for `quietMs`. */
    async settle(quietMs = 150) {
      for (let count = -1; count !== seen.length; ) {
        count = seen.length;
        await sleep(quietMs);
      }
    },
  };
}

/** The entry an event carries, shaped as list() gives it. */
function entryOf(event) {
  const { type, action, routeType, ...entry } = event;
  return type === 'route' ? { ...entry, type: routeType } : entry;
}

describe('ns.events()', () => {
  let ns;
  beforeEach(async () => {
    ns = await NetNamespace.create(uniqueName('ev'));
  });
  afterEach(async () => {
    await ns.delete();
  });

  it('reports each change of links, addresses, routes and neighbours, in order, shaped as list() reads them', async () => {
    const events = ns.events();
    await events.opened;
    const reader = collect(events);
    const steps = [];
    /** Makes a change, then checks that the last event about its object equals list()'s entry. */
    async function step(name, change, listed, matches, action = 'new') {
      const from = reader.seen.length;
      await change();
      await reader.settle();
      const about = reader.seen.slice(from).filter(matches);
      expect(about, `events of: ${name}`).to.not.be.empty;
      const last = about[about.length - 1];
      expect(last.action, name).to.equal(action);
      expect(entryOf(last), name).to.deep.equal(await listed());
      steps.push({ name, first: reader.seen.indexOf(about[0]) });
    }

    const isLink = (e) => e.type === 'link' && e.name === 'a0';
    const linkA0 = async () => (await ns.links.list()).find((link) => link.name === 'a0');
    await step('link add', () => ns.links.add({ kind: 'veth', name: 'a0', peer: { name: 'a1' } }), linkA0, isLink);
    await step('link set', () => ns.links.set('a0', { up: true, mtu: 1400 }), linkA0, isLink);

    const isAddress = (e) => e.type === 'address' && e.cidr === '10.5.0.2/24';
    const address = async () => (await ns.addresses.list({ dev: 'a0' })).find((a) => a.cidr === '10.5.0.2/24');
    await step('address add', () => ns.addresses.add('a0', '10.5.0.2/24'), address, isAddress);

    const isRoute = (e) => e.type === 'route' && e.dst === '10.6.0.0/24';
    const route = async () => (await ns.routes.list()).find((r) => r.dst === '10.6.0.0/24');
    await step('route add', () => ns.routes.add({ dst: '10.6.0.0/24', gateway: '10.5.0.1' }), route, isRoute);

    const isNeighbour = (e) => e.type === 'neighbour' && e.address === '10.5.0.9';
    const neighbour = async () => (await ns.neighbours.list({ dev: 'a0', family: 4 })).find((n) => n.address === '10.5.0.9');
    await step('neighbour add', () => ns.neighbours.add({ dev: 'a0', address: '10.5.0.9', mac: '02:00:00:00:05:09' }), neighbour, isNeighbour);

    // A deletion carries the entry as it was: list() read just before it.
    const before = { neighbour: await neighbour(), route: await route(), address: await address(), link: await linkA0() };
    // A neighbour entry is failed by the kernel before it goes: its deletion says so, without the MAC.
    const { mac: _mac, ...forgotten } = before.neighbour;
    await step('neighbour delete', () => ns.neighbours.delete({ dev: 'a0', address: '10.5.0.9' }), async () => ({ ...forgotten, state: 'failed' }), isNeighbour, 'del');
    await step('route delete', () => ns.routes.delete({ dst: '10.6.0.0/24', gateway: '10.5.0.1' }), async () => before.route, isRoute, 'del');
    await step('address delete', () => ns.addresses.delete('a0', '10.5.0.2/24'), async () => before.address, isAddress, 'del');
    const deleted = reader.seen.length;
    await ns.links.delete('a0');
    await reader.settle();
    const linkGone = reader.seen.slice(deleted).filter(isLink).pop();
    expect(linkGone.action).to.equal('del');
    expect(linkGone).to.include({ index: before.link.index, name: 'a0', kind: 'veth' });
    expect(reader.seen.slice(deleted).some((e) => e.type === 'link' && e.action === 'del' && e.name === 'a1')).to.equal(true);

    // In the order they were made.
    const firsts = steps.map((s) => s.first);
    expect(firsts).to.deep.equal([...firsts].sort((a, b) => a - b));
    events.close();
    await reader.done;
  });

  it('reports only the kinds asked for, and names devices in the other kinds even so', async () => {
    const events = ns.events({ addresses: true });
    await events.opened;
    const reader = collect(events);
    await ns.links.add({ kind: 'bridge', name: 'b0' });
    await ns.addresses.add('b0', '10.7.0.1/24');
    await reader.settle();
    expect(reader.seen.map((e) => e.type)).to.deep.equal(['address']);
    expect(reader.seen[0]).to.include({ action: 'new', dev: 'b0', cidr: '10.7.0.1/24' });
    events.close();
    await reader.done;
  });

  it('reports an overrun when a burst of 20,000 changes outruns a sleeping reader, then goes on', async function () {
    this.timeout(120000);
    await ns.links.add({ kind: 'bridge', name: 'b0', up: true });
    const events = ns.events({ routes: true });
    await events.opened;
    // Nobody reads while the kernel makes 20,000 routes (routes, as addresses
    // cost the kernel more the more a device has).
    const adds = [];
    for (let i = 0; i < 20000; i++) adds.push(ns.routes.add({ dst: `10.8.${i >> 8}.${i & 255}/32`, dev: 'b0' }));
    await Promise.all(adds);
    let before = 0;
    let overruns = 0;
    let later;
    let changedLater;
    for await (const event of events) {
      if (event.type === 'overrun') {
        overruns += 1;
        continue;
      }
      if (event.dst === '10.9.0.0/24') {
        later = event;
        break;
      }
      if (overruns === 0) before += 1;
      // Once the reader is past the loss, a change made now must arrive.
      if (overruns === 1 && !changedLater) changedLater = ns.routes.add({ dst: '10.9.0.0/24', dev: 'b0' });
    }
    await changedLater;
    expect(overruns).to.equal(1);
    // What the native queue and the kernel's buffer held: fewer than were made.
    expect(before).to.be.above(8000).and.below(20000);
    expect(later).to.include({ type: 'route', action: 'new', dev: 'b0', table: 254 });
    expect((await ns.routes.list({ dev: 'b0', family: 4 })).filter((r) => r.dst.startsWith('10.8.')).length).to.equal(20000);
  });

  it('close() ends the iteration and closes its socket; so do break and closing the namespace', async () => {
    const before = openDescriptors();
    const events = ns.events();
    await events.opened;
    // The socket, and the eventfd that wakes its reader thread.
    expect(openDescriptors()).to.equal(before + 2);
    const waiting = events.next();
    events.close();
    expect(await waiting).to.deep.equal({ value: undefined, done: true });
    expect(openDescriptors()).to.equal(before);

    const broken = ns.events({ links: true });
    await broken.opened;
    await ns.links.add({ kind: 'bridge', name: 'b1' });
    for await (const event of broken) {
      expect(event.type).to.equal('link');
      break;
    }
    expect(openDescriptors()).to.equal(before);

    const other = await NetNamespace.open(ns.name);
    const withHandle = openDescriptors();
    const stream = other.events();
    await stream.opened;
    const pending = stream.next();
    other.close();
    expect(await pending).to.deep.equal({ value: undefined, done: true });
    expect(openDescriptors()).to.equal(withHandle - 1); // the handle's own descriptor gone too
  });

  it('keeps the process alive only while a next() waits', async () => {
    const script = (iterate) => `
      const { NetNamespace } = require(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
      (async () => {
        const ns = await NetNamespace.open(${JSON.stringify(ns.name)});
        const events = ns.events();
        await events.opened;
        ${iterate ? "setTimeout(() => events.close(), 500).unref(); for await (const e of events) {} console.log('ended');" : "console.log('left open');"}
      })();`;
    for (const [iterate, expected] of [[false, 'left open'], [true, 'ended']]) {
      const started = Date.now();
      const child = spawn(process.execPath, ['-e', script(iterate)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      const killer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 10000);
      const [code] = await once(child, 'exit');
      clearTimeout(killer);
      expect({ code, out: out.trim() }).to.deep.equal({ code: 0, out: expected });
      // Waiting for the close, it lived past it; left open unread, it ended at once.
      if (iterate) expect(Date.now() - started).to.be.above(500);
    }
  });

  it('lets a worker with streams whose next() waits be terminated, and the process end cleanly', async () => {
    const worker = `
      const { NetNamespace } = require(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const ns = await NetNamespace.open(${JSON.stringify(ns.name)});
        for (let i = 0; i < 5; i++) {
          const events = ns.events();
          await events.opened;
          events.next();
        }
        parentPort.postMessage('waiting');
      })();`;
    const script = `
      const { Worker } = require('node:worker_threads');
      const worker = new Worker(${JSON.stringify(worker)}, { eval: true });
      worker.once('message', () => worker.terminate().then(() => console.log('terminated')));`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const killer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), 10000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(killer);
    expect({ code, signal, out: out.trim() }).to.deep.equal({ code: 0, signal: null, out: 'terminated' });
  });

  it('closes a stream dropped unclosed once it is collected: its socket, eventfd and reader thread', async () => {
    const script = `
      const { readdirSync } = require('node:fs');
      const { NetNamespace } = require(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
      const counts = () => [readdirSync('/proc/self/fd').length, readdirSync('/proc/self/task').length];
      (async () => {
        const ns = await NetNamespace.open(${JSON.stringify(ns.name)});
        await ns.links.list();
        const before = counts();
        const open = async () => { for (let i = 0; i < 20; i++) await ns.events().opened; };
        await open();
        const opened = counts();
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((resolve) => setTimeout(resolve, 20)); }
        console.log(JSON.stringify({ before, opened, collected: counts() }));
      })();`;
    const child = spawn(process.execPath, ['--expose-gc', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const [code] = await once(child, 'exit');
    expect(code).to.equal(0);
    const { before, opened, collected } = JSON.parse(out);
    expect(opened[0]).to.equal(before[0] + 40);
    expect(opened[1]).to.be.within(before[1] + 19, before[1] + 20);
    // Descriptors exactly; threads at most as many: the short-lived thread that opened the namespace's socket may still have been exiting at the first count.
    expect(collected[0]).to.equal(before[0]);
    expect(collected[1]).to.be.at.most(before[1]);
  });

  it('refuses options it does not know, before opening anything', () => {
    const before = openDescriptors();
    expect(errorCode(() => ns.events({ link: true }))).to.equal('INVALID_ARGUMENT');
    expect(errorCode(() => ns.events({ links: 'yes' }))).to.equal('INVALID_ARGUMENT');
    expect(errorCode(() => ns.events({ links: false }))).to.equal('INVALID_ARGUMENT');
    expect(errorCode(() => ns.events('links'))).to.equal('INVALID_ARGUMENT');
    expect(errorCode(() => ns.events([]))).to.equal('INVALID_ARGUMENT');
    expect(openDescriptors()).to.equal(before);
  });
});

describe('nsnet monitor', () => {
  it('prints a JSON line for a link made in the namespace it watches, and ends on SIGINT', async () => {
    const name = uniqueName('mon');
    const ns = await NetNamespace.create(name);
    try {
      const child = spawn(process.execPath, [bin, 'monitor', '--json', '--netns', name], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (err += chunk));
      const exited = once(child, 'exit');
      const ready = Date.now() + 10000;
      while (!err.includes('watching') && Date.now() < ready) await sleep(20);
      expect(err).to.include(`watching netns "${name}"`);
      ip(['-n', name, 'link', 'add', 'mon0', 'type', 'bridge']);
      const deadline = Date.now() + 5000;
      const line = () => out.split('\n').filter(Boolean).map((text) => JSON.parse(text)).find((e) => e.type === 'link' && e.name === 'mon0');
      while (!line() && Date.now() < deadline) await sleep(20);
      expect(line()).to.include({ type: 'link', action: 'new', kind: 'bridge', name: 'mon0' });
      process.kill(child.pid, 'SIGINT');
      const [code, signal] = await exited;
      expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    } finally {
      await ns.delete();
    }
  });
});
