import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { withFileLock } from '../../dist/index.js';

describe('withFileLock', () => {
  let dir;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsnet-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('waits while another process holds the flock', async () => {
    const file = join(dir, 'state.lock');
    // util-linux flock(1) holds the lock from a separate process.
    // It marks, just before it lets go, that it was done.
    const done = join(dir, 'holder-done');
    const holder = spawn('flock', [file, 'sh', '-c', 'echo held; sleep 0.5; touch "$0"', done], { stdio: ['ignore', 'pipe', 'inherit'] });
    const holderExit = once(holder, 'exit');
    await once(holder.stdout, 'data');
    await withFileLock(file, async () => {
      expect(existsSync(done), 'the lock came before the holder let go').to.equal(true);
      const probe = spawn('flock', ['-n', file, 'true']);
      expect((await once(probe, 'exit'))[0], 'lock must be ours now').to.equal(1);
    });
    await holderExit;
  });

  it('serialises holders within one process, and releases on error', async () => {
    const file = join(dir, 'state.lock');
    const order = [];
    let inside = 0;
    const task = (id) =>
      withFileLock(file, async () => {
        inside += 1;
        expect(inside).to.equal(1);
        order.push(id);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inside -= 1;
        if (id === 2) throw new Error('boom');
      });
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(task));
    expect(order).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    // Released: another process can take it at once.
    const taker = spawn('flock', ['-n', file, 'true']);
    expect((await once(taker, 'exit'))[0]).to.equal(0);
  });
});
