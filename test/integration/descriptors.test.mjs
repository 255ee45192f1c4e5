// A process that manages many containers holds no descriptor per container.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

import { expect } from 'chai';

import { createBridgeNetwork, removeNetwork } from '../../dist/index.js';
import { ipJson, uniqueName } from '../helpers.mjs';

const worker = join(process.cwd(), 'test', 'integration', 'workers', 'setup-many.mjs');

describe('descriptors at rest', () => {
  it('300 containers set up under a limit of 256 descriptors: the count stays flat', async () => {
    const network = uniqueName('fd');
    const prefix = uniqueName('fdc');
    await createBridgeNetwork({ name: network, subnet: '10.145.0.0/22' });
    try {
      const output = await new Promise((resolve, reject) => {
        const script = `ulimit -n 256 && exec "$0" "$@"`;
        execFile('sh', ['-c', script, process.execPath, worker, network, prefix, '300'], (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout),
        );
      });
      const { first, all, tornDown } = JSON.parse(output);
      expect(all, 'descriptors with 300 containers vs with 1').to.equal(first);
      expect(tornDown).to.be.at.most(first);
      expect(ipJson(['netns', 'list']).filter((ns) => ns.name.startsWith(prefix))).to.deep.equal([]);
    } finally {
      await removeNetwork(network, { force: true });
    }
  });
});
