/**
 * Whether a value fits a valibot schema, answered as `v.is` answers it but
 * without its cost: valibot builds a copy of every object and list it checks
 * (its output) and a dataset per value, where a yes or no needs neither, and
 * a listing checks a record per container, mostly before the JIT has
 * compiled anything. So each schema becomes one function of plain tests,
 * written once from the schema by the same rules as valibot's own. Any part
 * those rules do not cover (a default, a transformation, a kind not named
 * below) is asked of `v.is`, for that part. Nothing of a checked value goes
 * into the function's text: keys are the schema's, quoted; requirements,
 * options and custom checks are passed in.
 */
import v = require('valibot');

type Schema = v.GenericSchema;
export type Fits = (value: unknown) => boolean;

/** The parts of schemas and actions that the checks read. */
interface Parts {
  kind: string;
  type: string;
  async?: boolean;
  entries?: Record<string, Parts>;
  item?: Parts;
  key?: Parts;
  value?: Parts;
  wrapped?: Parts;
  options?: readonly unknown[];
  default?: unknown;
  fallback?: unknown;
  requirement?: unknown;
  pipe?: readonly Parts[];
}

/** Schemas whose output is their input: a later step of a pipe sees the value itself. */
const PASS_THROUGH = new Set(['custom', 'string', 'number', 'boolean', 'picklist']);
const OPTIONAL_KINDS = new Set(['exact_optional', 'optional', 'nullish']);

/**
 * Checks of a whole object that read only which of its entries are there
 * (`record.ipv4 !== undefined`), made by presenceCheck: such a check says
 * the same of the copy valibot makes of an object (the schema's keys, those
 * the value has) as of the value itself, so it is written here after an
 * object too. Any other check after an object or a list is valibot's.
 */
const PRESENCE_CHECKS = new WeakSet<object>();

/** v.check of which entries an object has (see PRESENCE_CHECKS), for the end of an object's pipe. */
export function presenceCheck<T>(requirement: (value: T) => boolean, message: string): v.CheckAction<T, string> {
  const action = v.check(requirement, message);
  PRESENCE_CHECKS.add(action);
  return action;
}

/** The check of `schema`: valibot's answer, by these rules where they apply. */
export function fitsOf(schema: Schema): Fits {
  const writer = new CheckWriter();
  const body = writer.statements(schema as unknown as Parts, 'value');
  try {
    return new Function('given', `return function fits(value) {\n${body}return true;\n}`)(writer.given) as Fits;
  } catch (error) {
    // Node run with --disallow-code-generation-from-strings: valibot's own check, slower.
    if (!(error instanceof EvalError)) throw error;
    return (value) => v.is(schema, value);
  }
}

/** Writes the statements that return false when a value does not fit. */
class CheckWriter {
  /** What the function is given: requirements, options, custom schemas, valibot's checks. */
  readonly given: unknown[] = [];
  private names = 0;

  statements(schema: Parts, at: string): string {
    return this.covered(schema, at) ?? this.askValibot(schema, at);
  }

  /** The statements for a schema these rules cover, else undefined. */
  private covered(schema: Parts, at: string): string | undefined {
    if (schema.async || schema.kind !== 'schema' || schema.fallback !== undefined) return undefined;
    if (schema.pipe) return this.pipe(schema.pipe, at);
    switch (schema.type) {
      case 'string':
        return `if (typeof ${at} !== 'string') return false;\n`;
      case 'number':
        return `if (typeof ${at} !== 'number' || isNaN(${at})) return false;\n`;
      case 'boolean':
        return `if (typeof ${at} !== 'boolean') return false;\n`;
      case 'picklist':
        return `if (!${this.give(schema.options)}.includes(${at})) return false;\n`;
      case 'custom':
        // Called as valibot calls it, as a method of its schema.
        return `if (!${this.give(schema)}.check(${at})) return false;\n`;
      case 'optional':
        if (schema.default !== undefined) return undefined;
        return `if (${at} !== undefined) {\n${this.statements(schema.wrapped as Parts, at)}}\n`;
      case 'array': {
        const [i, item] = [this.name('i'), this.name('item')];
        return `if (!Array.isArray(${at})) return false;\nfor (let ${i} = 0; ${i} < ${at}.length; ${i}++) {\nconst ${item} = ${at}[${i}];\n${this.statements(schema.item as Parts, item)}}\n`;
      }
      case 'union': {
        // One function per choice: the value fits if one of them says so.
        const choices = (schema.options as Schema[]).map((option) => this.give(fitsOf(option)));
        return `if (!(${choices.map((choice) => `${choice}(${at})`).join(' || ')})) return false;\n`;
      }
      case 'object':
        return this.object(schema.entries as Record<string, Parts>, at);
      case 'strict_object': {
        // An object, and no key (own or inherited, as valibot's `in` loop finds them) that is not the schema's.
        const text = this.object(schema.entries as Record<string, Parts>, at);
        const key = this.name('key');
        return text && `${text}for (const ${key} in ${at}) if (!Object.prototype.hasOwnProperty.call(${this.give(schema.entries)}, ${key})) return false;\n`;
      }
      case 'record': {
        // valibot's records skip these keys (its _isValidObjectKey), and inherited ones.
        const [key, value] = [this.name('key'), this.name('value')];
        return (
          `if (!${at} || typeof ${at} !== 'object') return false;\n` +
          `for (const ${key} in ${at}) {\n` +
          `if (!Object.hasOwn(${at}, ${key}) || ${key} === '__proto__' || ${key} === 'prototype' || ${key} === 'constructor') continue;\n` +
          `${this.statements(schema.key as Parts, key)}const ${value} = ${at}[${key}];\n${this.statements(schema.value as Parts, value)}}\n`
        );
      }
      default:
        return undefined;
    }
  }

