import type { JobInvocation } from './contract.js';
import { parseWorkerArguments, workerArguments } from './invocation.js';

/**
 * The directories of a warm worker class (shared by the leader's batch system and the warm
 * workers it started, on a file system both see): the leader creates one empty file per
 * attempt in `inbox/`, named {@link warmInboxName} (the attempt's batch id and its job's id,
 * so that handing an attempt over is one file creation and claiming it reads nothing); a
 * worker claims it by renaming it into `running/` as {@link warmClaimName}, and reports it by
 * writing its {@link WarmResult} into that file and renaming it to `done/<attempt>` (the
 * leader sees a claim or a result, never half of one). A file `stop` in the class directory
 * makes its workers exit.
 */
export const WARM_DIRS = { inbox: 'inbox', running: 'running', done: 'done' } as const;

/** Separates an attempt from its job's id in a file name: in neither (job ids are `[A-Za-z0-9._-]`). */
const JOB_SEPARATOR = '+';

/** The name of an attempt's file in `inbox/`: the attempt and the job it runs. */
export function warmInboxName(attempt: string, jobId: string): string {
  return `${attempt}${JOB_SEPARATOR}${jobId}`;
}

/** The attempt and job of a {@link warmInboxName}; undefined for any other name. */
export function parseWarmInboxName(name: string): { attempt: string; jobId: string } | undefined {
  const plus = name.indexOf(JOB_SEPARATOR);
  if (plus <= 0 || plus === name.length - 1) return undefined;
  return { attempt: name.slice(0, plus), jobId: name.slice(plus + 1) };
}

/** The name of a claimed attempt in `running/`: its {@link warmInboxName} and the worker that runs it. */
export function warmClaimName(attempt: string, jobId: string, worker: string): string {
  return `${warmInboxName(attempt, jobId)}@${worker}`;
}

/** The attempt, job and worker of a {@link warmClaimName}; undefined for any other name. */
export function parseWarmClaimName(
  name: string,
): { attempt: string; jobId: string; worker: string } | undefined {
  const at = name.lastIndexOf('@');
  if (at <= 0 || at === name.length - 1) return undefined;
  const inbox = parseWarmInboxName(name.slice(0, at));
  return inbox && { ...inbox, worker: name.slice(at + 1) };
}

/** How an attempt in a warm worker ended (a file in `done/`). */
export interface WarmResult {
  /** 0 for success, 1 when the job failed (its failure is recorded on the job). */
  exitCode: number;
  reason?: string;
  wallTime: number;
  cpuTime: number;
  peakMemory: number;
  /** The worker that ran it (its batch-system id, or its pid). */
  worker?: string;
  /** What the engine's worker reported of a successful attempt, passed on as `FinishedJob.local`. */
  local?: unknown;
}

/** How a warm worker is told where its work is and when to stop. */
export interface WarmWorkerSpec {
  /** The workflow's store and code (the job id is not used). */
  invocation: Omit<JobInvocation, 'jobId'>;
  /** The class directory ({@link WARM_DIRS}). */
  dir: string;
  /** The file the leader touches while it lives. */
  heartbeat: string;
  /** Seconds without work after which the worker exits. */
  idle: number;
  /** Seconds without a heartbeat after which the worker exits. */
  leaderTimeout: number;
}

/** The worker arguments of a warm worker (after the worker command): `warm --dir D … --jobStore L --workflow F …`. */
export function warmWorkerArguments(spec: WarmWorkerSpec): string[] {
  const run = workerArguments({ ...spec.invocation, jobId: '-' });
  return [
    'warm',
    '--dir',
    spec.dir,
    '--heartbeat',
    spec.heartbeat,
    '--idle',
    String(spec.idle),
    '--leaderTimeout',
    String(spec.leaderTimeout),
    ...run.slice(1),
  ];
}

/** Reads {@link warmWorkerArguments} back; undefined when `argv` is not one. */
export function parseWarmWorkerArguments(argv: readonly string[]): WarmWorkerSpec | undefined {
  if (argv[0] !== 'warm') return undefined;
  const own = new Map<string, string>();
  let i = 1;
  for (
    ;
    i + 1 < argv.length && ['--dir', '--heartbeat', '--idle', '--leaderTimeout'].includes(argv[i]!);
    i += 2
  )
    own.set(argv[i]!.slice(2), argv[i + 1]!);
  const invocation = parseWorkerArguments(['run', ...argv.slice(i)]);
  const dir = own.get('dir');
  const heartbeat = own.get('heartbeat');
  const idle = Number(own.get('idle'));
  const leaderTimeout = Number(own.get('leaderTimeout'));
  if (!invocation || !dir || !heartbeat || !(idle > 0) || !(leaderTimeout > 0)) return undefined;
  const { jobId: _jobId, ...rest } = invocation;
  return { invocation: rest, dir, heartbeat, idle, leaderTimeout };
}
