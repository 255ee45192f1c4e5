#!/usr/bin/env node
// npm's install script. When a prebuilt addon of the package loads on this
// machine, there is nothing to build: no compiler needed, and installing with
// scripts off (pnpm's default) gives the same result. Otherwise, and when a
// build is asked for (`npm rebuild`, `npm install --build-from-source`), the
// addon and its programs are built from source by node-gyp into build/Release,
// which the loader then prefers (src/native-location.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PREBUILT_ADDON } from './check-prebuilds.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Why the prebuilt addon cannot serve here, or undefined when it loads. */
function prebuildUnusable() {
  const file = join(root, 'prebuilds', `${process.platform}-${process.arch}`, PREBUILT_ADDON);
  if (!existsSync(file)) return `no prebuilt addon for ${process.platform}-${process.arch}`;
  try {
    createRequire(import.meta.url)(file);
    return undefined;
  } catch (error) {
    return `the prebuilt addon does not load here (${error.message.split('\n')[0]})`;
  }
}

const asked = process.env.npm_config_build_from_source === 'true' || process.env.npm_command === 'rebuild';
const unusable = asked ? 'a build from source was asked for' : prebuildUnusable();
if (!unusable) process.exit(0);

console.log(`nsnet: building the addon from source: ${unusable}`);
// npm names the node-gyp it bundles; a clone has its own in node_modules.
const nodeGyp = process.env.npm_config_node_gyp;
const build = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: root, stdio: 'inherit' })
  : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
if (build.error) {
  // Not started at all (no node-gyp on PATH, and no npm to name its own).
  console.error(`nsnet: the build from source could not start node-gyp (${build.error.message}): install node-gyp, or install nsnet with npm, which bundles it`);
  process.exit(1);
}
if (build.status !== 0) {
  console.error(
    'nsnet: the build from source failed (its errors are above; it needs python3, make and g++). ' +
      'The prebuilt binaries cover linux-x64 and linux-arm64 with glibc 2.34 or newer.',
  );
  process.exit(build.status ?? 1);
}