  /** A loose object: each of its keys checked when present (`in`, as valibot tests them), other keys let be. */
  private object(entries: Record<string, Parts>, at: string): string | undefined {
    let text = `if (!${at} || typeof ${at} !== 'object') return false;\n`;
    for (const name in entries) {
      const entry = entries[name];
      if (entry.default !== undefined || entry.fallback !== undefined) return undefined;
      const [key, value] = [JSON.stringify(name), this.name('value')];
      const missing = OPTIONAL_KINDS.has(entry.type) ? '' : ' else return false;';
      text += `if (${key} in ${at}) {\nconst ${value} = ${at}[${key}];\n${this.statements(entry, value)}}${missing}\n`;
    }
    return text;
  }

  /**
   * The steps of a pipe in turn. Each step sees what the one before it made:
   * written here only while that is the value itself.
   */
  private pipe(steps: readonly Parts[], at: string): string | undefined {
    let text = '';
    let made: Parts | undefined; // the last schema that made a copy: what the steps after it see
    for (const step of steps) {
      if (step.kind === 'metadata') continue;
      if (made && !seesTheSame(made, step)) return undefined;
      const check = step.kind === 'schema' ? this.covered(step, at) ?? this.askValibot(step, at) : this.action(step, at);
      if (check === undefined) return undefined;
      text += check;
      if (step.kind === 'schema' && !passesThrough(step)) made = step;
    }
    return text;
  }

  /** The validations nsnet's schemas use; any other action leaves its pipe to valibot. */
  private action(action: Parts, at: string): string | undefined {
    if (action.kind !== 'validation' || action.async) return undefined;
    switch (action.type) {
      case 'integer':
        return `if (!Number.isInteger(${at})) return false;\n`;
      case 'min_value':
        return `if (!(${at} >= ${this.give(action.requirement)})) return false;\n`;
      case 'max_value':
        return `if (!(${at} <= ${this.give(action.requirement)})) return false;\n`;
      case 'min_length':
        return `if (${at}.length < ${this.give(action.requirement)}) return false;\n`;
      case 'regex':
        return `if (!${this.give(action.requirement)}.test(${at})) return false;\n`;
      case 'check':
        return `if (!${this.give(action.requirement)}(${at})) return false;\n`;
      default:
        return undefined;
    }
  }

  private askValibot(schema: Parts, at: string): string {
    const fits: Fits = (value) => v.is(schema as unknown as Schema, value);
    return `if (!${this.give(fits)}(${at})) return false;\n`;
  }

  /** An expression for something the function is given. */
  private give(thing: unknown): string {
    this.given.push(thing);
    return `given[${this.given.length - 1}]`;
  }

  /** A variable name of its own. */
  private name(what: string): string {
    return `${what}${this.names++}`;
  }
}

/**
 * Whether a step after `made` (a schema that copies what it checks) answers
 * of the copy as it would of the value: a list's length is the value's, and
 * a presence check sees the same entries there.
 */
function seesTheSame(made: Parts, step: Parts): boolean {
  const last = made.pipe ? [...made.pipe].reverse().find((part) => part.kind === 'schema') ?? made : made;
  if (step.kind !== 'validation') return false;
  if (step.type === 'min_length') return last.type === 'array';
  return step.type === 'check' && PRESENCE_CHECKS.has(step) && (last.type === 'object' || last.type === 'strict_object');
}

/** Whether what a schema makes of a value that fits is the value itself (objects and lists are copied). */
function passesThrough(schema: Parts): boolean {
  if (!schema.pipe) return PASS_THROUGH.has(schema.type);
  return schema.pipe.every((step) => step.kind !== 'schema' || passesThrough(step));
}
