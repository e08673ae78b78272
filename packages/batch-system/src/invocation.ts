import type { JobInvocation } from './contract.js';

/**
 * The arguments a toil-ts worker takes for one attempt, after its command (the engine's
 * worker entry, `toil-worker`, or whatever a batch system's nodes run):
 * `run --jobStore L --jobId J --workflow SOURCE [--compiled PATH --hash H]`. Every value is
 * one word: a batch system that goes through a shell must quote each.
 */
export function workerArguments(invocation: JobInvocation): string[] {
  const { workflow } = invocation;
  return [
    'run',
    '--jobStore',
    invocation.jobStore,
    '--jobId',
    invocation.jobId,
    '--workflow',
    workflow.source,
    ...(workflow.compiled ? ['--compiled', workflow.compiled] : []),
    ...(workflow.hash ? ['--hash', workflow.hash] : []),
  ];
}

/**
 * Reads {@link workerArguments} back (what the worker entry does); undefined when `argv` is
 * not a `run` invocation with a job store, job id and workflow.
 */
export function parseWorkerArguments(argv: readonly string[]): JobInvocation | undefined {
  if (argv[0] !== 'run') return undefined;
  const flags = new Map<string, string>();
  for (let i = 1; i < argv.length; i += 2) {
    const flag = argv[i]!;
    if (!flag.startsWith('--') || i + 1 >= argv.length) return undefined;
    flags.set(flag.slice(2), argv[i + 1]!);
  }
  const jobStore = flags.get('jobStore');
  const jobId = flags.get('jobId');
  const source = flags.get('workflow');
  if (!jobStore || !jobId || !source) return undefined;
  const compiled = flags.get('compiled');
  const hash = flags.get('hash');
  return {
    jobStore,
    jobId,
    workflow: { source, ...(compiled ? { compiled } : {}), ...(hash ? { hash } : {}) },
  };
}

/** What a one-shot worker measured of its own attempt: CPU seconds and peak memory (bytes). */
export interface WorkerMeasures {
  cpuTime: number;
  peakMemory: number;
}

const MEASURES_LINE = /^\[toil-worker\] cpuTime=(\d+(?:\.\d+)?) peakMemory=(\d+)$/;

/**
 * The line a one-shot worker writes last on its standard output: what it measured of its
 * attempt, for a batch system that cannot ask its own accounting (Slurm without accounting
 * storage) and reads it back with {@link parseWorkerMeasures}.
 */
export function formatWorkerMeasures(measures: WorkerMeasures): string {
  return `[toil-worker] cpuTime=${measures.cpuTime.toFixed(3)} peakMemory=${Math.round(measures.peakMemory)}\n`;
}

/** The measures in the last line of `output` (see {@link formatWorkerMeasures}), if it is one. */
export function parseWorkerMeasures(output: string): WorkerMeasures | undefined {
  const last = output.trimEnd().split('\n').pop() ?? '';
  const match = MEASURES_LINE.exec(last.trim());
  return match ? { cpuTime: Number(match[1]), peakMemory: Number(match[2]) } : undefined;
}

/**
 * The environment variable that may name a file for a one-shot worker to create when its
 * attempt succeeded: after the attempt is durable in the job store and its measures line is
 * written, just before it exits 0. The file appears whole (written aside, then renamed) and
 * holds what the engine's worker reported of the attempt as JSON (`FinishedJob.local`), or
 * nothing. A batch system that sets it learns of the success as
 * soon as the file appears, without waiting for its scheduler to report the job ended (Slurm
 * polls its queue once per poll interval). The worker ignores a file it cannot create.
 */
export const WORKER_SUCCESS_MARKER_ENV = 'TOIL_WORKER_SUCCESS_MARKER';
