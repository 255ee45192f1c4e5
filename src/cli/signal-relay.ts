/** Running a program in the foreground: signals passed on, its exit status passed back. */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * Passes SIGINT, SIGTERM and SIGHUP to the program, so it can stop cleanly and the
 * network is torn down after it. Ctrl-C on a terminal already reaches the
 * program (it shares the foreground process group), so SIGINT is passed on
 * only when stdin is not a terminal. A second signal kills the program.
 */
export class SignalRelay {
  pending: NodeJS.Signals | undefined;
  private pid: number | undefined;
  private received = 0;
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);

  constructor() {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    process.on('SIGHUP', this.handler);
  }

  relayTo(pid: number): void {
    this.pid = pid;
  }

  stop(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
    process.off('SIGHUP', this.handler);
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.received += 1;
    if (this.pid === undefined) {
      this.pending ??= signal;
      return;
    }
    const fromTerminal = signal === 'SIGINT' && process.stdin.isTTY;
    try {
      if (this.received > 1) process.kill(this.pid, 'SIGKILL');
      else if (!fromTerminal) process.kill(this.pid, signal);
    } catch {
      // The program has exited already; its exit event ends the run.
    }
  }
}

/** Waits for a spawned program to end, passing it the signals `signals` receives. */
export function waitForExit(child: ChildProcess, signals: SignalRelay): Promise<Exit> {
  if (child.pid !== undefined) signals.relayTo(child.pid);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** A shell's exit status: the program's own, or 128+N when signal N ended it. */
export function exitStatus(exit: Exit): number {
  return exit.code ?? 128 + constants.signals[exit.signal as NodeJS.Signals];
}
