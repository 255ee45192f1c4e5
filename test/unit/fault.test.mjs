// The fault switch (NSNET_FAULT) counts steps from the start of the operation
// it names, fails the Nth, and refuses a malformed setting when it loads.
// Each case loads the module afresh in a child node, as the switch is read once.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { expect } from 'chai';

const MODULE = join(process.cwd(), 'dist/fault.js');

function run(fault, body) {
  const script = `const { faultOperation, faultPoint } = require(${JSON.stringify(MODULE)});
    try { ${body}; console.log('no fault'); } catch (error) { console.log(error.code, error.details.step); }`;
  const env = { ...process.env, NSNET_FAULT: fault };
  if (fault === undefined) delete env.NSNET_FAULT;
  const result = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  return { stdout: result.stdout.trim(), stderr: result.stderr, status: result.status };
}

describe('fault switch', function () {
  it('fails the Nth step counted from the start of the operation it names, and says so on stderr', function () {
    const { stdout, stderr } = run('connect:2:fail', "faultOperation('reconcile'); faultPoint('before'); faultOperation('connect'); faultPoint('first'); faultPoint('second', 'x'); faultPoint('third')");
    expect(stdout).to.equal('FAULT_INJECTED 2');
    expect(stderr).to.equal('nsnet-fault step connect 1: first\nnsnet-fault injected connect 2 fail: second x\n');
  });

  it('does nothing when unset, or when the operation never starts', function () {
    expect(run(undefined, "faultOperation('connect'); faultPoint('first')")).to.deep.include({ stdout: 'no fault', stderr: '' });
    expect(run('connect:1:fail', "faultOperation('disconnect'); faultPoint('first')")).to.deep.include({ stdout: 'no fault', stderr: '' });
  });

  it('kills the process at the Nth step in kill mode', function () {
    const result = spawnSync(process.execPath, ['-e', `const f = require(${JSON.stringify(MODULE)}); f.faultOperation('connect'); f.faultPoint('first'); console.log('survived')`], {
      env: { ...process.env, NSNET_FAULT: 'connect:1:kill' },
      encoding: 'utf8',
    });
    expect(result.signal).to.equal('SIGKILL');
    expect(result.stdout).to.equal('');
  });

  it('refuses a malformed NSNET_FAULT when it loads', function () {
    for (const bad of ['connect', 'connect:0:fail', 'connect:2:crash']) {
      const { status, stderr } = run(bad, '');
      expect(status, bad).to.not.equal(0);
      expect(stderr, bad).to.include('NSNET_FAULT must be <operation>:<N>:fail|kill');
    }
  });
});
