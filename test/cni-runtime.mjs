// A small CNI runtime, executing plugins as libcni does: the plugin found by
// its `type` in CNI_PATH, CNI_* in the environment, the config on stdin with
// `name`, `cniVersion`, the runtime config of the capabilities it declares and
// the previous plugin's result; a result or an error parsed from stdout; DEL in
// reverse order with the cached result.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export class CniPluginError extends Error {
  constructor(type, command, exitCode, error) {
    super(`${type} ${command} failed (exit ${exitCode}): ${error.msg ?? JSON.stringify(error)}`);
    this.exitCode = exitCode;
    this.cniCode = error.code;
    this.error = error;
  }
}

export class CniRuntime {
  /**
   * `path`: the plugin directories (CNI_PATH); `env`: extra environment for
   * the plugins; `execute(file, env, input)`: how a plugin is started, to
   * `{ code, stdout, stderr }` (node's spawn when omitted).
   */
  constructor(path, env = {}, execute = spawnAndCollect) {
    this.path = path;
    this.env = env;
    this.execute = execute;
    this.cache = new Map();
  }

  /** Executes one plugin; resolves to its parsed stdout (or '' when empty). */
  async exec(type, command, config, attachment = {}) {
    const dir = this.path.find((d) => existsSync(join(d, type)));
    if (!dir) throw new Error(`plugin ${type} not found in ${this.path.join(':')}`);
    const env = { ...process.env, ...this.env, CNI_COMMAND: command, CNI_PATH: this.path.join(':') };
    if (attachment.containerId) env.CNI_CONTAINERID = attachment.containerId;
    if (attachment.netns) env.CNI_NETNS = attachment.netns;
    if (attachment.ifname) env.CNI_IFNAME = attachment.ifname;
    if (attachment.args) env.CNI_ARGS = attachment.args;
    const { code, stdout, stderr } = await this.execute(join(dir, type), env, typeof config === 'string' ? config : JSON.stringify(config));
    let parsed;
    try {
      parsed = stdout.trim() ? JSON.parse(stdout) : '';
    } catch {
      throw new Error(`${type} ${command} printed no JSON (exit ${code}): ${stdout}${stderr}`);
    }
    if (code !== 0) throw new CniPluginError(type, command, code, parsed);
    return parsed;
  }

  /** The config libcni gives one plugin of a list. */
  pluginConfig(list, plugin, runtimeConfig, prevResult) {
    const config = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    const wanted = Object.entries(plugin.capabilities ?? {}).filter(([, on]) => on);
    const given = Object.fromEntries(wanted.filter(([key]) => runtimeConfig[key] !== undefined).map(([key]) => [key, runtimeConfig[key]]));
    if (Object.keys(given).length) config.runtimeConfig = given;
    if (prevResult) config.prevResult = prevResult;
    return config;
  }

  async addNetworkList(list, attachment, runtimeConfig = {}) {
    let result;
    for (const plugin of list.plugins) {
      result = await this.exec(plugin.type, 'ADD', this.pluginConfig(list, plugin, runtimeConfig, result), attachment);
    }
    this.cache.set(cacheKey(list, attachment), result);
    return result;
  }

  async checkNetworkList(list, attachment, runtimeConfig = {}) {
    const cached = this.cache.get(cacheKey(list, attachment));
    for (const plugin of list.plugins) {
      await this.exec(plugin.type, 'CHECK', this.pluginConfig(list, plugin, runtimeConfig, cached), attachment);
    }
  }

  async delNetworkList(list, attachment, runtimeConfig = {}) {
    const cached = this.cache.get(cacheKey(list, attachment));
    for (const plugin of [...list.plugins].reverse()) {
      await this.exec(plugin.type, 'DEL', this.pluginConfig(list, plugin, runtimeConfig, cached), attachment);
    }
    this.cache.delete(cacheKey(list, attachment));
  }

  async gcNetworkList(list, validAttachments) {
    for (const plugin of list.plugins) {
      const config = { ...this.pluginConfig(list, plugin, {}), 'cni.dev/valid-attachments': validAttachments };
      await this.exec(plugin.type, 'GC', config);
    }
  }

  async status(list) {
    for (const plugin of list.plugins) await this.exec(plugin.type, 'STATUS', this.pluginConfig(list, plugin, {}));
  }
}

/** Runs `file` to its end with `input` on stdin. */
function spawnAndCollect(file, env, input) {
  const child = spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // A plugin may exit without reading its input.
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function cacheKey(list, attachment) {
  return `${list.name}/${attachment.containerId}/${attachment.ifname}`;
}
