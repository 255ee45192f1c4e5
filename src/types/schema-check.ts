/**
 * Whether a value fits a valibot schema, answered as `v.is` answers it but
 * without its cost: valibot builds a copy of every object and list it checks
 * (its output) and a dataset per value, where a yes or no needs neither, and
 * a listing checks a record per container. The schema kinds nsnet's schemas
 * are made of are checked here, by the same rules as valibot's own; any other
 * kind (a default, a transformation, a kind not named below) is left to
 * `v.is`, for that part of the schema.
 */
import v = require('valibot');

type Schema = v.GenericSchema;
export type Fits = (value: unknown) => boolean;

/** The parts of schemas and actions that the checks read. */
interface Parts {
  kind: string;
  type: string;
  async?: boolean;
  entries?: Record<string, Schema>;
  item?: Schema;
  key?: Schema;
  value?: Schema;
  wrapped?: Schema;
  options?: readonly unknown[];
  default?: unknown;
  fallback?: unknown;
  requirement?: unknown;
  check?: (value: unknown) => boolean;
  pipe?: readonly Parts[];
}

const parts = (schema: unknown) => schema as Parts;

/** Schemas whose output is their input: a later step of a pipe sees the value itself. */
const PASS_THROUGH = new Set(['custom', 'string', 'number', 'boolean', 'picklist']);
/** Keys valibot's records skip (its _isValidObjectKey). */
const SKIPPED_KEYS = new Set(['__proto__', 'prototype', 'constructor']);
const OPTIONAL_KINDS = new Set(['exact_optional', 'optional', 'nullish']);

/** The check of `schema`: valibot's answer, by these rules where they apply. */
export function fitsOf(schema: Schema): Fits {
  return compile(parts(schema)) ?? ((value) => v.is(schema, value));
}

/** The check of a schema, or undefined when these rules do not cover it. */
function compile(schema: Parts): Fits | undefined {
  if (schema.async || schema.kind !== 'schema' || schema.fallback !== undefined) return undefined;
  if (schema.pipe) return compilePipe(schema.pipe);
  const sub = (part: unknown): Fits => fitsOf(part as Schema);
  switch (schema.type) {
    case 'string':
      return (value) => typeof value === 'string';
    case 'number':
      return (value) => typeof value === 'number' && !isNaN(value);
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'picklist': {
      const options = schema.options as unknown[];
      return (value) => options.includes(value);
    }
    case 'custom':
      return (value) => Boolean(schema.check?.(value));
    case 'optional': {
      if (schema.default !== undefined) return undefined;
      const wrapped = sub(schema.wrapped);
      return (value) => value === undefined || wrapped(value);
    }
    case 'array': {
      const item = sub(schema.item);
      return (value) => {
        if (!Array.isArray(value)) return false;
        for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
        return true;
      };
    }
    case 'union': {
      const options = (schema.options as Schema[]).map(sub);
      return (value) => options.some((option) => option(value));
    }
    case 'object':
      return compileObject(schema.entries as Record<string, Schema>);
    case 'record': {
      const [key, value] = [sub(schema.key), sub(schema.value)];
      return (input) => {
        if (!input || typeof input !== 'object') return false;
        for (const name in input) {
          if (!Object.hasOwn(input, name) || SKIPPED_KEYS.has(name)) continue;
          if (!key(name) || !value((input as Record<string, unknown>)[name])) return false;
        }
        return true;
      };
    }
    default:
      return undefined;
  }
}

/** A loose object: each of its keys checked (`in`, as valibot tests them), other keys let be. */
function compileObject(entries: Record<string, Schema>): Fits | undefined {
  // Side by side, walked by index: it runs a few thousand times per process, mostly before the JIT compiles it.
  const names: string[] = [];
  const checks: Fits[] = [];
  const optional: boolean[] = [];
  for (const name in entries) {
    const entry = parts(entries[name]);
    if (entry.default !== undefined || entry.fallback !== undefined) return undefined;
    names.push(name);
    checks.push(fitsOf(entries[name]));
    optional.push(OPTIONAL_KINDS.has(entry.type));
  }
  return (value) => {
    if (!value || typeof value !== 'object') return false;
    for (let i = 0; i < names.length; i++) {
      if (names[i] in value ? !checks[i]((value as Record<string, unknown>)[names[i]]) : !optional[i]) return false;
    }
    return true;
  };
}

/**
 * The steps of a pipe in turn. Each step sees what the one before it made:
 * checked here only while that is the value itself.
 */
function compilePipe(steps: readonly Parts[]): Fits | undefined {
  const checks: Fits[] = [];
  let passedThrough = true;
  for (const step of steps) {
    if (step.kind === 'metadata') continue;
    if (!passedThrough) return undefined;
    const check = step.kind === 'schema' ? compile(step) : compileAction(step);
    if (!check) return undefined;
    checks.push(check);
    passedThrough = step.kind !== 'schema' || passesThrough(step);
  }
  if (checks.length === 1) return checks[0];
  return (value) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i](value)) return false;
    return true;
  };
}

/** Whether what a schema makes of a value that fits is the value itself (objects and lists are copied). */
function passesThrough(schema: Parts): boolean {
  if (!schema.pipe) return PASS_THROUGH.has(schema.type);
  return schema.pipe.every((step) => step.kind !== 'schema' || passesThrough(step));
}

/** The validations nsnet's schemas use; any other action leaves the pipe to valibot. */
function compileAction(action: Parts): Fits | undefined {
  if (action.kind !== 'validation' || action.async) return undefined;
  const requirement = action.requirement as never;
  switch (action.type) {
    case 'integer':
      return (value) => Number.isInteger(value);
    case 'min_value':
      return (value) => (value as number) >= requirement;
    case 'max_value':
      return (value) => (value as number) <= requirement;
    case 'min_length':
      return (value) => (value as string).length >= requirement;
    case 'regex':
      return (value) => (requirement as RegExp).test(value as string);
    default:
      return undefined;
  }
}
