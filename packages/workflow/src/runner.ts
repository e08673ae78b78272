import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToilError, isUsageError, redact } from '@toil/core';
import { parseToilOptions, type ToilOptions } from './options.js';
import { markWorkflowStarted } from './started-marker.js';
import type {
  WorkflowOptionSpec,
  WorkflowOptionSpecs,
  WorkflowOptionValue,
  WorkflowOptionValues,
} from './workflow-options.js';

let mainModulePath: string | undefined;

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function toPath(moduleUrl: string): string {
  return moduleUrl.startsWith('file:') ? fileURLToPath(moduleUrl) : resolve(moduleUrl);
}

/** True when `moduleUrl` (pass `import.meta.url`) is the program this process runs. */
export function isMainModule(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  const main = realpath(resolve(script));
  const candidate = realpath(toPath(moduleUrl));
  return (
    main === candidate ||
    main.replace(/\.[cm]?[jt]sx?$/, '') === candidate.replace(/\.[cm]?[jt]sx?$/, '')
  );
}

function wantsDebug(argv: string[]): boolean {
  const i = argv.findIndex((a) => a === '--logLevel' || a.startsWith('--logLevel='));
  const value = i < 0 ? '' : argv[i]!.includes('=') ? argv[i]!.split('=')[1]! : (argv[i + 1] ?? '');
  return argv.includes('--logDebug') || value.toLowerCase() === 'debug';
}

/**
 * Shows an error the way the `toil` CLI does (`toil: error: ...` and a hint on stderr) and
 * returns the exit status: 2 for bad usage, 130/143 for a stopped run, 1 otherwise.
 */
export function renderProgramError(error: unknown, argv: string[] = process.argv.slice(2)): number {
  if (ToilError.is(error)) {
    const help = error.data?.help;
    if (typeof help === 'string') {
      process.stdout.write(help);
      return 0;
    }
    let text = `toil: error: ${error.message}\n`;
    if (error.hint) text += `  hint: ${error.hint}\n`;
    if (wantsDebug(argv)) {
      const cause = error.cause instanceof Error ? error.cause : error;
      text += `${cause.stack ?? ''}\n`;
    }
    process.stderr.write(redact(text));
    if (isUsageError(error)) return 2;
    const exitCode = error.data?.exitCode;
    return typeof exitCode === 'number' ? exitCode : 1;
  }
  process.stderr.write(redact(describeUserError(error, wantsDebug(argv))));
  return 1;
}

const MAIN_STARTED = Symbol.for('@toil/workflow/Runner.main');

