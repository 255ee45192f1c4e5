/**
 * A small undo stack for multi-step operations: each step that made
 * something pushes how to unmake it; on failure the steps are undone last
 * first, and what could not be undone is reported with the original error.
 */
import { asNsnetError, isGone, messageOf } from '../errors';

export class Undo {
  private readonly steps: { what: string; undo: () => Promise<unknown> }[] = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  /** Undoes every step, last first, past failures; returns what could not be undone. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (error) {
        if (!isGone(error)) failures.push(`${step.what}: ${messageOf(error)}`);
      }
    }
    return failures;
  }

  /** Undoes everything, then gives `error` back to throw, noting what could not be undone. */
  async fail(error: unknown): Promise<unknown> {
    const failures = await this.run();
    if (!failures.length) return error;
    return asNsnetError(error).withNote(`could not undo: ${failures.join('; ')}`, { notUndone: failures });
  }
}
