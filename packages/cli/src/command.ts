import type { InferredOptionTypes, Options, PositionalOptions } from 'yargs';
import type { IoHost, LogLevel } from '@toil/core';

/**
 * Everything a command handler gets besides its parsed arguments: where events go, where the
 * report goes, and how the user asked for output.
 */
export interface CommandContext {
  /** Where libraries report events; renders them on stderr (or as NDJSON with `--json`). */
  host: IoHost;
  /** Writes report text to stdout (reports, tables, JSON documents). */
  out(text: string): void;
  /** True when `--json` was given: print one JSON document on stdout instead of text. */
  json: boolean;
  /** The effective log level. */
  logLevel: LogLevel;
  /** The version of this CLI. */
  version: string;
}

/** The options of one command, in yargs' own option-spec form (types are inferred from it). */
export type OptionSpecs = Record<string, Options>;
/** Positional arguments, in order. */
export type PositionalSpecs = Record<string, PositionalOptions>;

/** Parsed arguments of a command, derived from its option and positional specs. */
export type ArgsOf<O extends OptionSpecs, P extends PositionalSpecs> = InferredOptionTypes<O> &
  InferredOptionTypes<P> & { _: (string | number)[] };

/**
 * One `toil` sub-command. Options are declared once: the parser, the help text, the
 * validation (`choices`, `coerce`, `demandOption`) and the handler's argument types all come
 * from `options` and `positionals`.
 */
export interface ToilCommand<
  O extends OptionSpecs = OptionSpecs,
  P extends PositionalSpecs = PositionalSpecs,
> {
  /** The yargs command string, e.g. `stats <jobStore>`. */
  usage: string;
  describe: string;
  positionals: P;
  options: O;
  /** Example invocations for the help page. */
  examples?: Array<[string, string]>;
  /** Text after the options in the help page. */
  epilogue?: string;
  /** Pass unknown options through (e.g. `run` forwards the workflow's own options). */
  passThrough?: boolean;
  /**
   * The positional (declared last, as `[name..]`) that takes every word after the first
   * positional verbatim, even words that look like options (`ssh-cluster CLUSTER ls -la`).
   * The CLI splits the command line there before yargs parses the rest.
   */
  remainder?: string;
  /**
   * Answers `--help` itself when it can (`run` with a workflow file shows the workflow's own
   * options); resolves to undefined to show the command's usage as usual.
   */
  ownHelp?(argv: string[], context: CommandContext): Promise<number | undefined>;
  /** Runs the command; resolves to the process exit code. */
  run(args: ArgsOf<O, P>, context: CommandContext): Promise<number>;
}

/** Declares a command with full type inference of its arguments. */
export function defineCommand<O extends OptionSpecs, P extends PositionalSpecs>(
  command: ToilCommand<O, P>,
): ToilCommand<O, P> {
  return command;
}

/**
 * The text a command prints for its report: the report as indented JSON when `json` is set
 * (`--json`, or a command's own `--raw`), otherwise what `render` returns.
 */
export function reportText(json: boolean, report: unknown, render: () => string): string {
  return json ? JSON.stringify(report, null, 2) + '\n' : render();
}
