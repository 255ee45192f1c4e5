/**
 * Fault injection, for tests only. `NSNET_FAULT=<operation>:<N>:fail` makes
 * the Nth step of the first `<operation>` this process runs (and of whatever
 * follows it) fail with FAULT_INJECTED; `...:<N>:kill` kills the process
 * there with SIGKILL, as a crash would. A step is one change: a batch of
 * kernel requests, a namespace made or deleted, a sysctl written, a state
 * record written or removed, a firewall transaction. Each step passed, and
 * the fault when it fires, is written to stderr (`nsnet-fault ...`), so a
 * test can walk N upward until no fault fires.
 *
 * Read once, when this module loads; unset, a step costs one test of a
 * boolean.
 */
import { writeSync } from 'node:fs';

import { invalid, NsnetError } from './errors';

/** The operations that start counting steps (see faultOperation). */
export type FaultOperation =
  | 'setupContainer'
  | 'teardownContainer'
  | 'connect'
  | 'disconnect'
  | 'createBridgeNetwork'
  | 'createMacvlanNetwork'
  | 'createIpvlanNetwork'
  | 'createRoutedNetwork'
  | 'createOverlayNetwork'
  | 'removeNetwork'
  | 'reconcile';

interface FaultPlan {
  operation: string;
  step: number;
  mode: 'fail' | 'kill';
}

function parsePlan(text: string | undefined): FaultPlan | undefined {
  if (!text) return undefined;
  const [operation, step, mode, extra] = text.split(':');
  if (!operation || !/^[1-9]\d*$/.test(step ?? '') || (mode !== 'fail' && mode !== 'kill') || extra !== undefined) {
    throw invalid(`NSNET_FAULT must be <operation>:<N>:fail|kill, got "${text}"`);
  }
  return { operation, step: Number(step), mode };
}

const plan = parsePlan(process.env.NSNET_FAULT);

/** NSNET_FAULT is set: callers that must work out whether they are at a step ask this first. */
export const faultsArmed = plan !== undefined;

let counting = false;
let steps = 0;

/** Marks the start of `operation`: the steps of the first one NSNET_FAULT names are counted from here. */
export function faultOperation(operation: FaultOperation): void {
  if (faultsArmed && operation === plan?.operation) counting = true;
}

/** One step of the operation under test: fails, or kills the process, if it is the Nth. */
export function faultPoint(what: string, detail?: string): void {
  if (counting) countStep(what, detail);
}

function countStep(what: string, detail: string | undefined): void {
  const { operation, step, mode } = plan as FaultPlan;
  steps += 1;
  const label = detail === undefined ? what : `${what} ${detail}`;
  if (steps !== step) {
    writeSync(2, `nsnet-fault step ${operation} ${steps}: ${label}\n`);
    return;
  }
  writeSync(2, `nsnet-fault injected ${operation} ${steps} ${mode}: ${label}\n`);
  if (mode === 'kill') process.kill(process.pid, 'SIGKILL');
  throw new NsnetError('FAULT_INJECTED', `fault injected at step ${steps} of ${operation} (${label})`, { step: steps, operation });
}
