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

/** A signed whole number (--gw-priority); anything else is NaN, for the library to refuse with INVALID_ARGUMENT, naming the option and the value. */
export function signedInteger(value: string): number {
  return /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
}
