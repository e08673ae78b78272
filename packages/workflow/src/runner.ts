import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseToilOptions, type ToilOptions } from './options.js';
import { MAIN_STARTED, renderProgramError } from './program-error.js';
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
