import type { StatsReport, WorkflowState } from '@toil/stats';

/** Version of the `toil report --json` document; bumped on any incompatible change. */
export const REPORT_VERSION = 1;

/**
 * The data behind `toil report` (schema `toil-ts/report`, version {@link REPORT_VERSION}), as
 * `toil report --json` prints it. Times are epoch seconds unless a field says otherwise;
 * durations are seconds; memory is bytes. Documented field by field in the package README.
 */
export interface ReportData {
  schema: 'toil-ts/report';
  version: typeof REPORT_VERSION;
  /** When the report was built (epoch seconds). */
  generatedAt: number;
  jobStore: string;
  workflowId: string;
  summary: RunSummary;
  /** The `toil stats --json` document (schema `toil-ts/stats`): the seed's resource tables. */
  stats: StatsReport;
  timeline: Timeline;
  graph: JobGraph;
  /** Jobs that failed for good (still in the store), with the tail of their last log. */
  failures: FailedJob[];
  /** Things a reader should know about the data (aggregation, older records, caps). */
  notes: string[];
}

/**
 * How a workflow run (the first, or one `--restart`) ended. Only the latest run's end is
 * recorded (`succeeded`, `failed`, `killed`, or `running`); an earlier run ended without
 * completing the workflow (`incomplete`: a restart followed); `unknown` when nothing says.
 */
export type RunResult = 'succeeded' | 'failed' | 'killed' | 'running' | 'incomplete' | 'unknown';

/** One workflow run: attempt 0 is the first, each `--restart` adds one. */
export interface RunAttempt {
  attempt: number;
  /** Epoch seconds; null when nothing recorded when it started. */
  start: number | null;
  /** Epoch seconds; null while it runs or when its leader died without a record. */
  end: number | null;
  /** Leader wall seconds, when the leader recorded its totals. */
  runtime: number | null;
  /** Leader CPU seconds, when recorded. */
  clock: number | null;
  /** Job attempts that ran in this run (from the stats records that name their run). */
  jobAttempts: number;
  failedAttempts: number;
  result: RunResult;
}

/** The top of the report: where the workflow stands and what it took. */
export interface RunSummary {
  /** As `toil status` says it (`completed`, `failed`, `running`, `killed`, `leader-died`…). */
  state: WorkflowState;
  /** `toil status`'s sentence about it. */
  message: string;
  batchSystem: string;
  /** Whether the latest run recorded stats (`--stats`); without it most sections are empty. */
  statsEnabled: boolean;
  /** Epoch seconds: the first job attempt's start, else when the store was created. */
  start: number | null;
  /** Epoch seconds: the recorded end of the last run, else the last attempt's end. */
  end: number | null;
  /** `end - start`, when both are known. */
  wallSeconds: number | null;
  runs: RunAttempt[];
  /** Runs after the first (`--restart`s). */
  restarts: number;
  /** Distinct jobs that ran at least one attempt. */
  jobs: number;
  jobAttempts: number;
  failedAttempts: number;
  /** Jobs with more than one attempt (retried, or run again by a restart). */
  retriedJobs: number;
  /** Jobs that failed for good (still in the store, no tries left). */
  failedJobs: number;
  /** Unfinished jobs in the store (0 when the workflow completed). */
  unfinishedJobs: number;
  /** Distinct worker processes that reported, and the hosts they ran on (at most 50). */
  workers: number;
  hosts: string[];
}

/** One job attempt on the timeline. Times are seconds from {@link Timeline.start}. */
export interface TimelineAttempt {
  jobId: string;
  name: string;
  /** Index into {@link Timeline.lanes}. */
  lane: number;
  start: number;
  duration: number;
  succeeded: boolean;
  /** The run it belongs to; null in records from before toil-ts recorded it. */
  workflowAttempt: number | null;
  /** 0 for the job's first attempt, then 1, 2… for each attempt after it. */
  retry: number;
  pid: number;
}

/**
 * Every job attempt on a lane: one lane per concurrent slot of a host (attempts on one host
 * are packed into the fewest lanes that do not overlap, so a pool of warm workers and a Slurm
 * node read the same way).
 */
export interface Timeline {
  /** Epoch seconds of the earliest attempt or run start (0 with neither). */
  start: number;
  /** Epoch seconds of the latest attempt or run end. */
  end: number;
  lanes: Array<{ host: string; slot: number; attempts: number }>;
  /**
   * `attempts`: every attempt is listed. `aggregated` (large runs): lanes carry `busy`
   * fractions per bin and only failed attempts are listed (at most 2,000).
   */
  mode: 'attempts' | 'aggregated';
  attempts: TimelineAttempt[];
  /** Aggregated mode: bin width in seconds and, per lane, the busy fraction of each bin (0..1). */
  bins?: { width: number; busy: number[][] };
  /** Attempts left out of `attempts` (aggregated mode; failed ones past the cap). */
  omittedAttempts: number;
  /** Lanes left out (more than 200). */
  omittedLanes: number;
  /** Runs (attempt numbers) with their time span, for drawing restarts. */
  runs: Array<{ attempt: number; start: number; end: number }>;
}

/** The jobs of one name in the job graph. */
export interface JobGroup {
  name: string;
  /** Distinct jobs of this name that ran. */
  jobs: number;
  attempts: number;
  failedAttempts: number;
  /** Jobs of this name that failed for good. */
  failedJobs: number;
  retriedJobs: number;
  /** Wall seconds over all attempts. */
  time: number;
  /** Longest chain of names above it (0 for roots): its column in the drawing. */
  depth: number;
}

/**
 * The job graph grouped by job name: one node per name, one edge per pair of names where a
 * job of one ran before a job of the other (with how many such job pairs).
 */
export interface JobGraph {
  groups: JobGroup[];
  edges: Array<{ from: string; to: string; count: number }>;
  /** False when the records do not say which job ran after which (older records). */
  edgesKnown: boolean;
}

/** A job that failed for good, with why and the end of its last log. */
export interface FailedJob {
  jobId: string;
  name: string;
  /** Why it last failed (exit code, signal, Slurm state). */
  reason: string | null;
  /** Its last lines (at most 40). */
  logTail: string[];
  /** Lines in the whole log. */
  logLines: number;
}
