/**
 * A small undo stack for multi-step operations: each step that made
 * something pushes how to unmake it; on failure the steps are undone last
 * first, and what could not be undone is reported with the original error.
 */
import { asNsnetError, isGone, messageOf } from '../errors';

interface UndoStep {
  what: string;
  undo: () => Promise<unknown>;
  /** If this step cannot be undone, the steps pushed before it are kept too (a veth that stays keeps its address). */
  guardsEarlier?: boolean;
}

export class Undo {
  private readonly steps: UndoStep[] = [];

  push(what: string, undo: () => Promise<unknown>, options: { guardsEarlier?: boolean } = {}): void {
    this.steps.push({ what, undo, ...options });
  }

  /** Undoes every step, last first, past failures; returns what could not be undone. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    const steps = this.steps.splice(0).reverse();
    for (const [i, step] of steps.entries()) {
      try {
        await step.undo();
      } catch (error) {
        if (isGone(error)) continue;
        failures.push(`${step.what}: ${messageOf(error)}`);
        if (!step.guardsEarlier) continue;
        failures.push(...steps.slice(i + 1).map((kept) => `${kept.what}: kept, as ${step.what} stays`));
        break;
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
