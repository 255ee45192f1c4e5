/**
 * Where nsnet's native files are: the addon and the programs built with it
 * (nsnet-exec, nsnet-cni, nsnet-cni-start), always taken from one directory so that they
 * come from the same build. In order:
 *   1. NSNET_BUILD_DIR, when set (and then only it);
 *   2. the local build, build/Release then build/Debug: it exists only when
 *      one was asked for (`npm rebuild`, `--build-from-source`, a clone) or
 *      when no prebuilt addon matched at install (scripts/install.mjs);
 *   3. the prebuilt binaries the package ships, prebuilds/linux-ARCH/
 *      (glibc; prebuildify's layout).
 * A directory whose addon does not load (another architecture, a glibc too
 * old, a musl system) is passed over for the next; when none loads, the
 * error names every path tried and why each failed.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { NsnetError } from './errors';

const packageRoot = path.resolve(__dirname, '..');

/** The file name of the addon in each kind of directory. */
const LOCAL_ADDON = 'nsnet.node';
const PREBUILT_ADDON = 'nsnet.napi.glibc.node';

interface NativeDirectory {
  dir: string;
  addon: string;
}

function candidates(): NativeDirectory[] {
  const chosen = process.env.NSNET_BUILD_DIR;
  if (chosen) return [{ dir: path.resolve(chosen), addon: LOCAL_ADDON }];
  return [
    { dir: path.join(packageRoot, 'build', 'Release'), addon: LOCAL_ADDON },
    { dir: path.join(packageRoot, 'build', 'Debug'), addon: LOCAL_ADDON },
    { dir: path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`), addon: PREBUILT_ADDON },
  ];
}

let found: { dir: string; exports: unknown } | undefined;

/** Loads the addon from the first directory where it loads; throws NATIVE_MODULE_MISSING naming every path tried. */
export function loadNativeAddon(): unknown {
  if (found) return found.exports;
  const tried: string[] = [];
  for (const { dir, addon } of candidates()) {
    const file = path.join(dir, addon);
    if (!existsSync(file)) {
      tried.push(`${file} (not there)`);
      continue;
    }
    try {
      found = { dir, exports: require(file) };
      return found.exports;
    } catch (error) {
      tried.push(`${file} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  const remedy = process.env.NSNET_BUILD_DIR
    ? 'NSNET_BUILD_DIR chose that directory alone: point it at a build directory (e.g. build-cmake/Release), or unset it'
    : 'The package ships prebuilt binaries for linux-x64 and linux-arm64 with glibc 2.34 or newer; ' +
      'elsewhere build it from source (`npm rebuild nsnet`, which needs python3, make and g++)';
  throw new NsnetError('NATIVE_MODULE_MISSING', `nsnet's native addon could not be loaded; tried: ${tried.join('; ')}. ${remedy}`);
}

/** A program built with the addon, from the directory the addon loads from. */
export function nativeProgramPath(name: string): string {
  loadNativeAddon();
  const file = path.join(found!.dir, name);
  if (!existsSync(file)) {
    throw new NsnetError('NATIVE_MODULE_MISSING', `${name} is missing beside the addon, in ${found!.dir} (rebuild with \`npm rebuild nsnet\`)`);
  }
  return file;
}
