/** Option parsers shared by the commands. */
import { InvalidArgumentError } from 'commander';

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A whole decimal number, for options such as --mtu. */
export function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('not a whole number');
  return Number(value);
}
