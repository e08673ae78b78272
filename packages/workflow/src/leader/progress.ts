import { performance } from 'node:perf_hooks';
import type { NodeCost, NodeGroupCount } from '@toil/batch-system';
import { startSpan, type IoHost, type Span } from '@toil/core';

/** Progress is reported at most this often (milliseconds). */
const REPORT_EVERY_MS = 200;
/** Names are listed one by one only up to this many. */
const MAX_NAMES = 8;

/** One job name's share of a run's progress. */
export interface NameProgress {
  name: string;
  /** Jobs of this name that ran successfully in this run. */
  done: number;
  /** Failed attempts of jobs of this name in this run. */
  failed: number;
}

/**
 * The data of the leader's `WORKFLOW_PROGRESS` span events (start, progress at most every
 * 200 ms, end): what a terminal shows while a workflow runs.
 */
export interface WorkflowProgress {
  /** Jobs that ran successfully in this run. */
  done: number;
  /** Attempts the batch system runs (or queues) now. */
  running: number;
  /** Jobs ready to run that are not issued yet. */
  queued: number;
  /** Failed attempts in this run (retried or not). */
  failed: number;
  /** Jobs that failed for good. */
  failedJobs: number;
  /** Seconds since the run started. */
  elapsed: number;
  /** Per job name, in the order the names first finished; absent when there are more than 8. */
  byName?: NameProgress[];
  /** A cluster's nodes by type and state (read every few seconds); absent on one machine. */
  nodes?: NodeGroupCount[];
  /** What the cluster's elastic nodes cost since the run started (a launched cluster's leader). */
  cost?: NodeCost;
}

/** The leader's counts {@link RunProgress.tick} needs besides its own. */
export interface LeaderCounts {
  running: number;
  queued: number;
  failedJobs: number;
  nodes?: NodeGroupCount[] | undefined;
  cost?: NodeCost | undefined;
}

/**
 * Counts a run's finished jobs by name and reports them as `WORKFLOW_PROGRESS` span events
 * (debug level, so log files stay quiet; a terminal host draws them). Cheap per job: a map
 * update; the event itself is built at most five times a second.
 */
export class RunProgress {
  private readonly started = performance.now();
  private readonly names = new Map<string, NameProgress>();
  private span: Span | undefined;
  private lastReport = -Infinity;
  private done = 0;
  private failed = 0;

  constructor(private readonly host: IoHost) {}

  private entry(name: string): NameProgress {
    let entry = this.names.get(name);
    if (!entry) this.names.set(name, (entry = { name, done: 0, failed: 0 }));
    return entry;
  }

  /** A job ran successfully. */
  jobDone(name: string): void {
    this.done++;
    this.entry(name).done++;
  }

  /** An attempt failed. */
  attemptFailed(name: string): void {
    this.failed++;
    this.entry(name).failed++;
  }

  private snapshot(counts: LeaderCounts): WorkflowProgress {
    return {
      done: this.done,
      running: counts.running,
      queued: counts.queued,
      failed: this.failed,
      failedJobs: counts.failedJobs,
      elapsed: (performance.now() - this.started) / 1000,
      ...(this.names.size <= MAX_NAMES
        ? { byName: [...this.names.values()].map((n) => ({ ...n })) }
        : {}),
      ...(counts.nodes ? { nodes: counts.nodes } : {}),
      ...(counts.cost ? { cost: counts.cost } : {}),
    };
  }

  /** Reports the current counts, unless it did less than 200 ms ago. */
  tick(counts: LeaderCounts): void {
    const now = performance.now();
    if (now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    const data = this.snapshot(counts) as unknown as Record<string, unknown>;
    this.span ??= startSpan(this.host, 'WORKFLOW_PROGRESS', 'Running the workflow', {
      source: 'toil.leader',
      level: 'debug',
      data,
    });
    this.span.progress(this.done, 'Running the workflow', data);
  }

  /** Ends the span with the final counts. */
  end(counts: LeaderCounts, ok: boolean): void {
    const data = this.snapshot(counts);
    this.span ??= startSpan(this.host, 'WORKFLOW_PROGRESS', 'Running the workflow', {
      source: 'toil.leader',
      level: 'debug',
    });
    this.span.end(
      `${data.done} jobs done, ${data.failed} failed attempts in ${data.elapsed.toFixed(1)} s`,
      { ok, level: 'debug', data: data as unknown as Record<string, unknown> },
    );
  }
}
