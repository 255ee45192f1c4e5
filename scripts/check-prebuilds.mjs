#!/usr/bin/env node
// Checks prebuilt binaries with readelf (binutils): the right machine, the
// programs static, and the addon needing no glibc or libstdc++ newer than the
// README claims. `node scripts/check-prebuilds.mjs [DIR...]` (default: every
// prebuilds/linux-ARCH) prints what each file is and exits 1 on a problem;
// with --tarball, it also checks that `npm pack` would carry the binaries of
// every architecture.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PREBUILT_ADDON = 'nsnet.napi.glibc.node';
export const PREBUILT_PROGRAMS = ['nsnet-exec', 'nsnet-cni'];

/** The architectures prebuilt, by Node's name: readelf's machine, the GNU triple, CMake's processor. */
export const TARGETS = {
  x64: { nodeArch: 'x64', machine: 'Advanced Micro Devices X86-64', triple: 'x86_64-linux-gnu', processor: 'x86_64' },
  arm64: { nodeArch: 'arm64', machine: 'AArch64', triple: 'aarch64-linux-gnu', processor: 'aarch64' },
};

/** The newest symbol versions the addon may need: glibc 2.34 (Debian 12, Ubuntu 22.04, RHEL 9) and GCC 11's libstdc++. */
export const NEWEST_VERSIONS = { GLIBC: '2.34', GLIBCXX: '3.4.29', CXXABI: '1.3.13' };
const ALLOWED_LIBRARIES = new Set(['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1']);

function readelf(args, file) {
  const run = spawnSync('readelf', [...args, '-W', file], { encoding: 'utf8' });
  if (run.error) throw new Error(`readelf could not run (${run.error.message}): it comes with binutils`);
  return run.stdout;
}

const newer = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
};

/** What is wrong with the binaries in `dir` for `arch` (an empty list when nothing is); prints a line per file. */
export function checkPrebuild(dir, arch) {
  const target = TARGETS[arch];
  const problems = [];
  for (const name of [PREBUILT_ADDON, ...PREBUILT_PROGRAMS]) {
    const file = join(dir, name);
    if (!existsSync(file)) {
      problems.push(`${name} is missing`);
      continue;
    }
    const machine = /Machine:\s+(.*)/.exec(readelf(['-h'], file))?.[1].trim();
    if (machine !== target.machine) problems.push(`${name} is built for ${machine}, not ${target.machine}`);
    const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\).*\[(.*)\]/g)].map((m) => m[1]);
    if (name === PREBUILT_ADDON) {
      const versions = {};
      for (const [, lib, version] of readelf(['--dyn-syms'], file).matchAll(/@(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)/g)) {
        if (!versions[lib] || newer(version, versions[lib])) versions[lib] = version;
      }
      for (const [lib, version] of Object.entries(versions)) {
        if (newer(version, NEWEST_VERSIONS[lib])) problems.push(`${name} needs ${lib}_${version}, newer than ${lib}_${NEWEST_VERSIONS[lib]}`);
      }
      for (const lib of needed) if (!ALLOWED_LIBRARIES.has(lib)) problems.push(`${name} needs ${lib}, which not every system has`);
      const summary = Object.entries(versions).map(([lib, v]) => `${lib}_${v}`).join(', ');
      console.log(`${basename(dir)}/${name}: ${machine}, needs ${needed.join(' ')} (newest: ${summary})`);
    } else {
      const dynamic = /INTERP/.test(readelf(['-l'], file)) || needed.length > 0;
      if (dynamic) problems.push(`${name} is dynamically linked; the programs are static`);
      console.log(`${basename(dir)}/${name}: ${machine}, ${dynamic ? 'dynamic' : 'static'}`);
    }
  }
  return problems;
}

/** The prebuilt files `npm pack` would leave out: none, when every architecture's are there. */
function missingFromTarball(root) {
  const npm = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  if (npm.status !== 0) return [`npm pack --dry-run failed: ${npm.stderr.trim()}`];
  const packed = new Set(JSON.parse(npm.stdout)[0].files.map((file) => file.path));
  const wanted = Object.keys(TARGETS).flatMap((arch) => [PREBUILT_ADDON, ...PREBUILT_PROGRAMS].map((name) => `prebuilds/linux-${arch}/${name}`));
  return wanted.filter((file) => !packed.has(file)).map((file) => `the tarball lacks ${file}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const prebuilds = join(root, 'prebuilds');
  const args = process.argv.slice(2).filter((arg) => arg !== '--tarball');
  const dirs = args.length > 0 ? args : existsSync(prebuilds) ? readdirSync(prebuilds).map((d) => join(prebuilds, d)) : [];
  if (dirs.length === 0) {
    console.error('no prebuilt binaries to check (npm run prebuild makes them)');
    process.exit(1);
  }
  let problems = 0;
  for (const dir of dirs) {
    const arch = basename(dir).replace(/^linux-/, '');
    if (!TARGETS[arch]) {
      console.error(`${dir}: not a prebuilds/linux-ARCH directory of a known architecture`);
      problems++;
      continue;
    }
    for (const problem of checkPrebuild(dir, arch)) {
      console.error(`${basename(dir)}: ${problem}`);
      problems++;
    }
  }
  if (process.argv.includes('--tarball')) {
    for (const problem of missingFromTarball(root)) {
      console.error(problem);
      problems++;
    }
    if (!problems) console.log('the tarball carries the prebuilt binaries of every architecture');
  }
  process.exit(problems ? 1 : 0);
}
