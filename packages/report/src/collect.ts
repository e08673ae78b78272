import type { StatsRecord } from '@toil/jobstore';
import type {
  JobGraph,
  JobGroup,
  RunAttempt,
  RunResult,
  Timeline,
  TimelineAttempt,
} from './model.js';

/** Up to this many attempts the timeline lists each one; above, it aggregates into bins. */
export const DETAIL_LIMIT = 2000;
/** At most this many failed attempts are listed in an aggregated timeline. */
const FAILED_LIMIT = 2000;
/** At most this many lanes are drawn. */
const LANE_LIMIT = 200;
/** Bins per lane in an aggregated timeline. */
const BINS = 240;
/** Attempts closer than this (seconds) on one host may share a lane. */
const LANE_SLACK = 0.001;

interface Attempt {
  jobId: string;
  name: string;
  host: string;
  pid: number;
  start: number;
  end: number;
  succeeded: boolean;
  workflowAttempt: number | null;
  lane: number;
  retry: number;
}

interface LeaderTotals {
  runtime: number;
  clock: number;
  /** When the last leader record of the run was appended. */
  time: number;
}

/** What a run's leader recorded about how it ended, for {@link ReportCollector.finish}. */
export interface RunContext {
  /** The latest run's number (the config's `attempt`). */
  latestAttempt: number;
  /** How the latest run ended, as far as is known. */
  latestResult: RunResult;
  /** Epoch seconds when the latest run ended (from its recorded outcome). */
  latestEnd: number | null;
  /** Epoch seconds when the latest run's leader started. */
  latestStart: number | null;
  /** Ids and names of jobs that failed for good, to mark them in the graph. */
  failedJobs: Array<{ id: string; name: string }>;
}

/** Everything {@link ReportCollector.finish} derives from the stats records. */
export interface Collected {
  timeline: Timeline;
  graph: JobGraph;
  runs: RunAttempt[];
  jobs: number;
  jobAttempts: number;
  failedAttempts: number;
  retriedJobs: number;
  workers: number;
  hosts: string[];
  /** Whether every job attempt named its run and its predecessors (records of this release). */
  complete: { workflowAttempt: boolean; predecessors: boolean };
}

