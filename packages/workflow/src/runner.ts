import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToilError, isUsageError, redact } from '@toil/core';
import { parseToilOptions, type ToilOptions } from './options.js';
import { markWorkflowStarted } from './started-marker.js';

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
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(redact(`toil: error: ${stack}\n`));
  return 1;
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
