/**
 * One CNI request, from its environment and stdin to its exit status and
 * stdout: the same code whether the plugin runs once per process or a
 * long-running service answers for it.
 */
import { add, check, type CniContext, del, gc, status } from './commands';
import { readConfig, readEnvironment } from './config';
import { CniError, toCniError } from './errors';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from './versions';

export interface CniRequest {
  env: Record<string, string | undefined>;
  stdin: string;
}

interface CniResponse {
  exitCode: number;
  stdout: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The config's version when it has a readable one, for error results. */
function versionOf(stdin: string): string {
  try {
    const version = JSON.parse(stdin)?.cniVersion;
    return typeof version === 'string' ? version : LATEST_VERSION;
  } catch {
    return LATEST_VERSION;
  }
}

export async function handleCni(request: CniRequest, context: CniContext): Promise<CniResponse> {
  try {
    const env = readEnvironment(request.env);
    if (env.command === 'VERSION') {
      return { exitCode: 0, stdout: json({ cniVersion: versionOf(request.stdin), supportedVersions: SUPPORTED_VERSIONS }) };
    }
    const config = readConfig(request.stdin, env.args);
    switch (env.command) {
      case 'ADD':
        return { exitCode: 0, stdout: json(await add(env, config, context)) };
      case 'DEL':
        await del(env, config, context);
        break;
      case 'CHECK':
        await check(env, config);
        break;
      case 'STATUS':
        await status(config);
        break;
      case 'GC':
        await gc(config, context);
        break;
    }
    return { exitCode: 0, stdout: '' };
  } catch (caught) {
    const error: CniError = toCniError(caught);
    const result: Record<string, unknown> = { cniVersion: versionOf(request.stdin), code: error.code, msg: error.message };
    if (error.details) result.details = error.details;
    return { exitCode: 1, stdout: json(result) };
  }
}
