/**
 * How an error that escapes a workflow program is shown: the `toil` CLI's one line and hint,
 * for a `ToilError` or for the workflow's own error. A module of its own, so that the
 * `toil run` preload (`program-errors.ts`) and `runWorkflowFile` load neither the options nor
 * the runner.
 */
import { ToilError, isUsageError, redact } from '@toil/core';

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

/** Set on `globalThis` once `Job.Runner.main` runs the program's main. @internal */
export const MAIN_STARTED = Symbol.for('@toil/workflow/Runner.main');

// Frames of Node itself, of installed packages and of the @toil packages (built or, inside
// this repository, their sources): the user's frame is the first one that is none of these.
const ENGINE_FRAME =
  /\((?:node:|.*[/\\]node_modules[/\\]|.*[/\\]packages[/\\][^/\\]+[/\\](?:src|dist)[/\\])|^\s*at (?:node:|.*[/\\]node_modules[/\\]|.*[/\\]packages[/\\][^/\\]+[/\\](?:src|dist)[/\\])/;

/**
 * The first frame of `stack` in the user's code (`at fn (file:line:column)`, through source
 * maps for TypeScript), or undefined when every frame is Node's, a package's or the engine's.
 * @internal
 */
export function userFrame(stack: string): string | undefined {
  return stack
    .split('\n')
    .slice(1)
    .find((line) => /^\s*at /.test(line) && !ENGINE_FRAME.test(line))
    ?.trim();
}

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
  const frame = userFrame(stack);
  if (frame) text += `  ${frame}\n`;
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
