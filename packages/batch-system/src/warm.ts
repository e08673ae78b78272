import type { JobInvocation } from './contract.js';
import { parseWorkerArguments, workerArguments } from './invocation.js';

/**
 * The directories of a warm worker class (shared by the leader's batch system and the warm
 * workers it started, on a file system both see): the leader writes one file per attempt into
 * `inbox/` (named by the attempt's batch id, content `{"jobId": …}`), a worker claims it by
 * renaming it into `running/` as {@link warmClaimName}, and reports it as a {@link WarmResult}
 * in `done/` under the attempt's name. A file `stop` in the class directory makes its workers
 * exit.
 */
export const WARM_DIRS = { inbox: 'inbox', running: 'running', done: 'done' } as const;

/** The name of a claimed attempt in `running/`: the attempt and the worker that runs it. */
export function warmClaimName(attempt: string, worker: string): string {
  return `${attempt}@${worker}`;
}

/** The attempt and worker of a {@link warmClaimName}. */
export function parseWarmClaimName(name: string): { attempt: string; worker: string } | undefined {
  const at = name.lastIndexOf('@');
  return at > 0 ? { attempt: name.slice(0, at), worker: name.slice(at + 1) } : undefined;
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
