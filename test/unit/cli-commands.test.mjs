// The nsnet command's table of commands: a command line that names a command
// makes (and loads) only that one, and reports its errors as when all were
// made; help and unknown words see them all. No privileges: the commands
// here only read a temporary state directory, or refuse before any change.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { program } from '../../dist/cli/main.js';

const bin = join(process.cwd(), 'bin', 'nsnet.js');
const ALL = ['run', 'network', 'ps', 'rm', 'netns', 'reconcile', 'topology', 'monitor', 'cni', 'demo'];

describe('nsnet command table', () => {
  let stateDir;
  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'nsnet-cli-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  /** Runs `nsnet ARGS...` on the temporary state: { code, stdout, stderr }. */
  function nsnet(args) {
    return new Promise((resolve) => {
      const env = { ...process.env, NSNET_STATE_DIR: stateDir, NSNET_DEBUG: '' };
      execFile(process.execPath, [bin, ...args], { env }, (error, stdout, stderr) => resolve({ code: error ? error.code : 0, stdout, stderr }));
    });
  }

  /** The modules of dist/ that running `nsnet ARGS...` loaded, and its exit status. */
  function loadedBy(args) {
    const script = `require('./dist/cli/main.js').main(${JSON.stringify(['node', 'nsnet', ...args])}).then((status) => {
      const mine = Object.keys(require.cache).filter((f) => f.includes('/dist/')).map((f) => f.replace(/.*\\/dist\\//, ''));
      process.stdout.write(JSON.stringify({ status, mine }));
    })`;
    return new Promise((resolve, reject) => {
      execFile(process.execPath, ['-e', script], { env: { ...process.env, NSNET_STATE_DIR: stateDir } }, (error, stdout) => {
        if (error) reject(error);
        else resolve(JSON.parse(stdout.slice(stdout.lastIndexOf('{"status"'))));
      });
    });
  }

  it('makes only the command named first; all of them for help, a version, or a word that is no command', () => {
    expect(program().commands.map((c) => c.name())).to.deep.equal(ALL);
    expect(program('ps').commands.map((c) => c.name())).to.deep.equal(['ps']);
    expect(program('network').commands.map((c) => c.name())).to.deep.equal(['network']);
    for (const word of ['--help', '-V', 'help', 'pss', '__proto__', 'constructor']) {
      expect(program(word).commands.map((c) => c.name()), word).to.deep.equal(ALL);
    }
  });

  it('help lists every command; an unknown command is refused with the nearest suggested', async () => {
    const help = await nsnet(['--help']);
    expect(help.code).to.equal(0);
    for (const name of ALL) expect(help.stdout).to.match(new RegExp(`^  ${name}\\b`, 'm'));
    const unknown = await nsnet(['pss']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.equal("nsnet: USAGE: unknown command 'pss'\n(Did you mean ps?)\n");
  });

  it('ps, network ls and network inspect load none of the modules that make or change networks, nor namespaces', async () => {
    for (const args of [['ps', '--json'], ['network', 'ls'], ['network', 'inspect', 'nope']]) {
      const { status, mine } = await loadedBy(args);
      expect(status, args.join(' ')).to.equal(args[1] === 'inspect' ? 1 : 0);
      expect(mine, args.join(' ')).to.include('network/listing.js');
      for (const heavy of ['network/network.js', 'network/containers.js', 'network/endpoint.js', 'netns.js', 'cli/commands/run.js', 'cni/service.js']) {
        expect(mine, `${args.join(' ')} loaded ${heavy}`).to.not.include(heavy);
      }
      expect(mine.filter((f) => /^(firewall|ipam)\//.test(f)), args.join(' ')).to.deep.equal([]);
    }
  });

  it('a lazily made command reports its errors as one line with the code and the same exit status', async () => {
    const cases = [
      [['ps', '--bogus'], 2, "nsnet: USAGE: unknown option '--bogus'\n"],
      [['network', 'inspect', 'nope'], 1, 'nsnet: NETWORK_NOT_FOUND: no network named "nope"\n'],
      [['network', 'inspect', 'bad name'], 2, 'nsnet: INVALID_ARGUMENT: network name must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$: bad name\n'],
      // create and rm load what changes networks when they run; both refuse before any change here.
      [['network', 'create', 'x;reboot'], 2, 'nsnet: INVALID_ARGUMENT: name must be a string matching ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$, got "x;reboot"\n'],
      [['network', 'rm', 'nope'], 1, 'nsnet: NETWORK_NOT_FOUND: no network named "nope"\n'],
      [['rm'], 2, "nsnet: USAGE: missing required argument 'id'\n"],
    ];
    for (const [args, code, stderr] of cases) {
      const result = await nsnet(args);
      expect(result, args.join(' ')).to.include({ code, stderr, stdout: '' });
    }
  });

  it('ps and network ls read an empty state; a corrupt record is STATE_CORRUPT naming its file', async () => {
    expect(await nsnet(['ps', '--json'])).to.include({ code: 0, stdout: '{\n  "containers": [],\n  "endpoints": []\n}\n' });
    expect(await nsnet(['network', 'ls', '--json'])).to.include({ code: 0, stdout: '[]\n' });
    mkdirSync(join(stateDir, 'containers'), { recursive: true });
    const file = join(stateDir, 'containers', 'c1.json');
    writeFileSync(file, '{"id": "c1", "mode": "bridge"}\n');
    const corrupt = await nsnet(['ps']);
    expect(corrupt.code).to.equal(1);
    expect(corrupt.stderr).to.match(/^nsnet: STATE_CORRUPT: \S+ is not a valid containers record: ownsNamespace must be true or false, got undefined; run `nsnet reconcile`/);
    expect(corrupt.stderr).to.include(file);
  });
});
