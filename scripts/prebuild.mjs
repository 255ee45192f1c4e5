#!/usr/bin/env node
// `npm run prebuild`: the prebuilt binaries the npm package ships, in
// prebuildify's layout: prebuilds/linux-ARCH/ holds the addon
// (nsnet.napi.glibc.node) and the programs built with it (nsnet-exec,
// nsnet-cni, nsnet-cni-start). Built by the CMake build (cmake-js) with NSNET_PORTABLE on,
// each architecture in build-prebuild/linux-ARCH; arm64 with Debian's cross
// compilers (gcc/g++-aarch64-linux-gnu). Every binary is checked afterwards
// (scripts/check-prebuilds.mjs).
//   node scripts/prebuild.mjs [--arch x64,arm64] [--if-stale]
// --if-stale builds only an architecture whose binaries are older than the
// native sources (npm pack runs it so: a tarball never carries stale ones).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { checkPrebuild, PREBUILT_ADDON, PREBUILT_PROGRAMS, TARGETS } from './check-prebuilds.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: { arch: { type: 'string', default: Object.keys(TARGETS).join(',') }, 'if-stale': { type: 'boolean', default: false } },
});

/** The newest mtime under `path`, a file or a directory. */
function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** The newest mtime of the files the binaries are made of. */
function newestSource() {
  return Math.max(...['native', 'programs', 'CMakeLists.txt'].map((name) => newestMtime(join(root, name))));
}

function isFresh(outDir) {
  const built = statSync(join(outDir, PREBUILT_ADDON), { throwIfNoEntry: false });
  return built !== undefined && built.mtimeMs >= newestSource();
}

function crossCompilerFlags(target) {
  // The host's own architecture needs no cross compiler.
  if (target.nodeArch === process.arch) return [];
  return [
    `--CDCMAKE_SYSTEM_NAME=Linux`,
    `--CDCMAKE_SYSTEM_PROCESSOR=${target.processor}`,
    `--CDCMAKE_C_COMPILER=${target.triple}-gcc`,
    `--CDCMAKE_CXX_COMPILER=${target.triple}-g++`,
  ];
}

let failed = false;
for (const arch of values.arch.split(',')) {
  const target = TARGETS[arch];
  if (!target) {
    console.error(`no such architecture: ${arch} (one of ${Object.keys(TARGETS).join(', ')})`);
    process.exit(2);
  }
  const outDir = join(root, 'prebuilds', `linux-${arch}`);
  if (values['if-stale'] && isFresh(outDir)) {
    console.log(`prebuilds/linux-${arch}: up to date`);
  } else {
    const buildDir = join(root, 'build-prebuild', `linux-${arch}`);
    const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
    const args = [cmakeJs, 'compile', '--out', buildDir, '--arch', arch, '--CDNSNET_PORTABLE=ON', ...crossCompilerFlags(target)];
    console.log(`prebuilds/linux-${arch}: building`);
    const build = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (build.status !== 0) {
      console.error(`prebuilds/linux-${arch}: the build failed (cmake-js exit ${build.status}); arm64 needs g++-aarch64-linux-gnu`);
      process.exit(1);
    }
    mkdirSync(outDir, { recursive: true });
    copyFileSync(join(buildDir, 'Release', 'nsnet.node'), join(outDir, PREBUILT_ADDON));
    for (const program of PREBUILT_PROGRAMS) copyFileSync(join(buildDir, 'Release', program), join(outDir, program));
  }
  const problems = checkPrebuild(outDir, arch);
  for (const problem of problems) console.error(`prebuilds/linux-${arch}: ${problem}`);
  failed ||= problems.length > 0;
}
process.exit(failed ? 1 : 0);
