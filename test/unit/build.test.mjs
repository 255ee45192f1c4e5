// test/build.mjs, which `npm test` runs first: an edit of the sources is what
// the suites then test. Checked on a small project in a temporary directory.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { addonBuildNeeded, buildChanged } from '../build.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the build before the tests', () => {
  let root;
  const write = (path, text, secondsAgo = 0) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    const when = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(file, when, when);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nsnet-build-test-'));
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
    write('binding.gyp', '{}', 300);
    write('native/addon/addon.cc', '', 200);
    write('native/core/netns.cc', '', 200);
    write('programs/nsnet_cni.c', '', 200);
    write('build/Makefile', '', 100);
    write('build/Release/nsnet.node', '', 100);
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('leaves an addon newer than native/, programs/ and binding.gyp alone', () => {
    expect(addonBuildNeeded(root)).to.equal(undefined);
  });

  it('builds the addon when a file of native/, in any folder, is newer than it', () => {
    write('native/core/netns.cc', 'int x;', 10);
    expect(addonBuildNeeded(root)).to.deep.equal({
      command: 'build',
      why: 'native/core/netns.cc is newer than build/Release/nsnet.node',
    });
  });

  it('builds when one of the programs built with the addon is newer than it', () => {
    write('programs/nsnet_cni.c', 'int x;', 10);
    expect(addonBuildNeeded(root)).to.deep.equal({
      command: 'build',
      why: 'programs/nsnet_cni.c is newer than build/Release/nsnet.node',
    });
  });

  it('ignores build output and dot files inside native/', () => {
    write('native/build/CMakeCache.txt', '', 0);
    write('native/.clang-format', '', 0);
    expect(addonBuildNeeded(root)).to.equal(undefined);
  });

  it('configures again when binding.gyp changed or was never configured', () => {
    write('binding.gyp', '{ }', 10);
    expect(addonBuildNeeded(root)).to.deep.include({ command: 'rebuild', why: 'binding.gyp changed' });
    rmSync(join(root, 'build'), { recursive: true });
    expect(addonBuildNeeded(root)).to.deep.include({ command: 'rebuild', why: 'the addon was never configured' });
  });

  it('builds when the addon is missing', () => {
    rmSync(join(root, 'build', 'Release', 'nsnet.node'));
    expect(addonBuildNeeded(root)).to.deep.include({ command: 'build' });
  });

  it('compiles an edited default, so that the tests see it', function () {
    this.timeout(60000);
    write('tsconfig.json', JSON.stringify({
      compilerOptions: { outDir: 'dist', rootDir: 'src', incremental: true, tsBuildInfoFile: 'dist/tsconfig.tsbuildinfo', types: [] },
      include: ['src'],
    }));
    write('src/defaults.ts', "export const DEFAULT_PROTOCOL = 'tcp';\n", 60);
    expect(buildChanged(root)).to.equal(undefined);
    expect(readFileSync(join(root, 'dist', 'defaults.js'), 'utf8')).to.contain("'tcp'");
    write('src/defaults.ts', "export const DEFAULT_PROTOCOL = 'udp';\n");
    expect(buildChanged(root)).to.equal(undefined);
    expect(readFileSync(join(root, 'dist', 'defaults.js'), 'utf8')).to.contain("'udp'");
  });

  it('says so when the sources do not compile', function () {
    this.timeout(60000);
    write('tsconfig.json', JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: 'src', types: [] }, include: ['src'] }));
    write('src/broken.ts', 'export const port: number = "80";\n');
    expect(buildChanged(root, 'ignore')).to.match(/^tsc -p tsconfig.json failed/);
  });
});
