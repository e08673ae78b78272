import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandNotFoundError } from './run-command.js';
import type { SlurmSettings, SlurmSubmission } from './submit.js';
import { sbatchArgs } from './submit.js';

/**
 * How warm workers are started:
 * - `srun` (default): an interactive allocation, which Slurm grants as soon as the resources
 *   are free. A batch job (`sbatch`) waits for the controller's next scheduling pass instead
 *   (up to a second on an idle cluster, longer where `batch_sched_delay` is set).
 * - `sbatch`: a batch job, like every one-shot job.
 */
export type WarmLaunch = 'srun' | 'sbatch';

/** Every {@link WarmLaunch}, for validation and the option's choices. */
export const WARM_LAUNCHES: readonly WarmLaunch[] = ['srun', 'sbatch'];

/**
 * How one-shot jobs (one Slurm job per workflow job) are started:
 * - `auto` (default): a job the workflow waits on alone (no other of its one-shot jobs is in
 *   Slurm: its first job, a step of a serial pipeline that cannot be chained) with srun, which
 *   Slurm starts at once when the resources are free; the others with sbatch, started at the
 *   controller's next scheduling pass (which starts many pending jobs at once).
 * - `sbatch`: every one with sbatch.
 */
export type OneShotLaunch = 'auto' | 'sbatch';

/** Every {@link OneShotLaunch}, for validation and the option's choices. */
export const ONE_SHOT_LAUNCHES: readonly OneShotLaunch[] = ['auto', 'sbatch'];

/** What {@link launchWithSrun} found out. */
export interface SrunLaunch {
  /** The Slurm job id, once srun named it; undefined when srun ended first (refused). */
  batchId?: string;
  /**
   * True when Slurm granted the allocation before srun named the job (`jobid N: nodes(1)…`):
   * the job runs (a job started with srun is never requeued); false while it is queued.
   */
  granted: boolean;
  /** srun's own messages (its stderr) when it refused, on one line. */
  message: string;
  /**
   * Resolves with srun's exit status when srun has ended, null when a signal ended it (or it
   * did not start). Never rejects. srun tells slurmctld that its allocation ended (one request
   * it waits for) before it exits, and then exits with its task's status: 0 means the job's
   * worker exited 0 and Slurm has ended the job (a node's epilog may still run).
   */
  exited: Promise<number | null>;
}

/** Matches srun's line naming the job: `jobid 42: nodes(1)...` or `job 42 queued and waiting`. */
const SRUN_JOB_LINE = /^srun: job(?:id)? (\d+)(?::| queued| has been allocated)/m;

/** Matches srun's line saying the allocation was granted (not `queued and waiting`). */
const SRUN_GRANTED_LINE = /^srun: job(?:id \d+:| \d+ has been allocated)/m;

/**
 * The job id in srun's messages (`--verbose`): `srun: jobid 42: nodes(1)...` once granted,
 * `srun: job 42 queued and waiting for resources` while pending; undefined before either.
 */
export function srunJobId(messages: string): string | undefined {
  return SRUN_JOB_LINE.exec(messages)?.[1];
}

/**
 * True when srun's messages say Slurm granted the allocation (`srun: jobid 42: nodes(1)…`, or
 * `srun: job 42 has been allocated resources` after waiting), false while it is queued.
 */
export function srunGranted(messages: string): boolean {
  return SRUN_GRANTED_LINE.test(messages);
}

/** Milliseconds between two looks at srun's messages while waiting for its job id. */
const SRUN_LOOK_MS = 5;

/**
 * The srun argv (without the program and the command) for one warm worker: the sbatch options
 * of the same submission (requirements, names, output files, partition, time, extra
 * arguments), one task on one node, no stdin, and `--verbose` so that srun names the job id
 * it got.
 */
export function srunArgs(
  job: Pick<SlurmSubmission, 'jobId' | 'name' | 'requirements'>,
  settings: SlurmSettings,
  names: { jobName: string; outputFile: string; errorFile: string },
): string[] {
  const fromSbatch = sbatchArgs(job, settings, names).filter((a) => a !== '--parsable');
  return ['--verbose', '--input=none', '--nodes=1', '--ntasks=1', ...fromSbatch];
}

/**
 * The environment srun gets: this process's and the job's, without the `SLURM_*` variables
 * of an allocation this process may run in (inside a Slurm job, srun would otherwise start a
 * step of that job instead of a new job, with its task count and memory as defaults).
 * `SLURM_CONF` stays: it says which cluster.
 */
export function srunEnvironment(
  base: NodeJS.ProcessEnv,
  jobEnv: Record<string, string>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base))
    if (!name.startsWith('SLURM_') || name === 'SLURM_CONF') env[name] = value;
  return { ...env, ...jobEnv };
}

/**
 * Starts `srun ARGS ARGV` as a process of its own session (a Ctrl-C at the terminal reaches
 * the leader, which stops its workers, not srun) and resolves once srun named its job id,
 * or ended without one. srun lives as long as the job: it is not waited for (a leader that
 * exits or dies leaves it running; the job ends when its worker does). srun's messages go to
 * `messageFile` (a file, not a pipe: a pipe whose reader died would kill srun on its next
 * message, and with it the job's end), which is removed once read.
 *
 * @throws CommandNotFoundError when srun is not installed.
 */
export async function launchWithSrun(
  args: readonly string[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  messageFile: string,
  timeoutMs = 120_000,
): Promise<SrunLaunch> {
  const fd = openSync(messageFile, 'w');
  let ended: { code: number | null } | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  let markExited: (code: number | null) => void = () => undefined;
  const exited = new Promise<number | null>((resolve) => (markExited = resolve));
  try {
    const child = spawn('srun', [...args, ...argv], {
      detached: true,
      stdio: ['ignore', 'ignore', fd],
      env,
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
      markExited(null);
    });
    child.on('exit', (code) => {
      ended = { code };
      markExited(code);
    });
    child.unref();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError)
        throw spawnError.code === 'ENOENT' ? new CommandNotFoundError('srun') : spawnError;
      const text = readFileSync(messageFile, 'utf8');
      const id = srunJobId(text);
      if (id !== undefined) return { batchId: id, granted: srunGranted(text), message: '', exited };
      if (ended || Date.now() > deadline) {
        if (!ended) child.kill('SIGKILL');
        return { granted: false, message: srunMessage(text, ended?.code), exited };
      }
      await sleep(SRUN_LOOK_MS);
    }
  } finally {
    closeSync(fd);
    rmSync(messageFile, { force: true });
  }
}

/** srun's error lines (not its `--verbose` chatter) on one line. */
function srunMessage(text: string, code: number | null | undefined): string {
  const errors = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^srun: (?!error|fatal|unrecognized|invalid)/i.test(l));
  const message = errors.join('; ');
  if (message) return message;
  return code === undefined ? 'srun named no job in time' : `srun exited with status ${code}`;
}
