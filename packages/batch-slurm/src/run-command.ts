import { spawn } from 'node:child_process';

/** What a finished Slurm client command printed and returned. */
export interface CommandOutput {
  /** Exit status; `null` when it was killed (e.g. by the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Thrown (as the promise's rejection) when the program itself is not there. */
export class CommandNotFoundError extends Error {
  constructor(readonly program: string) {
    super(`${program}: command not found`);
    this.name = 'CommandNotFoundError';
  }
}

/**
 * Runs one Slurm client command with an argv array (never through a shell), feeding `input` on
 * stdin. Resolves whatever the exit status; rejects with {@link CommandNotFoundError} when the
 * program is missing.
 */
export function runCommand(
  argv: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      // No stdin pipe for a command that reads none (squeue, sinfo…): one socket less per call.
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Explicit, so that the environment this module sees is the one the command gets.
      env: process.env,
    });
    // Not spawn's own `timeout`: its timer outlives a child that failed to start (ENOENT).
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new CommandNotFoundError(argv[0]!) : error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that exits before reading stdin must not crash us with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
  });
}

/** Slurm's own words from a failed command: its stderr (or stdout) on one line. */
export function slurmMessage(output: CommandOutput): string {
  const text = (output.stderr.trim() || output.stdout.trim()).replace(/\s*\n\s*/g, '; ');
  if (text) return text;
  return output.code === null ? 'timed out' : `exit status ${output.code}`;
}

/** True when Slurm says the controller cannot be reached (as opposed to a rejected request). */
export function isControllerUnreachable(output: CommandOutput): boolean {
  return (
    output.code === null ||
    /Unable to contact slurm controller|Socket timed out|Communication connection failure|Zero Bytes were transmitted|Could not establish a configuration source|Could not load configuration|Invalid authentication credential|[Mm]unge/.test(
      output.stderr,
    )
  );
}
