/**
 * Checking a value against a schema (valibot, built once at module load):
 * whether a value fits is answered as valibot answers it (schema-check.ts);
 * one that does not is walked again for its first problem, as the path it is
 * at (`ipv6.subnet`, `publish[1]`) and what was expected there, for each
 * caller to turn into its own error. A schema states its expectation as its
 * message (`v.array(v.string(), 'a list of strings')`); else it is said from
 * the schema's kind.
 */
import v = require('valibot');

import { type Fits, fitsOf } from './schema-check';

export { presenceCheck } from './schema-check';

export interface SchemaProblem {
  /** Where, as `ipv6.subnet` or `publish[1]`; '' for the value itself. */
  path: string;
  /** The key at `path` is not one the schema has. */
  unknownKey: boolean;
  /** What was expected at `path`: "true or false", "an integer from 68 to 65535". */
  expected: string;
  value: unknown;
}

type Schema = v.GenericSchema;

/** The parts of a schema that naming a problem reads. */
interface SchemaParts {
  type: string;
  message?: unknown;
  /** An object's keys. */
  entries?: Record<string, Schema>;
  /** An array's items. */
  item?: Schema;
  /** A record's keys and values. */
  key?: Schema;
  value?: Schema;
  /** What an optional value is when present. */
  wrapped?: Schema;
  /** A union's schemas; a picklist's values. */
  options?: readonly unknown[];
  /** The schemas a piped value goes through in turn, and the checks of its value. */
  pipe?: readonly { kind: string; type: string; requirement?: unknown }[];
}

const parts = (schema: Schema) => schema as unknown as SchemaParts;

/** The schemas a value goes through: those of a pipe, or the schema itself. */
function stages(schema: Schema): Schema[] {
  const piped = (parts(schema).pipe ?? []).filter((step) => step.kind === 'schema') as unknown as Schema[];
  return piped.length ? piped : [schema];
}

/** A value whose parts fit may fail a check of the whole (`v.check` in the schema's pipe): its message says what was expected. */
function failedCheck(schema: Schema, value: unknown): SchemaProblem | undefined {
  const checks = (parts(schema).pipe ?? []).filter((step) => step.type === 'check') as unknown as { requirement: (value: unknown) => boolean; message?: unknown }[];
  const failed = checks.find((check) => !check.requirement(value));
  return failed && typeof failed.message === 'string' ? { path: '', unknownKey: false, expected: failed.message, value } : undefined;
}

export class Validator<T extends Schema> {
  /** v.is for this schema, made on first use. */
  private fits: Fits | undefined;

  constructor(readonly schema: T) {}

  check(value: unknown): value is v.InferOutput<T> {
    this.fits ??= fitsOf(this.schema);
    return this.fits(value);
  }

  /** The first problem of `value`, or undefined when it fits. */
  problem(value: unknown): SchemaProblem | undefined {
    if (this.check(value)) return undefined;
    return firstProblem(this.schema, value, '') ?? failedCheck(this.schema, value) ?? { path: '', unknownKey: false, expected: expectation(this.schema), value };
  }

