// The npm package as a user without a compiler gets it: the tarball of
// `npm pack`, installed with install scripts off (pnpm's default) into a
// fresh directory, with no compiler, make or python3 on PATH. Its prebuilt
// addon and programs must do the whole job: a namespace, a program executed
// in it, a container with a published port reached from a `wan` namespace,
// and the CNI front end answering VERSION and an ADD.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { listContainers, listNetworks } from '../../dist/index.js';
import { ipJson } from '../helpers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const prebuildDir = `prebuilds/linux-${process.arch}`;
const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'make', 'python3', 'node-gyp', 'aarch64-linux-gnu-gcc'];
const BUILD_TOOL = /(^|-)(cc|c\+\+|cpp|gcc|g\+\+|clang|clang\+\+|c89|c99)(-[0-9.]+)?$|^(make|gmake|cmake|python[0-9.]*|node-gyp)$/;

/** A directory of links to every program on PATH but compilers, make and python: PATH as on a machine without them. */
function pathWithoutCompilers(bin) {
  mkdirSync(bin);
  for (const dir of process.env.PATH.split(':')) {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (!BUILD_TOOL.test(name) && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

/** npm's own entry point, so that it runs with only node on PATH. */
function npmCli() {
  const npm = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  return join(dirname(npm), 'npm-cli.js');
}

/**
 * An app depending on the tarball, with a lockfile: the sandbox has no route
 * out, so npm takes every package from its cache (which `npm ci` filled), and
 * it finds them there by the integrity the lockfile gives (this package's
 * own lockfile has them, for its dependencies).
 */
function writeAppWithLockfile(app, packed) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const ownLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const tarball = `file:../${packed.filename}`;
  const packages = {
    '': { name: 'app', version: '1.0.0', dependencies: { nsnet: tarball } },
    'node_modules/nsnet': {
      version: manifest.version,
      resolved: tarball,
      integrity: packed.integrity,
      hasInstallScript: true,
      dependencies: manifest.dependencies,
    },
  };
  for (const [path, entry] of Object.entries(ownLock.packages)) {
    if (path.startsWith('node_modules/') && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { nsnet: tarball } }));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
}

/** The environment of the test itself, compilers included, without the npm variables of an enclosing npm run. */
function withCompilers() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
}

