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
};

describe('examples', () => {
  it('has an expectation for every example', () => {
    expect(readdirSync(examplesDir).filter((f) => f.endsWith('.mjs')).sort()).to.deep.equal(Object.keys(expectations).sort());
  });

  for (const [file, expected] of Object.entries(expectations)) {
    it(`${file} runs, shows what it claims and leaves nothing behind`, async () => {
      const before = linkNames();
      const { stdout } = await promisify(execFile)(process.execPath, [join(examplesDir, file)]);
      expect(stdout).to.contain(expected);
      // No link the example made may stay. (Earlier tests' links may still be
      // leaving: the kernel removes a deleted namespace's veths in the background.)
      const left = () => newLinks(before);
      expect(await eventually(() => left().length === 0, 10000), `links left: ${left()}`).to.equal(true);
      expect(ipJson(['netns', 'list'])).to.deep.equal([]);
    });
  }
});
