#!/usr/bin/env node
// Checks prebuilt binaries with readelf (binutils): the right machine, the
// programs static, and the addon needing no glibc or libstdc++ newer than the
// README claims. `node scripts/check-prebuilds.mjs [DIR...]` (default: every
// prebuilds/linux-ARCH) prints what each file is and exits 1 on a problem;
// with --tarball, it also checks that `npm pack` would carry the binaries of
// every architecture; with --run, it also runs them on their architecture
// (natively, or under qemu-user with that architecture's C library): the
// addon loaded by scripts/load-check.c, nsnet-exec and nsnet-cni (or nsnet-cni-start) answering.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PREBUILT_ADDON = 'nsnet.napi.glibc.node';
export const PREBUILT_PROGRAMS = ['nsnet-exec', 'nsnet-cni', 'nsnet-cni-start'];

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

/** A command line that runs a program of `target` here: as it is, or under qemu-user on the target's C library. */
function runner(target) {
  if (target.nodeArch === process.arch) return [];
  return [`qemu-${target.processor}-static`, '-L', `/usr/${target.triple}`];
}

/** What goes wrong when the binaries in `dir` run on their architecture (an empty list when nothing does). */
export function runPrebuild(dir, arch, root) {
  const target = TARGETS[arch];
  const [qemu, ...qemuArgs] = runner(target);
  const run = (program, args, options = {}) =>
    qemu ? spawnSync(qemu, [...qemuArgs, program, ...args], { encoding: 'utf8', ...options }) : spawnSync(program, args, { encoding: 'utf8', ...options });
  const problems = [];
  const work = mkdtempSync(join(tmpdir(), 'nsnet-load-check-'));
  try {
    // Node defines the napi_* functions the addon calls; here, empty stubs do.
    const napi = [...readelf(['--dyn-syms'], join(dir, PREBUILT_ADDON)).matchAll(/\sGLOBAL\s+DEFAULT\s+UND\s+(napi_\w+|node_api_\w+)$/gm)].map((m) => m[1]);
    writeFileSync(join(work, 'stubs.c'), napi.map((name) => `void ${name}(void) {}\n`).join(''));
    const checker = join(work, 'load-check');
    const cc = spawnSync(`${target.triple}-gcc`, ['-rdynamic', '-o', checker, join(root, 'scripts', 'load-check.c'), join(work, 'stubs.c'), '-ldl'], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) return [`the load check could not be built with ${target.triple}-gcc: ${cc.error?.message ?? cc.stderr.trim()}`];
    const loaded = run(checker, [join(dir, PREBUILT_ADDON)]);
    if (loaded.error) return [`${qemu ?? checker} could not run (${loaded.error.message}): qemu-user-static runs other architectures`];
    if (loaded.status !== 0) problems.push(`${PREBUILT_ADDON} does not load: ${loaded.stderr.trim()}`);
    const exec = run(join(dir, 'nsnet-exec'), []);
    if (exec.status !== 125 || !exec.stderr.includes('usage: nsnet-exec')) problems.push(`nsnet-exec did not answer with its usage (exit ${exec.status}): ${exec.stderr.trim()}`);
    // With no service, the front end executes nsnet-cni-start beside it, which finds the package
    // two directories up and runs the plugin in node (this machine's). Under qemu-user that
    // execve needs binfmt_misc, so there nsnet-cni-start is run as the front end would run it.
    const env = { ...process.env, CNI_COMMAND: 'VERSION', NSNET_CNI_NO_SERVICE: '1', NSNET_CNI_SOCKET: join(work, 'none.sock'), NSNET_NODE: process.execPath };
    const frontEnd = qemu ? 'nsnet-cni-start' : 'nsnet-cni';
    const cni = run(join(dir, frontEnd), [], { env, input: '{"cniVersion":"1.0.0"}' });
    if (cni.status !== 0 || !cni.stdout.includes('"supportedVersions"')) problems.push(`${frontEnd} did not answer VERSION (exit ${cni.status}): ${cni.stderr.trim()}`);
    console.log(`${basename(dir)}: ran ${qemu ? `under ${qemu}` : 'natively'}: the addon loads, nsnet-exec and nsnet-cni answer${problems.length ? ' (but see below)' : ''}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
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
  const args = process.argv.slice(2).filter((arg) => arg !== '--tarball' && arg !== '--run');
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
    const found = checkPrebuild(dir, arch);
    if (process.argv.includes('--run') && found.length === 0) found.push(...runPrebuild(dir, arch, root));
    for (const problem of found) {
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