// Frames of Node itself, of installed packages and of the @toil packages (built or, inside
// this repository, their sources): the user's frame is the first one that is none of these.
const ENGINE_FRAME =
  /\((?:node:|.*[/\\]node_modules[/\\]|.*[/\\]packages[/\\][^/\\]+[/\\](?:src|dist)[/\\])|^\s*at (?:node:|.*[/\\]node_modules[/\\]|.*[/\\]packages[/\\][^/\\]+[/\\](?:src|dist)[/\\])/;

/**
 * An error that is not a `ToilError` (the workflow's own code threw it) as the CLI shows
 * errors: one line, the user's frame (file and line, through source maps for TypeScript) and a
 * hint; the whole stack only at debug level.
 */
export function describeUserError(error: unknown, debug = false): string {
  const isError = error instanceof Error;
  const name = isError && error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  const message = isError ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? '';
  let text = `toil: error: ${name}${firstLine}\n`;
  const stack = isError ? (error.stack ?? '') : '';
  const frame = stack
    .split('\n')
    .slice(1)
    .find((line) => /^\s*at /.test(line) && !ENGINE_FRAME.test(line));
  if (frame) text += `  ${frame.trim()}\n`;
  const loading = !(globalThis as Record<symbol, unknown>)[MAIN_STARTED];
  text += loading
    ? '  hint: The workflow module threw while it was being loaded (before Job.Runner.main ran); fix the line above, or rerun with --logLevel debug for the whole stack.\n'
    : "  hint: This error came from the workflow's own code; rerun with --logLevel debug for the whole stack.\n";
  if (debug && stack) text += `${stack}\n`;
  return text;
}

/**
 * Makes an error that escapes the workflow program (thrown while its module loads, or an
 * unhandled rejection) a one-line error like {@link renderProgramError}, and exits with its
 * status. `toil run` installs it in the program it starts (`--import`).
 */
export function installProgramErrorHandlers(): void {
  const fail = (error: unknown): void => {
    process.exit(renderProgramError(error));
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

/**
 * A workflow program's command line: Toil's options plus the workflow's own (Python's
 * `Job.Runner.getDefaultArgumentParser()` with `add_argument`). Each `option` adds one and
 * widens the type of what {@link WorkflowArgumentParser.parseArgs} returns.
 *
 * ```ts
 * const options = Job.Runner.getDefaultArgumentParser('Sorts a file of lines.')
 *   .option('numLines', { type: 'number', default: 1000, describe: 'Lines to make' })
 *   .option('fileToSort', { type: 'string', demandOption: true })
 *   .parseArgs();
 * options.numLines; // number
 * ```
 */
export class WorkflowArgumentParser<T extends object = object> {
  private readonly specs: Record<string, WorkflowOptionSpec>;
  private readonly description: string | undefined;

  /** Use `Job.Runner.getDefaultArgumentParser()`. */
  constructor(description?: string, specs: WorkflowOptionSpecs = {}) {
    this.description = description;
    this.specs = { ...specs };
  }

  /** Adds one option (`--NAME`); its value comes back under NAME. */
  option<const K extends string, const S extends WorkflowOptionSpec>(
    name: K,
    spec: S,
  ): WorkflowArgumentParser<T & { [P in K]: WorkflowOptionValue<S> }> {
    return new WorkflowArgumentParser(this.description, { ...this.specs, [name]: spec });
  }

  /** Adds several options at once (yargs' `.options({...})`). */
  options<const O extends WorkflowOptionSpecs>(
    specs: O,
  ): WorkflowArgumentParser<T & WorkflowOptionValues<O>> {
    return new WorkflowArgumentParser(this.description, { ...this.specs, ...specs });
  }

  /**
   * Parses `JOBSTORE [options]` (default `process.argv`): Toil's options and the workflow's,
   * checked together. Throws a `UsageError` for unknown options and bad values, and one with
   * the usage text for `--help` (both shown by {@link Runner.main}).
   */
  parseArgs(argv: string[] = process.argv.slice(2)): ToilOptions & T {
    markWorkflowStarted();
    const options = parseToilOptions(argv, {
      options: this.specs,
      description: this.description,
    });
    if (mainModulePath) options.workflowModule = mainModulePath;
    return options as ToilOptions & T;
  }
}

/**
 * Helpers for workflow programs (Toil's `Job.Runner`): parse the command line into options and
 * run the program's `main` with Toil-style error reporting.
 */
export const Runner = {
  /**
   * Parses `JOBSTORE [--options]` from the command line (default `process.argv`). Throws a
   * `UsageError` for unknown options and bad values (shown by {@link Runner.main}).
   */
  getDefaultOptions(argv: string[] = process.argv.slice(2)): ToilOptions {
    markWorkflowStarted();
    const options = parseToilOptions(argv);
    if (mainModulePath) options.workflowModule = mainModulePath;
    return options;
  },

  /**
   * A parser for Toil's options to which the workflow adds its own (Python's
   * `Job.Runner.getDefaultArgumentParser()`); `description` heads its `--help`.
   */
  getDefaultArgumentParser(description?: string): WorkflowArgumentParser {
    return new WorkflowArgumentParser(description);
  },

  /**
   * Runs `main` when `moduleUrl` (pass `import.meta.url`) is the program being run — not when
   * a worker imports the module to find its job classes — and turns a thrown error into a
   * one-line message and an exit status. Does not block module evaluation: do not `await` it.
   *
   * ```ts
   * Job.Runner.main(import.meta.url, async () => {
   *   const options = Job.Runner.getDefaultOptions();
   *   await using toil = new Toil(options);
   *   await (options.restart ? toil.restart() : toil.start(new Root()));
   * });
   * ```
   */
  main(moduleUrl: string, main: () => unknown): void {
    if (!isMainModule(moduleUrl)) return;
    mainModulePath = realpath(toPath(moduleUrl));
    (globalThis as Record<symbol, unknown>)[MAIN_STARTED] = true;
    setImmediate(() => {
      Promise.resolve()
        .then(main)
        .then(
          () => {
            process.exitCode ??= 0;
          },
          (error: unknown) => {
            process.exitCode = renderProgramError(error);
          },
        );
    });
  },
};
