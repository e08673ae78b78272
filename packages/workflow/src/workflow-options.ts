import { ToilError, UsageError } from '@toil/core';

/**
 * One command-line option a workflow adds to Toil's (Python's `parser.add_argument(...)`), in
 * yargs' vocabulary: `type`, `describe`, `default`, `choices`, `demandOption`. The option's name
 * is used as written (`numLines` is `--numLines`; `num-lines` is `--num-lines` and the key
 * `'num-lines'`).
 */
export interface WorkflowOptionSpec {
  /** The value's type. Numbers are checked here: `--numLines abc` is a one-line usage error. */
  readonly type: 'string' | 'number' | 'boolean';
  /** The option's line in `--help`. */
  readonly describe?: string;
  /** The value when the option is not given (booleans default to `false`). */
  readonly default?: string | number | boolean;
  /** The only values allowed. */
  readonly choices?: readonly (string | number)[];
  /** The option must be given (yargs' `demandOption`). */
  readonly demandOption?: boolean;
}

/** A workflow's own options by name. */
export type WorkflowOptionSpecs = Readonly<Record<string, WorkflowOptionSpec>>;

type BaseValue<S extends WorkflowOptionSpec> = S extends { readonly choices: readonly (infer C)[] }
  ? C
  : S['type'] extends 'number'
    ? number
    : S['type'] extends 'boolean'
      ? boolean
      : string;

/** The type of an option's value: optional unless it has a default, is required or is a boolean. */
export type WorkflowOptionValue<S extends WorkflowOptionSpec> = S extends
  | { readonly default: string | number | boolean }
  | { readonly demandOption: true }
  | { readonly type: 'boolean' }
  ? BaseValue<S>
  : BaseValue<S> | undefined;

/** The parsed values of a set of {@link WorkflowOptionSpecs}. */
export type WorkflowOptionValues<O extends WorkflowOptionSpecs> = {
  -readonly [K in keyof O]: WorkflowOptionValue<O[K]>;
};

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** The usage error for `--name` given without a value (`number`: the option takes a number). */
export function needsValue(name: string, number: boolean): UsageError {
  return new UsageError(`--${name} needs a value.`, {
    hint: number
      ? `Give a number after it, e.g. --${name} 2.`
      : `Give a value after it (--${name} VALUE); pass --help for the options.`,
  });
}

/**
 * The number an option's value says, as typed: finite, at least `min` when given, whole when
 * `integer`; anything else is a usage error naming the value.
 */
export function numberValue(
  value: unknown,
  name: string,
  { min, integer = false }: { min?: number; integer?: boolean } = {},
): number {
  const text = String(value).trim();
  const n = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || (min !== undefined && n < min) || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'whole number' : 'number';
    throw new UsageError(`Invalid --${name} '${String(value)}'.`, {
      hint: min === undefined ? `Give a ${kind}.` : `Give a ${kind} >= ${min}.`,
    });
  }
  return n;
}

/**
 * Checks a workflow's option specs against the engine's option names (`reserved`): a clash, a
 * name that is not an option name or a default of the wrong type is the workflow's own mistake,
 * reported as `WORKFLOW_INVALID` before anything runs.
 */
export function checkWorkflowOptionSpecs(
  specs: WorkflowOptionSpecs,
  reserved: ReadonlySet<string>,
): void {
  for (const [name, spec] of Object.entries(specs)) {
    if (!NAME.test(name)) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `The workflow declares an option named '${name}', which cannot be a --option.`,
        { hint: 'Use letters, digits, - and _, starting with a letter (e.g. numLines).' },
      );
    }
    if (reserved.has(name) || name === 'help' || name === 'h') {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `The workflow declares an option --${name}, which Toil's own options already use.`,
        { hint: 'Give the workflow option another name.' },
      );
    }
    if (!['string', 'number', 'boolean'].includes(spec.type)) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `The workflow option --${name} has type '${String(spec.type)}'.`,
        { hint: "Use type 'string', 'number' or 'boolean'." },
      );
    }
    if (spec.default !== undefined && typeof spec.default !== spec.type) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `The workflow option --${name} is a ${spec.type} but its default is ${JSON.stringify(spec.default)}.`,
        { hint: `Give a ${spec.type} default, or none.` },
      );
    }
  }
}

/**
 * The yargs option specs for a workflow's options. Numbers are read as strings so that a bad
 * value can be reported as typed (yargs would turn it into NaN).
 */
export function yargsSpecsOf(specs: WorkflowOptionSpecs): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = {
      type: spec.type === 'number' ? 'string' : spec.type,
      describe: spec.describe,
      ...(spec.choices && spec.type !== 'number' ? { choices: spec.choices } : {}),
      ...(spec.demandOption ? { demandOption: true } : {}),
    };
  }
  return out;
}

/** `--help` lines for a workflow's options, in the layout of the engine's. */
export function workflowOptionHelpLines(specs: WorkflowOptionSpecs): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const value = spec.type === 'boolean' ? '' : ` ${spec.type === 'number' ? 'N' : 'VALUE'}`;
    const choices = spec.choices ? ` {${spec.choices.join(',')}}` : '';
    const notes = [
      spec.demandOption ? 'required' : undefined,
      spec.default !== undefined ? `default ${String(spec.default)}` : undefined,
    ].filter(Boolean);
    const describe = [spec.describe, notes.length ? `(${notes.join(', ')})` : '']
      .filter(Boolean)
      .join(' ');
    return `  --${name}${value}${choices}\n      ${describe}`;
  });
}

/**
 * The values of a workflow's options from what yargs parsed: defaults filled in, numbers
 * checked and converted, an option given twice taking its last value (as argparse does).
 */
export function workflowOptionValues(
  specs: WorkflowOptionSpecs,
  parsed: Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    let value = parsed[name];
    if (Array.isArray(value)) value = value.at(-1);
    if (value === undefined) {
      values[name] = spec.default ?? (spec.type === 'boolean' ? false : undefined);
      continue;
    }
    if (spec.type === 'boolean') {
      values[name] = Boolean(value);
      continue;
    }
    const text = String(value);
    if (text === '') throw needsValue(name, spec.type === 'number');
    if (spec.type === 'number') {
      const n = numberValue(text, name);
      if (spec.choices && !spec.choices.includes(n)) {
        throw new UsageError(`Invalid --${name} '${text}'.`, {
          hint: `Choose one of ${spec.choices.join(', ')}.`,
        });
      }
      values[name] = n;
      continue;
    }
    values[name] = text;
  }
  return values;
}
