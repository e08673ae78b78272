import { constants } from 'node:os';
import { parseDuration } from '@toil/core';

/** How Slurm says a job ended (or where it is), as read from sacct, scontrol or squeue. */
export interface SlurmJobState {
  /** Slurm job id. */
  id: string;
  /** Base state, e.g. `COMPLETED`, `FAILED`, `TIMEOUT` (`CANCELLED by 0` becomes `CANCELLED`). */
  state: string;
  /** Exit status of the batch script (the number before the colon of `ExitCode`). */
  exitStatus: number;
  /** Signal that ended it (the number after the colon), 0 for none. */
  signal: number;
  /** Slurm's reason (scontrol `Reason=`), when known. */
  reason?: string;
  /** Elapsed wall seconds, when known. */
  wallTime?: number;
}

/** Job states after which Slurm never runs the job again. */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'REVOKED',
  'SPECIAL_EXIT',
]);

/** Exit code for a state whose own exit status says nothing (e.g. `TIMEOUT 0:0` in `sacct -c`). */
const DEFAULT_EXIT_CODES: Readonly<Record<string, number>> = {
  // Slurm ends these with SIGTERM (then SIGKILL after KillWait).
  CANCELLED: 128 + constants.signals.SIGTERM,
  TIMEOUT: 128 + constants.signals.SIGTERM,
  PREEMPTED: 128 + constants.signals.SIGTERM,
  DEADLINE: 128 + constants.signals.SIGTERM,
  // The kernel's OOM killer sends SIGKILL.
  OUT_OF_MEMORY: 128 + constants.signals.SIGKILL,
};

const STATE_EXPLANATIONS: Readonly<Record<string, string>> = {
  CANCELLED: 'was cancelled (scancel, or an administrator)',
  TIMEOUT: "reached its time limit (--time; raise the job's runtime requirement or --slurmTime)",
  OUT_OF_MEMORY: "ran out of memory (--mem; raise the job's memory requirement)",
  NODE_FAIL: 'was lost because its node failed',
  PREEMPTED: 'was preempted by a higher-priority job',
  BOOT_FAIL: 'could not start because its node failed to boot',
  DEADLINE: 'missed its deadline',
};

function signalName(signal: number): string {
  const entry = Object.entries(constants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : `signal ${signal}`;
}

/** The outcome Toil records for a finished Slurm job: exit code and, unless it succeeded, why. */
export function outcomeOf(job: SlurmJobState): { exitCode: number; reason?: string } {
  if (job.state === 'COMPLETED' && job.exitStatus === 0 && job.signal === 0) return { exitCode: 0 };
  // Real signals only: Slurm reports its own codes above the signal range (0:125 for OOM).
  const realSignal = job.signal > 0 && job.signal < 65 ? job.signal : 0;
  const exitCode =
    realSignal > 0
      ? 128 + realSignal
      : job.exitStatus > 0
        ? job.exitStatus
        : (DEFAULT_EXIT_CODES[job.state] ?? 1);
  const explanation = STATE_EXPLANATIONS[job.state];
  let detail: string;
  if (explanation) detail = explanation;
  else if (realSignal > 0) detail = `was killed by ${signalName(realSignal)}`;
  else if (job.exitStatus > 0) detail = `exited with status ${job.exitStatus}`;
  else detail = 'failed';
  const slurmReason =
    job.reason && !['None', 'NonZeroExitCode'].includes(job.reason)
      ? ` (Slurm reason: ${job.reason})`
      : '';
  return { exitCode, reason: `${job.state}: Slurm job ${job.id} ${detail}${slurmReason}` };
}

/** Parses `ExitCode` (`status:signal`). */
function parseExitCode(text: string | undefined): { exitStatus: number; signal: number } {
  const match = /^(\d+):(\d+)$/.exec(text ?? '');
  return match
    ? { exitStatus: Number(match[1]), signal: Number(match[2]) }
    : { exitStatus: 0, signal: 0 };
}

/** The columns {@link parseSacct} expects, for `sacct --format`. */
export const SACCT_FORMAT = 'JobIDRaw,State,ExitCode,ElapsedRaw';

/**
 * Parses `sacct -n -P --format JobIDRaw,State,ExitCode,ElapsedRaw` output (also `sacct -c`).
 * Job steps (`12.batch`, `12.extern`) are skipped; when a job appears twice (a requeued job)
 * the last line wins.
 */
export function parseSacct(output: string): Map<string, SlurmJobState> {
  const jobs = new Map<string, SlurmJobState>();
  for (const line of output.split('\n')) {
    const [id, stateText, exitText, elapsed] = line.trim().split('|');
    if (!id || !stateText || !/^\d+$/.test(id)) continue;
    const wallTime = elapsed && /^\d+$/.test(elapsed) ? Number(elapsed) : undefined;
    jobs.set(id, {
      id,
      state: stateText.split(' ')[0]!,
      ...parseExitCode(exitText),
      ...(wallTime === undefined ? {} : { wallTime }),
    });
  }
  return jobs;
}

/**
 * Parses `scontrol -o show job` output (one line per job, `Key=Value` pairs). Values we read
 * never contain spaces; job names are sanitised when we submit.
 */
export function parseScontrolJobs(output: string): Map<string, SlurmJobState> {
  const jobs = new Map<string, SlurmJobState>();
  for (const line of output.split('\n')) {
    const field = (key: string): string | undefined =>
      new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line)?.[1];
    const id = field('JobId');
    const state = field('JobState');
    if (!id || !state) continue;
    const runTime = field('RunTime');
    let wallTime: number | undefined;
    try {
      wallTime = runTime ? parseDuration(runTime) : undefined;
    } catch {
      wallTime = undefined;
    }
    const reason = field('Reason');
    jobs.set(id, {
      id,
      state,
      ...parseExitCode(field('ExitCode')),
      ...(reason === undefined ? {} : { reason }),
      ...(wallTime === undefined ? {} : { wallTime }),
    });
  }
  return jobs;
}

/** Parses `squeue -h -o '%A|%T'`: job id to state. */
export function parseSqueue(output: string): Map<string, string> {
  const jobs = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [id, state] = line.trim().split('|');
    if (id && state) jobs.set(id, state);
  }
  return jobs;
}