const round = (value: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/**
 * Collects the stats records of a store one at a time into what the report's timeline, job
 * graph and run list need. Holds one small object per job attempt (100,000 attempts: tens of
 * MB), never the records themselves.
 */
export class ReportCollector {
  private readonly attempts: Attempt[] = [];
  private readonly leaders = new Map<number, LeaderTotals>();
  private readonly workers = new Set<string>();
  private readonly hosts = new Set<string>();
  private readonly names = new Map<string, string>();
  private readonly predecessors = new Map<string, string[]>();
  private withoutRun = 0;
  private withoutPredecessors = 0;

  /** Adds one stats record. */
  add(record: StatsRecord): void {
    if (record.kind === 'leader') {
      const totals = this.leaders.get(record.attempt);
      if (totals) {
        totals.runtime += record.totalTime;
        totals.clock += record.totalClock;
        totals.time = Math.max(totals.time, record.time);
      } else {
        this.leaders.set(record.attempt, {
          runtime: record.totalTime,
          clock: record.totalClock,
          time: record.time,
        });
      }
      return;
    }
    this.workers.add(record.worker.id);
    this.hosts.add(record.worker.host);
    for (const job of record.jobs) {
      if (!Number.isFinite(job.start) || !Number.isFinite(job.time) || job.time < 0) continue;
      this.names.set(job.jobId, job.name);
      if (job.workflowAttempt === undefined) this.withoutRun++;
      if (job.predecessors === undefined) this.withoutPredecessors++;
      else if (!this.predecessors.has(job.jobId))
        this.predecessors.set(job.jobId, job.predecessors);
      this.attempts.push({
        jobId: job.jobId,
        name: job.name,
        host: record.worker.host,
        pid: record.worker.pid,
        start: job.start,
        end: job.start + job.time,
        succeeded: job.succeeded,
        workflowAttempt: job.workflowAttempt ?? null,
        lane: 0,
        retry: 0,
      });
    }
  }

  /** Builds the timeline, the job graph and the run list from what was added. */
  finish(context: RunContext): Collected {
    const attempts = this.attempts.sort((a, b) => a.start - b.start || a.end - b.end);
    const tries = new Map<string, number>();
    let failedAttempts = 0;
    for (const a of attempts) {
      const n = tries.get(a.jobId) ?? 0;
      a.retry = n;
      tries.set(a.jobId, n + 1);
      if (!a.succeeded) failedAttempts++;
    }
    let retriedJobs = 0;
    for (const n of tries.values()) if (n > 1) retriedJobs++;
    const runs = this.buildRuns(attempts, context);
    return {
      timeline: this.buildTimeline(attempts, runs),
      graph: this.buildGraph(attempts, tries, context.failedJobs),
      runs,
      jobs: tries.size,
      jobAttempts: attempts.length,
      failedAttempts,
      retriedJobs,
      workers: this.workers.size,
      hosts: [...this.hosts].sort().slice(0, 50),
      complete: {
        workflowAttempt: this.withoutRun === 0,
        predecessors: this.withoutPredecessors === 0,
      },
    };
  }

  private buildRuns(attempts: Attempt[], context: RunContext): RunAttempt[] {
    const runs: RunAttempt[] = [];
    for (let n = 0; n <= context.latestAttempt; n++) {
      runs.push({
        attempt: n,
        start: null,
        end: null,
        runtime: null,
        clock: null,
        jobAttempts: 0,
        failedAttempts: 0,
        result: 'unknown',
      });
    }
    const lastEnd = new Map<number, number>();
    for (const a of attempts) {
      if (a.workflowAttempt === null) continue;
      const run = runs[a.workflowAttempt];
      if (!run) continue;
      run.jobAttempts++;
      if (!a.succeeded) run.failedAttempts++;
      run.start = run.start === null ? a.start : Math.min(run.start, a.start);
      lastEnd.set(a.workflowAttempt, Math.max(lastEnd.get(a.workflowAttempt) ?? a.end, a.end));
    }
    for (const run of runs) {
      const leader = this.leaders.get(run.attempt);
      if (leader) {
        run.runtime = round(leader.runtime);
        run.clock = round(leader.clock);
        run.end = leader.time;
        const begun = leader.time - leader.runtime;
        run.start = run.start === null ? begun : Math.min(run.start, begun);
      }
      if (run.attempt === context.latestAttempt) {
        if (context.latestStart !== null)
          run.start =
            run.start === null ? context.latestStart : Math.min(run.start, context.latestStart);
        if (context.latestEnd !== null) run.end = context.latestEnd;
        run.result = context.latestResult;
      } else {
        // A later run exists, so this one ended without completing the workflow.
        run.result = 'incomplete';
        // A leader that died recorded no end: its last job attempt is all we know.
        run.end ??= lastEnd.get(run.attempt) ?? null;
      }
    }
    return runs;
  }

  private buildTimeline(attempts: Attempt[], runs: RunAttempt[]): Timeline {
    let start = Infinity;
    let end = -Infinity;
    for (const a of attempts) {
      start = Math.min(start, a.start);
      end = Math.max(end, a.end);
    }
    for (const r of runs) {
      if (r.start !== null) start = Math.min(start, r.start);
      if (r.end !== null) end = Math.max(end, r.end);
    }
    if (!Number.isFinite(start) || !Number.isFinite(end)) start = end = 0;
    // Pack each host's attempts into the fewest lanes in which they do not overlap.
    const slotsByHost = new Map<string, number[]>();
    const slotOf = new Array<number>(attempts.length);
    attempts.forEach((a, i) => {
      let slots = slotsByHost.get(a.host);
      if (!slots) slotsByHost.set(a.host, (slots = []));
      let slot = slots.findIndex((busyUntil) => busyUntil <= a.start + LANE_SLACK);
      if (slot < 0) slot = slots.push(a.end) - 1;
      else slots[slot] = a.end;
      slotOf[i] = slot;
    });
    const lanes: Timeline['lanes'] = [];
    const laneIndex = new Map<string, number[]>();
    for (const host of [...slotsByHost.keys()].sort()) {
      const indices = slotsByHost.get(host)!.map((_, slot) => {
        lanes.push({ host, slot, attempts: 0 });
        return lanes.length - 1;
      });
      laneIndex.set(host, indices);
    }
    attempts.forEach((a, i) => {
      a.lane = laneIndex.get(a.host)![slotOf[i]!]!;
      lanes[a.lane]!.attempts++;
    });
    const omittedLanes = Math.max(0, lanes.length - LANE_LIMIT);
    const shown = lanes.slice(0, LANE_LIMIT);
    const visible = attempts.filter((a) => a.lane < LANE_LIMIT);
    const toEntry = (a: Attempt): TimelineAttempt => ({
      jobId: a.jobId,
      name: a.name,
      lane: a.lane,
      start: round(a.start - start),
      duration: round(a.end - a.start),
      succeeded: a.succeeded,
      workflowAttempt: a.workflowAttempt,
      retry: a.retry,
      pid: a.pid,
    });
    const runSpans = runs
      .filter((r) => r.start !== null && r.end !== null)
      .map((r) => ({
        attempt: r.attempt,
        start: round(r.start! - start),
        end: round(r.end! - start),
      }));
    if (visible.length <= DETAIL_LIMIT) {
      return {
        start,
        end,
        lanes: shown,
        mode: 'attempts',
        attempts: visible.map(toEntry),
        omittedAttempts: attempts.length - visible.length,
        omittedLanes,
        runs: runSpans,
      };
    }
    const span = Math.max(end - start, 1e-6);
    const width = span / BINS;
    const busy = shown.map(() => new Float64Array(BINS));
    for (const a of visible) {
      const bins = busy[a.lane]!;
      const from = (a.start - start) / width;
      const to = (a.end - start) / width;
      for (let b = Math.floor(from); b <= Math.min(BINS - 1, Math.floor(to)); b++) {
        bins[b]! += Math.max(0, Math.min(to, b + 1) - Math.max(from, b));
      }
    }
    const failed = visible.filter((a) => !a.succeeded);
    return {
      start,
      end,
      lanes: shown,
      mode: 'aggregated',
      attempts: failed.slice(0, FAILED_LIMIT).map(toEntry),
      bins: {
        width: round(width, 6),
        busy: busy.map((bins) => Array.from(bins, (v) => round(Math.min(1, v), 2))),
      },
      omittedAttempts: attempts.length - Math.min(failed.length, FAILED_LIMIT),
      omittedLanes,
      runs: runSpans,
    };
  }

  private buildGraph(
    attempts: Attempt[],
    tries: Map<string, number>,
    failedJobs: Array<{ id: string; name: string }>,
  ): JobGraph {
    const groups = new Map<string, JobGroup>();
    const group = (name: string): JobGroup => {
      let g = groups.get(name);
      if (!g) {
        g = {
          name,
          jobs: 0,
          attempts: 0,
          failedAttempts: 0,
          failedJobs: 0,
          retriedJobs: 0,
          time: 0,
          depth: 0,
        };
        groups.set(name, g);
      }
      return g;
    };
    for (const a of attempts) {
      const g = group(a.name);
      g.attempts++;
      g.time += a.end - a.start;
      if (!a.succeeded) g.failedAttempts++;
      if (a.retry === 0) {
        g.jobs++;
        if ((tries.get(a.jobId) ?? 0) > 1) g.retriedJobs++;
      }
    }
    for (const job of failedJobs) group(this.names.get(job.id) ?? job.name).failedJobs++;
    // Keyed by name, then by name: no string built per job (100,000 jobs, a handful of names).
    const edges = new Map<string, Map<string, { from: string; to: string; count: number }>>();
    for (const [jobId, preds] of this.predecessors) {
      const to = this.names.get(jobId)!;
      for (const pred of preds) {
        const from = this.names.get(pred);
        if (from === undefined) continue;
        let targets = edges.get(from);
        if (!targets) edges.set(from, (targets = new Map()));
        const edge = targets.get(to);
        if (edge) edge.count++;
        else targets.set(to, { from, to, count: 1 });
      }
    }
    const edgeList = [...edges.values()].flatMap((targets) => [...targets.values()]);
    assignDepths(groups, edgeList);
    for (const g of groups.values()) g.time = round(g.time);
    return {
      groups: [...groups.values()].sort((a, b) => a.depth - b.depth || (a.name < b.name ? -1 : 1)),
      edges: edgeList.sort((a, b) =>
        a.from === b.from ? (a.to < b.to ? -1 : 1) : a.from < b.from ? -1 : 1,
      ),
      edgesKnown: this.withoutPredecessors < attempts.length || attempts.length === 0,
    };
  }
}

/** Longest path from a root for each name (self-edges and cycles ignored): its column. */
function assignDepths(
  groups: Map<string, JobGroup>,
  edges: Array<{ from: string; to: string }>,
): void {
  const out = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const name of groups.keys()) indegree.set(name, 0);
  for (const { from, to } of edges) {
    if (from === to || !groups.has(from) || !groups.has(to)) continue;
    out.set(from, [...(out.get(from) ?? []), to]);
    indegree.set(to, indegree.get(to)! + 1);
  }
  const queue = [...indegree].filter(([, d]) => d === 0).map(([name]) => name);
  for (let i = 0; i < queue.length; i++) {
    const name = queue[i]!;
    const depth = groups.get(name)!.depth;
    for (const next of out.get(name) ?? []) {
      const g = groups.get(next)!;
      g.depth = Math.max(g.depth, depth + 1);
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
}
