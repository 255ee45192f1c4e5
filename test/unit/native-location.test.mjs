// Where the addon and its programs are loaded from (src/native-location.ts),
// in package trees made here: the loader as the package ships it, with a
// local build, a prebuilt one, both, or a broken one. Each case runs in a
// child process, since a process loads the addon once.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const builtAddon = join(root, 'build', 'Release', 'nsnet.node');
const prebuilt = `prebuilds/linux-${process.arch}`;

/** Runs the loader of a package at `pkg`; returns what it printed: the addon's and nsnet-exec's paths, or the error. */
function load(pkg, env = {}) {
  const script = `
    const where = require(${JSON.stringify(join(pkg, 'dist', 'native-location.js'))});
    try {
      where.loadNativeAddon();
      const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
      const addon = maps.split('\\n').map((l) => l.split(/\\s+/)[5]).find((f) => f && f.endsWith('.node'));
      console.log(JSON.stringify({ addon, exec: where.nativeProgramPath('nsnet-exec') }));
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, message: error.message }));
    }`;
  const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, NSNET_BUILD_DIR: '', ...env }, encoding: 'utf8' });
  expect(run.status, run.stderr).to.equal(0);
  return JSON.parse(run.stdout);
}

describe('the native loader', function () {
  let pkg;

  beforeEach(function () {
    pkg = mkdtempSync(join(tmpdir(), 'nsnet-loader-'));
    mkdirSync(join(pkg, 'dist'));
    for (const file of ['native-location.js', 'errors.js']) copyFileSync(join(root, 'dist', file), join(pkg, 'dist', file));
  });

  afterEach(function () {
    rmSync(pkg, { recursive: true, force: true });
  });

  function place(dir, addonName, programs = ['nsnet-exec', 'nsnet-cni']) {
    mkdirSync(join(pkg, dir), { recursive: true });
    copyFileSync(builtAddon, join(pkg, dir, addonName));
    for (const program of programs) writeFileSync(join(pkg, dir, program), '');
  }

  it('loads the prebuilt addon when there is no local build, and its programs from beside it', function () {
    place(prebuilt, 'nsnet.napi.glibc.node');
    expect(load(pkg)).to.deep.equal({
      addon: join(pkg, prebuilt, 'nsnet.napi.glibc.node'),
      exec: join(pkg, prebuilt, 'nsnet-exec'),
    });
  });

  it('prefers a local build, which exists only when one was asked for', function () {
    place(prebuilt, 'nsnet.napi.glibc.node');
    place('build/Release', 'nsnet.node');
    expect(load(pkg).addon).to.equal(join(pkg, 'build', 'Release', 'nsnet.node'));
  });

  it('passes over an addon that does not load, and takes the next', function () {
    mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
    writeFileSync(join(pkg, 'build', 'Release', 'nsnet.node'), 'not an ELF file');
    place(prebuilt, 'nsnet.napi.glibc.node');
    expect(load(pkg).exec).to.equal(join(pkg, prebuilt, 'nsnet-exec'));
  });

  it('names every path it tried, and why each failed', function () {
    mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
    writeFileSync(join(pkg, 'build', 'Release', 'nsnet.node'), 'not an ELF file');
    const { code, message } = load(pkg);
    expect(code).to.equal('NATIVE_MODULE_MISSING');
    expect(message).to.include(`${join(pkg, 'build', 'Release', 'nsnet.node')} (`);
    expect(message).to.match(/nsnet\.node \(\S+: (file too short|invalid ELF header)\)/);
    expect(message).to.include(`${join(pkg, 'build', 'Debug', 'nsnet.node')} (not there)`);
    expect(message).to.include(`${join(pkg, prebuilt, 'nsnet.napi.glibc.node')} (not there)`);
  });

  it('takes only NSNET_BUILD_DIR when it is set', function () {
    place(prebuilt, 'nsnet.napi.glibc.node');
    const elsewhere = join(pkg, 'elsewhere');
    const { code, message } = load(pkg, { NSNET_BUILD_DIR: elsewhere });
    expect(code).to.equal('NATIVE_MODULE_MISSING');
    expect(message).to.include(`tried: ${join(elsewhere, 'nsnet.node')} (not there). NSNET_BUILD_DIR chose that directory alone`);
    expect(message).not.to.include('npm rebuild');
  });

  it('refuses a directory whose programs are missing, naming it', function () {
    place(prebuilt, 'nsnet.napi.glibc.node', ['nsnet-cni']);
    const { code, message } = load(pkg);
    expect(code).to.equal('NATIVE_MODULE_MISSING');
    expect(message).to.include(`nsnet-exec is missing beside the addon, in ${join(pkg, prebuilt)}`);
  });
});
