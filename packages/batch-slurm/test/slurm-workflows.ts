import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BIN } from '../../../tooling/test-env/cli.js';
import { slurmCommand, SLURM_OUTPUT_DIR } from '../../../tooling/test-env/slurm.js';

/** The workflows of the end-to-end tests (TOIL_TEST_CASE picks one). */
export const FIXTURE = join(__dirname, 'fixtures', 'slurm-workflow.mjs');

/**
 * A fresh test directory with a store locator, a notes file and the `toil run` options for
 * Slurm (`extra` appended); the workers' directories and the Slurm output files stay in it.
 */
export function scratch(
  prefix: string,
  extra: string[] = [],
): { dir: string; store: string; out: string; slurm: string[] } {
  const dir = mkdtempSync(join(SLURM_OUTPUT_DIR, prefix));
  return {
    dir,
    store: `file:${join(dir, 'store')}`,
    out: join(dir, 'notes.txt'),
    slurm: ['--batchSystem', 'slurm', '--defaultMemory', '256M', '--workDir', dir, ...extra],
  };
}

/** The lines the fixture's jobs appended to `out`. */
export function notes(out: string): string[] {
  return existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Slurm jobs in the queue whose name ends with `_<jobName>`; with `dir`, only those whose
 * output goes under it (one test's run).
 */
export function queued(jobName: string, dir?: string): Array<{ id: string; state: string }> {
  return slurmCommand(['squeue', '-h', '-O', 'JobID:|,State:|,Name:|,STDOUT:'])
    .split('\n')
    .map((line) => line.split('|'))
    .filter(
      (f) =>
        f.length >= 4 &&
        f[2]!.endsWith(`_${jobName}`) &&
        (dir === undefined || f[3]!.startsWith(dir)),
    )
    .map(([id, state]) => ({ id: id!, state: state! }));
}

/**
 * Slurm jobs in the queue (pending, running or completing) whose name ends with `_<jobName>`
 * and whose comment is `comment` (a run's `--slurmArgs=--comment=...`: Slurm lists a job
 * started with srun without its output file).
 */
export function queuedWithComment(
  comment: string,
  jobName: string,
): Array<{ id: string; state: string }> {
  return slurmCommand(['squeue', '-h', '-O', 'JobID:|,State:|,Name:|,Comment:'])
    .split('\n')
    .map((line) => line.split('|').map((field) => field.trim()))
    .filter((f) => f.length >= 4 && f[2]!.endsWith(`_${jobName}`) && f[3] === comment)
    .map(([id, state]) => ({ id: id!, state: state! }));
}

/** Every Slurm job with `comment` that Slurm still knows (finished ones stay for MinJobAge), one line each. */
export function jobsWithComment(comment: string): string[] {
  return slurmCommand(['scontrol', '-o', 'show', 'job'])
    .split('\n')
    .filter((line) => line.includes(` Comment=${comment} `));
}

/** Waits (looking every 200 ms) until `condition` holds; throws after `limitMs`. */
export async function waitUntil(
  what: string,
  condition: () => boolean,
  limitMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `toil ARGS` in the background with `env` added; `exited` has its status and output. */
export function startLeader(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })));
  return { child, exited };
}
