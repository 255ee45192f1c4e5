// scripts/install.mjs, npm's install script, in a package tree made here
// with no prebuilt addon (so it builds from source), where it cannot build.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the install script', () => {
  let pkg;
  beforeEach(() => {
    pkg = mkdtempSync(join(tmpdir(), 'nsnet-install-'));
    mkdirSync(join(pkg, 'scripts'));
    for (const file of ['install.mjs', 'check-prebuilds.mjs']) copyFileSync(join(root, 'scripts', file), join(pkg, 'scripts', file));
    // A PATH holding node alone: no node-gyp to run.
    mkdirSync(join(pkg, 'bin'));
    symlinkSync(process.execPath, join(pkg, 'bin', 'node'));
  });
  afterEach(() => rmSync(pkg, { recursive: true, force: true }));

  it('says that node-gyp could not be started when there is none, and fails', () => {
    const run = spawnSync(process.execPath, [join(pkg, 'scripts', 'install.mjs')], {
      cwd: pkg,
      env: { PATH: join(pkg, 'bin'), HOME: pkg, npm_config_build_from_source: 'true' },
      encoding: 'utf8',
    });
    expect(run.status).to.equal(1);
    expect(run.stdout).to.include('a build from source was asked for');
    expect(run.stderr).to.include('could not start node-gyp').and.include('ENOENT');
  });
});
