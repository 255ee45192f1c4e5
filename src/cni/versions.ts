/** The CNI versions nsnet speaks, and how a result looks in each. */
import { CNI_CODES, CniError } from './errors';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

export function checkVersion(version: unknown): string {
  if (typeof version !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(
      CNI_CODES.INCOMPATIBLE_VERSION,
      `incompatible CNI version ${JSON.stringify(version)}: nsnet supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  return version;
}

/** -1, 0 or 1 as `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i += 1) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** Refuses a command that the config's version does not have (CHECK came in 0.4.0, GC and STATUS in 1.1.0). */
export function requireVersion(command: string, version: string, since: string): void {
  if (compareVersions(version, since) < 0) {
    throw new CniError(CNI_CODES.INCOMPATIBLE_VERSION, `${command} needs cniVersion ${since} or later, the config has ${version}`);
  }
}
