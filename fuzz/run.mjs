// `npm run fuzz` (and `npm test -- fuzz`): builds the libFuzzer harnesses of
// fuzz/ (one per parser or encoder of native/core, each a .cc file) with
// clang++ under AddressSanitizer and UBSan, seeds them from test/fixtures
// (fuzz/seeds.mjs) and the checked-in fuzz/corpus/<harness>/, and runs each
// for a bounded time. Options: --seconds N per harness (default 20), --only NAME.
// A crash, leak, out-of-bounds access, undefined behaviour or broken invariant
// fails the harness, and libFuzzer keeps the input in build-fuzz/crashes/.
// With NSNET_TEST_SUMMARY set, writes there { passes, failures, pending }, one
// test per harness, for test/run.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { writeSeeds } from './seeds.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = join(root, 'fuzz');
const coreDir = join(root, 'native', 'core');
const buildDir = join(root, 'build-fuzz');
const compiler = 'clang++';
const flags = [
  '-std=c++17', '-g', '-O1', '-fno-omit-frame-pointer', '-Wall', '-Wextra', '-D_GNU_SOURCE', `-I${coreDir}`,
  '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
];
// Inputs up to this size: the largest captured dump is about 7.6 kB.
const maxInputBytes = 16384;

const { values: options } = parseArgs({
  options: { seconds: { type: 'string', default: '20' }, only: { type: 'string' } },
});
const seconds = Number(options.seconds);
if (!Number.isInteger(seconds) || seconds < 1) {
  console.error(`--seconds takes a whole number of seconds, not ${options.seconds}`);
  process.exit(2);
}

const filesOf = (dir, ext) => readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => join(dir, f));
const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const newest = (files) => Math.max(...files.map(mtime));

function run(program, args) {
  return new Promise((resolve) => {
    const child = spawn(program, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (error) => resolve(error.message));
    child.on('exit', (status, signal) => resolve(status === 0 ? undefined : `${program} exited with ${status ?? signal}`));
  });
}

/** Runs the jobs (functions returning Promises of an error or undefined), two at a time: the first error. */
async function inParallel(jobs) {
  const errors = [];
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) errors.push(await job());
  };
  await Promise.all([worker(), worker()]);
  return errors.find(Boolean);
}

/** Compiles what changed: the core's objects, then each harness linked with them. Returns the error, if any. */
async function build(harnesses) {
  if (spawnSync(compiler, ['--version'], { stdio: 'ignore' }).status !== 0) {
    return `${compiler} not found: the fuzzers need Debian's clang and libclang-rt-14-dev (libFuzzer and the sanitizers)`;
  }
  mkdirSync(join(buildDir, 'obj'), { recursive: true });
  const headers = newest([...filesOf(coreDir, '.h'), ...filesOf(fuzzDir, '.h')]);
  const objects = filesOf(coreDir, '.cc').map((source) => ({
    source,
    object: join(buildDir, 'obj', `${source.slice(coreDir.length + 1, -3)}.o`),
  }));
  const compileError = await inParallel(
    objects
      .filter(({ source, object }) => mtime(object) < Math.max(mtime(source), headers))
      .map(({ source, object }) => () =>
        run(compiler, [...flags, '-fsanitize=fuzzer-no-link', '-c', source, '-o', object])),
  );
  if (compileError) return compileError;
  const newestObject = newest(objects.map((o) => o.object));
  return inParallel(
    harnesses
      .filter((h) => mtime(h.binary) < Math.max(mtime(h.source), headers, newestObject))
      .map((h) => () =>
        run(compiler, [...flags, '-fsanitize=fuzzer', h.source, ...objects.map((o) => o.object), '-o', h.binary])),
  );
}

/** libFuzzer's final stats (-print_final_stats=1): { executed_units, average_exec_per_sec, ... }. */
function finalStats(output) {
  const stats = {};
  for (const [, key, value] of output.matchAll(/^stat::(\w+):\s*(\d+)/gm)) stats[key] = Number(value);
  return stats;
}

function fuzz(harness) {
  const corpus = join(buildDir, 'corpus', harness.name);
  const seeds = [join(buildDir, 'seeds', harness.name), join(fuzzDir, 'corpus', harness.name)];
  mkdirSync(corpus, { recursive: true });
  mkdirSync(join(buildDir, 'crashes'), { recursive: true });
  const args = [
    corpus,
    ...seeds.filter((dir) => mtime(dir) > 0),
    `-max_total_time=${seconds}`,
    `-max_len=${maxInputBytes}`,
    '-timeout=25',
    '-print_final_stats=1',
    `-artifact_prefix=${join(buildDir, 'crashes', `${harness.name}-`)}`,
  ];
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(harness.binary, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (status, signal) => {
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ status, signal, output, elapsed });
    });
  });
}

const harnesses = filesOf(fuzzDir, '.cc')
  .map((source) => {
    const name = source.slice(fuzzDir.length + 1, -3);
    return { name, source, binary: join(buildDir, name) };
  })
  .filter((h) => !options.only || h.name === options.only);
const totals = { passes: 0, failures: 0, pending: 0 };

function finish() {
  if (process.env.NSNET_TEST_SUMMARY) writeFileSync(process.env.NSNET_TEST_SUMMARY, JSON.stringify(totals));
  else console.log(`\n${totals.passes} passed, ${totals.failures} failed`);
  process.exit(totals.failures > 0 ? 1 : 0);
}

if (harnesses.length === 0) {
  console.error(`no harness ${options.only ?? ''} in fuzz/`);
  totals.failures += 1;
  finish();
}
const buildError = await build(harnesses);
if (buildError) {
  console.error(`The fuzzers did not build: ${buildError}`);
  totals.failures += harnesses.length;
  finish();
}
rmSync(join(buildDir, 'seeds'), { recursive: true, force: true });
writeSeeds(join(root, 'test', 'fixtures'), join(buildDir, 'seeds'));

for (const harness of harnesses) {
  const { status, signal, output, elapsed } = await fuzz(harness);
  const stats = finalStats(output);
  const corpusSize = readdirSync(join(buildDir, 'corpus', harness.name)).length;
  const line =
    `${stats.number_of_executed_units ?? 0} runs in ${elapsed.toFixed(1)} s, ${stats.average_exec_per_sec ?? 0} exec/s, ` +
    `${corpusSize} inputs in build-fuzz/corpus/${harness.name}, peak RSS ${stats.peak_rss_mb ?? '?'} MB`;
  if (status === 0) {
    totals.passes += 1;
    console.log(`  ok ${harness.name}: ${line}`);
  } else {
    totals.failures += 1;
    console.log(output.split('\n').slice(-60).join('\n'));
    console.log(`  FAILED ${harness.name} (exit ${status ?? signal}): ${line}`);
    console.log(`  the input is in build-fuzz/crashes/${harness.name}-*; once fixed, keep it in fuzz/corpus/${harness.name}/`);
  }
}
finish();