describe('the npm package, installed without a compiler and without install scripts, then rebuilt', function () {
  this.timeout(240_000);
  let work;
  let installed;
  let env;
  let seen;
  let app;

  before(function () {
    work = mkdtempSync(join(tmpdir(), 'nsnet-package-'));
    // The binaries of this machine's architecture, fresh (npm pack's own
    // prepack would build every architecture).
    const prebuild = spawnSync(process.execPath, ['scripts/prebuild.mjs', '--arch', process.arch, '--if-stale'], { cwd: root, encoding: 'utf8' });
    expect(prebuild.status, prebuild.stderr).to.equal(0);
    const packed = JSON.parse(
      execFileSync(process.execPath, [npmCli(), 'pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8' }),
    )[0];
    this.packedFiles = packed.files.map((file) => file.path);
    this.tarball = join(work, packed.filename);
    this.integrity = packed.integrity;

    env = { ...withCompilers(), PATH: pathWithoutCompilers(join(work, 'bin')) };

    app = join(work, 'app');
    mkdirSync(app);
    writeAppWithLockfile(app, packed);
    const install = spawnSync(process.execPath, [npmCli(), 'ci', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], {
      cwd: app,
      env,
      encoding: 'utf8',
    });
    expect(install.status, install.stderr).to.equal(0);
    installed = join(app, 'node_modules', 'nsnet');
    copyFileSync(join(root, 'test', 'integration', 'fixtures', 'installed-package.cjs'), join(app, 'check.cjs'));
    const run = spawnSync(process.execPath, ['check.cjs'], { cwd: app, env, encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    seen = JSON.parse(run.stdout.trim().split('\n').at(-1));
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the tarball carries the prebuilt addon, its programs and the sources, and no local build', function () {
    for (const file of ['nsnet.napi.glibc.node', 'nsnet-exec', 'nsnet-cni', 'nsnet-cni-start']) expect(this.packedFiles).to.include(`${prebuildDir}/${file}`);
    expect(this.packedFiles).to.include.members(['bin/nsnet-cni.js', 'bin/nsnet.js', 'binding.gyp', 'scripts/install.mjs', 'dist/index.js']);
    expect(this.packedFiles.filter((file) => file.startsWith('build'))).to.deep.equal([]);
  });

  it('has no compiler to fall back on, and built nothing', function () {
    const found = spawnSync('/bin/sh', ['-c', COMPILERS.map((c) => `command -v ${c}`).join('; ')], { env, encoding: 'utf8' });
    expect(found.stdout.trim()).to.equal('');
    expect(existsSync(join(installed, 'build'))).to.equal(false);
    expect(readdirSync(join(installed, prebuildDir)).sort()).to.deep.equal(['nsnet-cni', 'nsnet-cni-start', 'nsnet-exec', 'nsnet.napi.glibc.node']);
  });

  it('loads the prebuilt addon of the installed package', function () {
    expect(seen.addons).to.deep.equal([join(realpathSync(installed), prebuildDir, 'nsnet.napi.glibc.node')]);
  });

  it('executes a program in a namespace it made (through the prebuilt nsnet-exec)', function () {
    expect(seen.execInterfaces).to.deep.equal(['lo']);
  });

  it('publishes a container port that a wan namespace reaches', function () {
    expect(seen.fromWan).to.equal('web says hello');
  });

  it('has a CNI front end that answers VERSION and an ADD', function () {
    expect(seen.cniVersions).to.include('1.0.0');
    expect(seen.cniAddress).to.match(/^10\.193\.0\.\d+\/24$/);
    expect(seen.cniInside).to.deep.equal([seen.cniAddress]);
  });

  it('with install scripts on and a compiler at hand, builds nothing while the prebuilt addon loads', function () {
    const second = join(work, 'app-with-scripts');
    mkdirSync(second);
    writeAppWithLockfile(second, { filename: basename(this.tarball), integrity: this.integrity });
    const install = spawnSync(process.execPath, [npmCli(), 'ci', '--offline', '--foreground-scripts', '--no-audit', '--no-fund'], { cwd: second, env: withCompilers(), encoding: 'utf8' });
    expect(install.status, install.stderr).to.equal(0);
    expect(existsSync(join(second, 'node_modules', 'nsnet', 'build')), install.stdout).to.equal(false);
  });

  it('npm rebuild builds from source, and that build is the one loaded', function () {
    this.timeout(300_000);
    const rebuild = spawnSync(process.execPath, [npmCli(), 'rebuild', 'nsnet', '--offline'], { cwd: app, env: withCompilers(), encoding: 'utf8' });
    expect(rebuild.status, rebuild.stderr).to.equal(0);
    for (const file of ['nsnet.node', 'nsnet-exec', 'nsnet-cni', 'nsnet-cni-start']) expect(existsSync(join(installed, 'build', 'Release', file)), file).to.equal(true);
    const script = `require('nsnet').NetNamespace.host().links.list().then(() => console.log(require('node:fs').readFileSync('/proc/self/maps', 'utf8')))`;
    const maps = execFileSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' });
    expect(maps).to.include(join(realpathSync(installed), 'build', 'Release', 'nsnet.node'));
    expect(maps).not.to.include('nsnet.napi.glibc.node');
  });

  it('left nothing behind: no links, namespaces or records of its own', async function () {
    expect((await listNetworks()).map((net) => net.name).filter((name) => name.startsWith('pkg'))).to.deep.equal([]);
    expect((await listContainers()).map((c) => c.id).filter((id) => id.startsWith('pkg'))).to.deep.equal([]);
    const names = ipJson(['link']).map((link) => link.ifname);
    expect(names.filter((name) => /^pkg|^nsnet/.test(name) && name !== 'nsnet0')).to.deep.equal([]);
    expect(readdirSync(process.env.NSNET_NETNS_DIR).filter((name) => name.startsWith('pkg'))).to.deep.equal([]);
  });
});
