// Every example runs as a user would run it, so none can rot.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { expect } from 'chai';

import { eventually, ipJson, linkNames, newLinks } from '../helpers.mjs';

const examplesDir = join(process.cwd(), 'examples');
const expectations = {
  'veth-between-namespaces.mjs': 'blue -> red:8080 over the bridge: "red got: hello from blue"',
  'container-modes.mjs': "sidecar shares web's namespace: true\ntool is in the host namespace: true",
  'two-containers.mjs': 'alpha -> beta:  beta got: hello beta\nbeta -> alpha:  alpha got: hello alpha\nalpha -> gateway 10.92.0.1: reached, ECONNREFUSED',
  'publish-ports.mjs': [
    'host -> 127.0.0.1:8080        web got: via loopback',
    'host -> 10.93.0.1:8080        web got: via host address',
    'host -> 127.0.0.1:8081        web got: loopback only',
    'host -> 127.0.0.1:<picked>    web got: picked port',
    'sibling -> 10.93.0.1:8080     web got: hairpin',
  ].join('\n'),
  'isolation.mjs': [
    'f1 -> f2  (same network)             f2 got: hi f2',
    'f1 -> b1  (other network)            failed: timed out',
    'b1 -> f1  (other network)            failed: timed out',
    'l1 -> l2  (same network, icc off)    failed: timed out',
  ].join('\n'),
  'tiny-runtime.mjs': new RegExp(
    [
      'inside: lo 127\\.0\\.0\\.1/8, eth0 10\\.89\\.0\\.\\d+/24',
      'runtime: container run-[0-9a-f]{8} torn down, namespace gone: true',
      'runtime: the program exited with status 3',
      'inside: lo 127\\.0\\.0\\.1/8',
      'runtime: container run-[0-9a-f]{8} torn down, namespace gone: true',
      "runtime: in 'none' mode it exited with status 3",
    ].join('\n'),
  ),
};

describe('examples', () => {
  it('has an expectation for every example', () => {
    expect(readdirSync(examplesDir).filter((f) => f.endsWith('.mjs')).sort()).to.deep.equal(Object.keys(expectations).sort());
  });

  for (const [file, expected] of Object.entries(expectations)) {
    it(`${file} runs, shows what it claims and leaves nothing behind`, async () => {
      const before = linkNames();
      const { stdout } = await promisify(execFile)(process.execPath, [join(examplesDir, file)]);
      if (expected instanceof RegExp) expect(stdout).to.match(expected);
      else expect(stdout).to.contain(expected);
      // No link the example made may stay. (Earlier tests' links may still be
      // leaving: the kernel removes a deleted namespace's veths in the background.)
      const left = () => newLinks(before);
      expect(await eventually(() => left().length === 0, 10000), `links left: ${left()}`).to.equal(true);
      expect(ipJson(['netns', 'list'])).to.deep.equal([]);
    });
  }
});
