// Builds what changed before the suites run, so that they test the sources
// as they are and not a dist/ or an addon left by an earlier build:
// TypeScript incrementally (tsconfig.json keeps a build-info file, so a build
// with nothing changed takes a second or two), and the addon when a file of
// native/, programs/ or binding.gyp is newer than build/Release/nsnet.node.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The newest file under `dir` (or `dir` itself, a file), skipping build output and dot files. */
export function newestFile(dir) {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) return undefined;
  if (!stat.isDirectory()) return { path: dir, mtimeMs: stat.mtimeMs };
  let newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || (entry.isDirectory() && entry.name === 'build')) continue;
    const found = newestFile(join(dir, entry.name));
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

/**
 * What the addon needs: undefined when build/Release/nsnet.node is newer than
 * every file of native/ and programs/ and binding.gyp; else `{ command, why }`, where the
 * command is node-gyp's `rebuild` when the build was never configured or
 * binding.gyp changed, and `build` (make, which rebuilds what changed) otherwise.
 */
export function addonBuildNeeded(root) {
  const addon = join(root, 'build', 'Release', 'nsnet.node');
  const makefile = join(root, 'build', 'Makefile');
  const gyp = join(root, 'binding.gyp');
  const built = statSync(addon, { throwIfNoEntry: false });
  const configured = statSync(makefile, { throwIfNoEntry: false });
  if (!configured || configured.mtimeMs < statSync(gyp).mtimeMs) {
    return { command: 'rebuild', why: configured ? 'binding.gyp changed' : 'the addon was never configured' };
  }
  if (!built) return { command: 'build', why: 'build/Release/nsnet.node does not exist' };
  const newest = [newestFile(join(root, 'native')), newestFile(join(root, 'programs')), newestFile(gyp)]
    .filter(Boolean)
    .reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  if (newest.mtimeMs <= built.mtimeMs) return undefined;
  return { command: 'build', why: `${relative(root, newest.path)} is newer than build/Release/nsnet.node` };
}

/** Builds what changed; returns undefined, or why the build failed (one line). */
export function buildChanged(root, stdio = 'inherit') {
  const run = (program, args) => spawnSync(program, args, { cwd: root, stdio }).status === 0;
  if (!run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])) {
    return 'tsc -p tsconfig.json failed: the TypeScript does not compile (errors above)';
  }
  const addon = addonBuildNeeded(root);
  if (!addon) return undefined;
  console.log(`building the addon (node-gyp ${addon.command}): ${addon.why}`);
  const nodeGyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!run(process.execPath, [nodeGyp, addon.command])) {
    return `node-gyp ${addon.command} failed (${addon.why}): the addon needs python3, make and g++ (errors above)`;
  }
  // make relinks only the targets whose sources changed: mark the addon as
  // built now, so that the same change does not send every run to node-gyp.
  const now = new Date();
  const addonPath = join(root, 'build', 'Release', 'nsnet.node');
  if (existsSync(addonPath)) utimesSync(addonPath, now, now);
  return undefined;
}
