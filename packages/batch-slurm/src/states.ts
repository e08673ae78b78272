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
  /** CPU seconds (user + system) of all its processes (sacct `TotalCPU`), when accounting has it. */
  cpuTime?: number;
  /** Peak resident memory in bytes (the largest `MaxRSS` of its steps), when accounting has it. */
  peakMemory?: number;
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
export const SACCT_FORMAT = 'JobIDRaw,State,ExitCode,ElapsedRaw,TotalCPU,MaxRSS';

/** sacct's `TotalCPU` (`[D-][HH:]MM:SS[.mmm]`) in seconds; undefined when empty or unreadable. */
export function parseSacctCpu(text: string | undefined): number | undefined {
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(text?.trim() ?? '');
  if (!match) return undefined;
  const [, days, hours, minutes, seconds] = match;
  return (
    Number(days ?? 0) * 86400 + Number(hours ?? 0) * 3600 + Number(minutes) * 60 + Number(seconds)
  );
}

/** sacct's `MaxRSS` (`80592K`, `1.5M`, `0`) in bytes; undefined when empty or unreadable. */
export function parseSacctMemory(text: string | undefined): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([KMGTP]?)$/i.exec(text?.trim() ?? '');
  if (!match) return undefined;
  const power = ' KMGTP'.indexOf((match[2] || ' ').toUpperCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

/**
 * Parses `sacct -n -P --format JobIDRaw,State,ExitCode,ElapsedRaw,TotalCPU,MaxRSS` output (also
 * `sacct -c`, whose CPU and memory columns are empty). State, exit code, wall and CPU time come
 * from the job's own line; its peak memory is the largest `MaxRSS` of its steps (`12.batch`,
 * `12.extern`), which have their own lines. When a job appears twice (a requeued job) the last
 * line wins.
 */
export function parseSacct(output: string): Map<string, SlurmJobState> {
  const jobs = new Map<string, SlurmJobState>();
  const stepMemory = new Map<string, number>();
  for (const line of output.split('\n')) {
    const [id, stateText, exitText, elapsed, totalCpu, maxRss] = line.trim().split('|');
    if (!id || !stateText) continue;
    const step = /^(\d+)\.\S+$/.exec(id);
    if (step) {
      const memory = parseSacctMemory(maxRss);
      if (memory !== undefined)
        stepMemory.set(step[1]!, Math.max(memory, stepMemory.get(step[1]!) ?? 0));
      continue;
    }
    if (!/^\d+$/.test(id)) continue;
    const wallTime = elapsed && /^\d+$/.test(elapsed) ? Number(elapsed) : undefined;
    const cpuTime = parseSacctCpu(totalCpu);
    const peakMemory = parseSacctMemory(maxRss);
    jobs.set(id, {
      id,
      state: stateText.split(' ')[0]!,
      ...parseExitCode(exitText),
      ...(wallTime === undefined ? {} : { wallTime }),
      ...(cpuTime === undefined ? {} : { cpuTime }),
      ...(peakMemory === undefined ? {} : { peakMemory }),
    });
  }
  for (const [id, memory] of stepMemory) {
    const job = jobs.get(id);
    if (job) job.peakMemory = Math.max(memory, job.peakMemory ?? 0);
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
