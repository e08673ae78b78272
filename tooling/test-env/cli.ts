import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Repository root. */
export const REPO_ROOT = join(__dirname, '..', '..');

/** The built `toil` CLI, always run by its path in the workspace (never `toil` from PATH). */
export const CLI_BIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'bin.js');

/** What a finished command printed and returned. */
export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing its output. */
export function runCommand(
  argv: string[],
  options: SpawnOptions & { input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin!.end(options.input ?? '');
  });
}

/** Runs the built CLI with `args`; throws if it has not been built (`pnpm build`). */
export function runToil(
  args: string[],
  options: SpawnOptions & { input?: string } = {},
): Promise<CommandResult> {
  if (!existsSync(CLI_BIN))
    throw new Error(`${CLI_BIN} is missing: run "pnpm build" before the tests.`);
  const env = { ...process.env, NO_COLOR: '1', ...(options.env ?? {}) };
  return runCommand([process.execPath, CLI_BIN, ...args], { ...options, env });
}

/** Quotes words for `sh -c`, each as one single-quoted word. */
const shellWords = (words: string[]): string =>
  words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');

/**
 * Runs the built CLI with `args` in a pseudo-terminal of 40x120 (util-linux `script`), so it
 * sees a terminal as a user's shell gives it; `stdout` is everything it drew on the terminal.
 * The child does not see `CI` (in CI the progress display is off by design) unless `env` sets it.
 */
export function runToilInTerminal(
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  const command = `stty rows 40 cols 120; exec ${shellWords([process.execPath, CLI_BIN, ...args])}`;
  return runCommand(['script', '-qfec', command, '/dev/null'], {
    env: { ...process.env, CI: '', NO_COLOR: '1', ...env },
  });
}

/** Expects exit status 0, showing everything the command printed when it is not (jest). */
export function expectOk(result: CommandResult): void {
  expect(`exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`).toMatch(
    /^exit 0\n/,
  );
}
