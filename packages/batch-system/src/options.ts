import { UsageError } from '@toil/core';

interface SpecBase {
  /** One line for `--help`. */
  describe: string;
  /** An environment variable read when the option is not given. */
  env?: string;
}

/** A batch-system option that takes text; `parse` turns it into stored JSON (e.g. seconds). */
export interface StringOptionSpec<T = string> extends SpecBase {
  type: 'string';
  /** The accepted values, when they are a fixed list. */
  choices?: readonly string[];
  /** Turns the text into the stored value; throws a `ToilError` (usage) for bad text. */
  parse?: (text: string, flag: string) => T;
}

/** A batch-system option that takes a number (> 0 unless `min` says otherwise). */
export interface NumberOptionSpec extends SpecBase {
  type: 'number';
  /** Smallest accepted value (default: more than 0). */
  min?: number;
}

/** A batch-system flag. */
export interface BooleanOptionSpec extends SpecBase {
  type: 'boolean';
}

/** One option a batch system declares. */
export type OptionSpec = StringOptionSpec<unknown> | NumberOptionSpec | BooleanOptionSpec;

/** A batch system's options by flag name (without `--`). */
export type OptionSpecs = Record<string, OptionSpec>;

/** The value type of one option. */
export type OptionValue<S extends OptionSpec> = S extends { parse: (...args: never[]) => infer R }
  ? R
  : S extends { type: 'number' }
    ? number
    : S extends { type: 'boolean' }
      ? boolean
      : string;

/** The parsed options of a batch system: each one present when given (or set in its env). */
export type OptionValues<S extends OptionSpecs> = { [K in keyof S]?: OptionValue<S[K]> };

function checkNumber(spec: NumberOptionSpec, raw: unknown, flag: string): number {
  const text = String(raw);
  const value = text.trim() === '' ? NaN : Number(text);
  const min = spec.min;
  if (!Number.isFinite(value) || (min === undefined ? value <= 0 : value < min)) {
    throw new UsageError(`Invalid ${flag} '${text}'.`, {
      hint: `Give a number ${min === undefined ? '> 0' : `>= ${min}`}.`,
    });
  }
  return value;
}

/**
 * Parses the raw values given for a batch system's options (from the command line, or its
 * environment variables for options not given) into stored values. `raw` may hold other
 * keys; only those in `specs` are read.
 *
 * @throws UsageError for a value of the wrong type, not among the choices or refused by
 * the option's `parse`.
 */
export function parseBatchSystemOptions<S extends OptionSpecs>(
  specs: S,
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): OptionValues<S> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    let value = raw[name];
    let flag = `--${name}`;
    if ((value === undefined || value === '') && spec.env && env[spec.env] !== undefined) {
      value = env[spec.env];
      flag = `$${spec.env}`;
    }
    if (value === undefined) continue;
    if (spec.type === 'boolean') {
      if (typeof value === 'boolean') out[name] = value;
      else if (/^(1|true|yes)$/i.test(String(value))) out[name] = true;
      else if (/^(0|false|no|)$/i.test(String(value))) out[name] = false;
      else
        throw new UsageError(`Invalid ${flag} '${String(value)}'.`, {
          hint: 'Give true or false.',
        });
      continue;
    }
    if (spec.type === 'number') {
      out[name] = checkNumber(spec, value, flag);
      continue;
    }
    if (Array.isArray(value)) {
      throw new UsageError(`${flag} was given more than once.`, { hint: `Give ${flag} once.` });
    }
    const text = String(value);
    if (spec.choices && !spec.choices.includes(text)) {
      throw new UsageError(`Invalid ${flag} '${text}'.`, {
        hint: `Use one of: ${spec.choices.join(', ')}.`,
      });
    }
    out[name] = spec.parse ? spec.parse(text, flag) : text;
  }
  return out as OptionValues<S>;
}

/** Help lines for a batch system's options, in the shape of the workflow's own `--help`. */
export function optionHelpLines(specs: OptionSpecs): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const value = spec.type === 'boolean' ? '' : ' VALUE';
    const choices = spec.type === 'string' && spec.choices ? ` {${spec.choices.join(',')}}` : '';
    const env = spec.env ? ` (also $${spec.env})` : '';
    return `  --${name}${value}${choices}\n      ${spec.describe}${env}`;
  });
}
