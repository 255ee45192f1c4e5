// One process of bench/bursts.mjs's multi-process burst. Started before the
// timer, it warms up (one container set up and torn down), says "ready", and
// then does what its parent writes on stdin, all of its containers at once:
//   "setup"     -> one line of JSON: [[id, expectation], ...]
//   "teardown"  -> "done", and it exits.
// argv: network, id prefix, count, first host port (or "none").
import * as readline from 'node:readline';

import { setupContainer, teardownContainer } from '../dist/index.js';
import { expectation } from './oracle.mjs';

const [network, prefix, countText, portText] = process.argv.slice(2);
const ids = Array.from({ length: Number(countText) }, (_, i) => `${prefix}${i}`);
const publish = (i) => (portText === 'none' ? [] : [`${Number(portText) + i}:80`]);

await teardownContainer((await setupContainer(`${prefix}warm`, { network })).id);
process.stdout.write('ready\n');

for await (const command of readline.createInterface({ input: process.stdin })) {
  if (command === 'setup') {
    const containers = await Promise.all(ids.map((id, i) => setupContainer(id, { network, publish: publish(i) })));
    process.stdout.write(`${JSON.stringify(containers.map((c) => [c.id, expectation(c)]))}\n`);
  } else if (command === 'teardown') {
    await Promise.all(ids.map((id) => teardownContainer(id)));
    process.stdout.write('done\n');
    break;
  }
}
