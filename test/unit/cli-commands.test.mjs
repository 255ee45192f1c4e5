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
import { fieldLines } from '../../dist/cli/output.js';

const bin = join(process.cwd(), 'bin', 'nsnet.js');
const ALL = ['run', 'network', 'ps', 'stats', 'rm', 'netns', 'reconcile', 'topology', 'monitor', 'cni', 'dns', 'demo', 'overlay'];
/** Made like the others, but nsnet runs them itself: help leaves them out. */
const HIDDEN = ['overlay'];

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
    for (const name of ALL.filter((n) => !HIDDEN.includes(n))) expect(help.stdout).to.match(new RegExp(`^  ${name}\\b`, 'm'));
    for (const name of HIDDEN) expect(help.stdout).to.not.match(new RegExp(`^  ${name}\\b`, 'm'));
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
      [['stats', '--no-stream', 'nope', 'gone'], 1, 'nsnet: CONTAINER_NOT_FOUND: no container named "nope", "gone"\n'],
      [['stats', '--bogus'], 2, "nsnet: USAGE: unknown option '--bogus'\n"],
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

  it("ps orders containers by id as localeCompare does in the caller's locale (ICU's: LC_ALL, else LC_MESSAGES, else LANG)", async function () {
    this.timeout(30000); // two processes for each locale
    mkdirSync(join(stateDir, 'containers'));
    const ids = ['b', 'B', 'aa', 'z', 'a-b', 'a_b', 'a.b', 'a1', 'A1', 'a', '10', '9', 'ä1', 'Z'];
    for (const id of ids) {
      const record = { version: 1, id, mode: 'none', ownsNamespace: false, status: 'ready', pid: 1, created: '2026-12-01T12:00:00.000Z' };
      writeFileSync(join(stateDir, 'containers', `${Buffer.from(id).toString('hex')}.json`), JSON.stringify(record));
    }
    const locales = [{ LANG: 'C.UTF-8' }, {}, { LANG: 'en_GB.UTF-8' }, { LC_ALL: 'da_DK.UTF-8' }, { LANG: 'C.UTF-8', LC_MESSAGES: 'da_DK.UTF-8' }, { LANG: 'lt_LT.UTF-8' }];
    for (const locale of locales) {
      const env = { ...process.env, LANG: undefined, LC_ALL: undefined, LC_MESSAGES: undefined, ...locale, NSNET_STATE_DIR: stateDir };
      for (const name of Object.keys(env)) if (env[name] === undefined) delete env[name];
      const run = (args) => new Promise((resolve, reject) => execFile(process.execPath, args, { env }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
      const expected = JSON.parse(await run(['-e', `console.log(JSON.stringify(${JSON.stringify(ids)}.sort((a, b) => a.localeCompare(b))))`]));
      const listed = JSON.parse(await run([bin, 'ps', '--json'])).containers.map((c) => c.id);
      expect(listed, JSON.stringify(locale)).to.deep.equal(expected);
    }
  });

  it('network inspect prints a nested field (ipv6) as indented lines, not JSON', async () => {
    mkdirSync(join(stateDir, 'networks'));
    const record = {
      version: 1, name: 'web', bridge: 'nsbr-web', bridgeMac: '02:5a:00:00:00:01', subnet: '10.90.1.0/24', gateway: '10.90.1.1',
      subnetAuto: false, ipv6: { subnet: 'fd00:5a::/64', gateway: 'fd00:5a::1' }, mtu: 1500, masquerade: true, icc: true,
      internal: false, hostIp: '0.0.0.0', firewall: 'auto', activeFirewall: 'nftables', created: '2026-12-01T12:00:00.000Z',
    };
    writeFileSync(join(stateDir, 'networks', 'web.json'), JSON.stringify(record));
    const inspect = await nsnet(['network', 'inspect', 'web']);
    expect(inspect).to.include({ code: 0, stderr: '' });
    expect(inspect.stdout).to.contain('\nsubnetAuto: false\nipv6:\n  subnet: fd00:5a::/64\n  gateway: fd00:5a::1\nmtu: 1500\n');
    expect(inspect.stdout).to.not.contain('{');
    expect(inspect.stdout).to.match(/\nendpoints: none\n$/);
  });
});

describe('fieldLines (records printed for people)', () => {
  it('plain values as "key: value", objects indented under their key, lists of plain values on one line', () => {
    const lines = fieldLines({ name: 'web', mtu: 1500, internal: false, ipv6: { subnet: 'fd00::/64', gateway: 'fd00::1' }, dns: ['10.0.0.2', '10.0.0.3'], aliases: [] });
    expect(lines).to.deep.equal(['name: web', 'mtu: 1500', 'internal: false', 'ipv6:', '  subnet: fd00::/64', '  gateway: fd00::1', 'dns: 10.0.0.2, 10.0.0.3', 'aliases: none']);
  });

  it('deeper objects, and lists of objects by index, indent one more step each', () => {
    const lines = fieldLines({ a: { b: { c: 1 } }, ports: [{ hostPort: 8080, protocol: 'tcp' }, { hostPort: 53, protocol: 'udp' }] });
    expect(lines).to.deep.equal(['a:', '  b:', '    c: 1', 'ports:', '  0:', '    hostPort: 8080', '    protocol: tcp', '  1:', '    hostPort: 53', '    protocol: udp']);
  });
});
