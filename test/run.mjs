// `npm test`: builds what changed (test/build.mjs), then checks the layers
// of src/ (`npm run check:layers`, one check), runs the unit suites, the
// fuzzers of the native parsers for a bounded time (fuzz/run.mjs, one test per
// harness), then the integration suites inside a throw-away network sandbox
// (scripts/sandbox), never in this machine's own namespace. `npm test -- unit`,
// `-- fuzz`, `-- integration` or `-- layers` runs one part. Ends with one
// line, "N passed, N failed[, N skipped]".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildChanged } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const reporter = join(root, 'test', 'summary-reporter.cjs');
const workDir = mkdtempSync(join(tmpdir(), 'nsnet-test-'));

// Seconds each fuzzer runs here; longer by hand with `npm run fuzz -- --seconds N`.
const fuzzSeconds = 15;

const suites = [
  { name: 'unit', command: [], spec: 'test/unit/**/*.test.mjs' },
  { name: 'fuzz', command: [], script: [join(root, 'fuzz', 'run.mjs'), '--seconds', String(fuzzSeconds)] },
  {
    name: 'integration',
    command: [join(root, 'scripts', 'sandbox')],
    spec: 'test/integration/**/*.test.mjs',
    require: 'test/integration/hooks.mjs',
  },
];

const only = process.argv[2];
// A suite that crashed or ran nothing counts as one failure.
const totals = { passes: 0, failures: 0, pending: 0 };

function finish() {
  rmSync(workDir, { recursive: true, force: true });
  const skipped = totals.pending ? `, ${totals.pending} skipped` : '';
  console.log(`\n${totals.passes} passed, ${totals.failures} failed${skipped}`);
  process.exit(totals.failures > 0 ? 1 : 0);
}

if (only && only !== 'layers' && !suites.some((s) => s.name === only)) {
  console.error(`no such part: ${only} (unit, fuzz, integration or layers)`);
  totals.failures += 1;
  finish();
}

// The suites import dist/ and the addon: stale ones would test old code.
console.log('== build ==');
const buildFailure = buildChanged(root);
if (buildFailure) {
  console.error(`The build failed, so no suite ran: ${buildFailure}`);
  totals.failures += 1;
  finish();
}

if (!only || only === 'layers') {
  console.log('\n== layers (npm run check:layers) ==');
  const check = spawnSync('npm', ['run', '--silent', 'check:layers'], { cwd: root, stdio: 'inherit' });
  if (check.status === 0) totals.passes += 1;
  else {
    console.error('The layer check failed: an import above crosses the layers of .dependency-cruiser.cjs.');
    totals.failures += 1;
  }
}

for (const suite of suites.filter((s) => !only || s.name === only)) {
  const summaryFile = join(workDir, `${suite.name}.json`);
  const args = suite.script ?? [mocha, '--reporter', reporter, '--timeout', '60000'];
  if (suite.require) args.push('--require', suite.require);
  if (suite.spec) args.push(suite.spec);
  const [program, ...rest] = suite.command.length ? [...suite.command, process.execPath] : [process.execPath];
  console.log(`\n== ${suite.name} tests ==`);
  const result = spawnSync(program, [...rest, ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NSNET_TEST_SUMMARY: summaryFile },
  });
  let counts;
  try {
    counts = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch {
    console.error(`The ${suite.name} suite did not finish (exit status ${result.status ?? result.signal}).`);
    totals.failures += 1;
    continue;
  }
  for (const key of Object.keys(totals)) totals[key] += counts[key];
  if (counts.passes + counts.failures === 0) {
    console.error(`The ${suite.name} suite ran no test.`);
    totals.failures += 1;
  }
}

finish();