  /**
   * `value` itself, as the schema's type, when it fits (keys a schema lets be
   * stay in it); else what `refuse` makes of its first problem, thrown.
   */
  valid(value: unknown, refuse: (problem: SchemaProblem) => Error): v.InferOutput<T> {
    const problem = this.problem(value);
    if (problem) throw refuse(problem);
    return value as v.InferOutput<T>;
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object, first: valibot's objects and records also take arrays (as objects of keys 0, 1, …). */
const JsonObject = v.custom<object>(isJsonObject, 'an object');

/** A JSON object of these keys, others let be: records, and the configuration of other programs. */
export const jsonObject = <E extends v.ObjectEntries>(entries: E) => v.pipe(JsonObject, v.object(entries));

/** A JSON object of these keys and no other: nsnet's own options. */
export const strictJsonObject = <E extends v.ObjectEntries>(entries: E) => v.pipe(JsonObject, v.strictObject(entries));

/** A JSON object of keys of one kind, each with a value of one kind. */
export const jsonRecord = <K extends v.GenericSchema<string, string>, V extends Schema>(key: K, value: V) => v.pipe(JsonObject, v.record(key, value));

/** A whole number (JSON has one kind of number). */
export const Integer = v.pipe(v.number(), v.integer());

/** `path` and then `key`, as a reader writes it: `publish[1].hostIp`. */
function at(path: string, key: string | number): string {
  if (/^\d+$/.test(String(key))) return `${path}[${key}]`;
  return path ? `${path}.${key}` : String(key);
}

/** The first of `items` for which `find` finds something, and what it found. */
function firstOf<T>(items: readonly T[], find: (item: T, i: number) => SchemaProblem | undefined): SchemaProblem | undefined {
  for (const [i, item] of items.entries()) {
    const found = find(item, i);
    if (found) return found;
  }
  return undefined;
}

/**
 * The first problem of `value` at `path`. In an object: a missing key first,
 * then a key the schema does not have, then the values in the schema's order;
 * in a record, its values before its keys that are not of its kind.
 */
function firstProblem(schema: Schema, value: unknown, path: string): SchemaProblem | undefined {
  const steps = stages(schema);
  // A pipe of one piped schema and checks of the whole (v.check): the problem inside that schema.
  if (steps.length > 1 || (steps[0] !== schema && parts(steps[0]).pipe)) return firstOf(steps, (step) => firstProblem(step, value, path));
  const { type, entries = {}, item, key, value: values, wrapped, options = [] } = parts(schema);
  const wrong = (): SchemaProblem => ({ path, unknownKey: false, expected: expectation(schema), value });
  const unknownKey = (name: string): SchemaProblem => ({ path: at(path, name), unknownKey: true, expected: expectation(schema), value: (value as Record<string, unknown>)[name] });
  switch (type) {
    case 'optional':
      return value === undefined ? undefined : firstProblem(wrapped as Schema, value, path);
    case 'object':
    case 'strict_object': {
      if (!isJsonObject(value)) return wrong();
      const names = Object.keys(entries);
      const missing = names.find((name) => !Object.hasOwn(value, name) && parts(entries[name]).type !== 'optional');
      if (missing !== undefined) return { path: at(path, missing), unknownKey: false, expected: expectation(entries[missing]), value: undefined };
      const unknown = type === 'strict_object' ? Object.keys(value).find((name) => !Object.hasOwn(entries, name)) : undefined;
      if (unknown !== undefined) return unknownKey(unknown);
      return firstOf(names, (name) => firstProblem(entries[name], value[name], at(path, name)));
    }
    case 'array':
      if (!Array.isArray(value)) return wrong();
      return firstOf(value, (element, i) => firstProblem(item as Schema, element, at(path, i)));
    case 'record': {
      if (!isJsonObject(value)) return wrong();
      const names = Object.keys(value);
      const ofKind = (name: string) => v.is(key as Schema, name);
      return (
        firstOf(names.filter(ofKind), (name) => firstProblem(values as Schema, value[name], at(path, name))) ??
        firstOf(names.filter((name) => !ofKind(name)), unknownKey)
      );
    }
    case 'union': {
      if (v.is(schema, value)) return undefined;
      // An object or a list that fits no choice: its problem inside the one choice of its kind, when there is one.
      const kind = Array.isArray(value) ? 'array' : isJsonObject(value) ? 'object' : undefined;
      const choices = (options as Schema[]).filter((option) => kind !== undefined && containerKind(option) === kind);
      return (choices.length === 1 ? firstProblem(choices[0], value, path) : undefined) ?? wrong();
    }
    default:
      return v.is(schema, value) ? undefined : wrong();
  }
}

function containerKind(schema: Schema): 'object' | 'array' | undefined {
  const { type } = parts(stages(schema).at(-1) as Schema);
  if (type === 'array') return 'array';
  return type === 'object' || type === 'strict_object' || type === 'record' ? 'object' : undefined;
}

function expectation(schema: Schema): string {
  const { type, message, wrapped, options = [], pipe = [] } = parts(schema);
  if (typeof message === 'string') return message;
  const requirement = (action: string) => pipe.find((step) => step.type === action)?.requirement;
  switch (type) {
    case 'optional':
      return expectation(wrapped as Schema);
    case 'picklist':
      return `one of ${options.join(', ')}`;
    case 'union':
      return (options as Schema[]).map(expectation).join(' or ');
    case 'boolean':
      return 'true or false';
    case 'number': {
      if (!pipe.some((step) => step.type === 'integer')) return 'a number';
      const [min, max] = [requirement('min_value'), requirement('max_value')];
      return min !== undefined && max !== undefined ? `an integer from ${min} to ${max}` : 'an integer';
    }
    case 'string': {
      const pattern = requirement('regex') as RegExp | undefined;
      if (pattern) return `a string matching ${pattern.source}`;
      return requirement('min_length') ? 'a non-empty string' : 'a string';
    }
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
