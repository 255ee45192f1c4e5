/**
 * Checking a value against a schema: validators compiled once, on first use,
 * and the first problem found as the path it is at (`ipv6.subnet`,
 * `publish[1]`) and what was expected there, for each caller to turn into
 * its own error.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler, type ValueError, ValueErrorType } from '@sinclair/typebox/compiler';

export interface SchemaProblem {
  /** Where, as `ipv6.subnet` or `publish[1]`; '' for the value itself. */
  path: string;
  /** The key at `path` is not one the schema has. */
  unknownKey: boolean;
  /** What was expected at `path`: "true or false", "an integer from 68 to 65535". */
  expected: string;
  value: unknown;
}

/** Options nsnet adds to a schema: the expectation to state when a value does not fit. */
interface Expectation {
  expected?: string;
}

export class Validator<T extends TSchema> {
  private compiled?: TypeCheck<T>;

  constructor(readonly schema: T) {}

  check(value: unknown): value is Static<T> {
    return this.compile().Check(value);
  }

  /** The first problem of `value`, or undefined when it fits. */
  problem(value: unknown): SchemaProblem | undefined {
    if (this.check(value)) return undefined;
    const first = this.compile().Errors(value).First();
    if (!first) return { path: '', unknownKey: false, expected: expectation(this.schema), value };
    const error = within(first);
    return {
      path: dotted(error.path),
      unknownKey: error.type === ValueErrorType.ObjectAdditionalProperties,
      expected: expectation(error.schema),
      value: error.value,
    };
  }

  /** `value`, as the schema's type, when it fits; else what `refuse` makes of its first problem, thrown. */
  valid(value: unknown, refuse: (problem: SchemaProblem) => Error): Static<T> {
    const problem = this.problem(value);
    if (problem) throw refuse(problem);
    return value as Static<T>;
  }

  private compile(): TypeCheck<T> {
    return (this.compiled ??= TypeCompiler.Compile(this.schema));
  }
}

/**
 * For a value that fails every choice of a union, the failure inside the one
 * choice of the value's own JSON type, when there is exactly one ({ port: 'x' }
 * against "a string or an object" fails inside the object).
 */
function within(error: ValueError): ValueError {
  if (error.type !== ValueErrorType.Union) return error;
  const type = Array.isArray(error.value) ? 'array' : error.value === null ? 'null' : typeof error.value;
  const choices = (error.schema.anyOf as TSchema[]).map((choice, i) => ({ choice, i })).filter(({ choice }) => choice.type === type);
  const inner = choices.length === 1 ? error.errors[choices[0].i]?.First() : undefined;
  return inner ? within(inner) : error;
}

/** A JSON pointer (`/publish/1/hostIp`) as a reader writes a path (`publish[1].hostIp`). */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, key) => (/^\d+$/.test(key) ? `${path}[${key}]` : path ? `${path}.${key}` : key), '');
}

function expectation(schema: TSchema & Expectation): string {
  if (schema.expected) return schema.expected;
  if (schema.anyOf) {
    const choices = schema.anyOf as TSchema[];
    if (choices.every((choice) => choice.const !== undefined)) return `one of ${choices.map((choice) => choice.const).join(', ')}`;
    return choices.map(expectation).join(' or ');
  }
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      if (schema.minimum !== undefined && schema.maximum !== undefined) return `an integer from ${schema.minimum} to ${schema.maximum}`;
      return 'an integer';
    case 'string':
      if (schema.pattern) return `a string matching ${schema.pattern}`;
      return schema.minLength ? 'a non-empty string' : 'a string';
    case 'array':
      return 'a list';
    default:
      return 'an object';
  }
}

/** A value as an error message shows it. */
export function shown(value: unknown): string {
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** "mtu must be an integer from 68 to 65535, got 10"; "unknown network option ipv7". */
export function describeProblem(problem: SchemaProblem, what: string): string {
  if (problem.unknownKey) return `unknown ${what} ${problem.path}`;
  return `${problem.path || `${what}s`} must be ${problem.expected}, got ${shown(problem.value)}`;
}
