import type { JobStats, StatsRecord, WorkflowConfig } from '@toil/jobstore';

/** Version of the `toil stats --raw` JSON document; bumped on any incompatible change. */
export const STATS_REPORT_VERSION = 1;

/** The measured categories of a stats table, in Toil's order. */
export const STAT_CATEGORIES = ['time', 'clock', 'wait', 'memory'] as const;
/** One measured category: wall seconds, CPU seconds, wait (= time − clock) seconds, bytes. */
export type StatCategory = (typeof STAT_CATEGORIES)[number];

/** Everything `--sortCategory` accepts: a measured category, the job name, or the count. */
export const SORT_CATEGORIES = [...STAT_CATEGORIES, 'alpha', 'count'] as const;
/** See {@link SORT_CATEGORIES}. */
export type SortCategory = (typeof SORT_CATEGORIES)[number];

/** The statistics of a category, in table order. */
export const SORT_FIELDS = ['min', 'med', 'ave', 'max', 'total'] as const;
/** See {@link SORT_FIELDS}. */
export type SortField = (typeof SORT_FIELDS)[number];

/** min / med / ave / max / total of one category over the items of an element. */
export interface CategoryStats {
  min: number;
  /** Upper median (`sorted[floor(n/2)]`), as Toil computes it. */
  med: number;
  ave: number;
  max: number;
  total: number;
}

/** One table of the report: the workers, all jobs, or the jobs of one name. */
export interface StatsElement {
  /** `worker`, `jobs`, or the job name (displayName, else class or function name). */
  name: string;
  /** Number of items (worker runs or job attempts). */
  count: number;
  /** Sum of the cores the items requested. */
  totalCores: number;
  /** Job attempts that failed (job elements only; 0 for workers). */
  failedAttempts: number;
  time: CategoryStats;
  clock: CategoryStats;
  wait: CategoryStats;
  /** Peak resident memory in bytes. */
  memory: CategoryStats;
}

/** Jobs per worker: min / med / ave / max over the workers that reported. */
export interface PerWorkerCounts {
  min: number;
  med: number;
  ave: number;
  max: number;
}

/** The leader's totals of one run attempt (restarts add attempts). */
export interface AttemptTotals {
  attempt: number;
  /** Wall seconds of the leader run(s) of this attempt. */
  runtime: number;
  /** Leader CPU seconds of this attempt. */
  clock: number;
}

/**
 * The `toil stats --raw` document (schema `toil-ts/stats`, version {@link STATS_REPORT_VERSION}).
 * Times are seconds, memory is bytes, `maxCores: null` means unlimited. Documented field by
 * field in the package README.
 */
export interface StatsReport {
  schema: 'toil-ts/stats';
  version: typeof STATS_REPORT_VERSION;
  jobStore: string;
  workflowId: string;
  batchSystem: string;
  defaultCores: number;
  defaultMemory: number;
  maxCores: number | null;
  /** Whether the workflow was run with `--stats` (its latest attempt). */
  statsEnabled: boolean;
  /**
   * False when the workflow never started: its leader stopped before `toil.start()` saved the
   * root job (e.g. after `importFile`), so there is nothing to report.
   */
  started: boolean;
  /** Sum of the leader CPU seconds over every attempt. */
  totalClock: number;
  /** Sum of the leader wall seconds over every attempt. */
  totalRuntime: number;
  /** One entry per attempt that recorded leader totals, oldest first. */
  attempts: AttemptTotals[];
  /** True when the latest attempt has not recorded its leader totals yet (running or died). */
  leaderTotalsPending: boolean;
  /** The sort applied to `jobTypes`. */
  sort: { category: SortCategory; field: SortField; reverse: boolean };
  worker: StatsElement;
  jobs: StatsElement & { perWorker: PerWorkerCounts };
  /** One element per job name, in the requested sort order. */
  jobTypes: StatsElement[];
  /** Records that could not be used (e.g. a negative measurement), with why. */
  skipped: Array<{ reason: string }>;
}

/** How to sort the job types of a report. */
export interface SortOptions {
  category?: SortCategory;
  field?: SortField;
  /** Descending instead of ascending (Toil 5.9's `--sortReverse`). */
  reverse?: boolean;
}

interface Item {
  time: number;
  clock: number;
  memory: number;
  cores: number;
  failed: boolean;
}

function categoryStats(values: number[]): CategoryStats {
  if (values.length === 0) return { min: 0, med: 0, ave: 0, max: 0, total: 0 };
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const v of sorted) total += v;
  return {
    min: sorted[0]!,
    med: sorted[Math.floor(sorted.length / 2)]!,
    ave: total / sorted.length,
    max: sorted[sorted.length - 1]!,
    total,
  };
}

function buildElement(name: string, items: Item[]): StatsElement {
  let totalCores = 0;
  let failedAttempts = 0;
  const time: number[] = new Array(items.length);
  const clock: number[] = new Array(items.length);
  const wait: number[] = new Array(items.length);
  const memory: number[] = new Array(items.length);
  items.forEach((item, i) => {
    time[i] = item.time;
    clock[i] = item.clock;
    wait[i] = item.time - item.clock;
    memory[i] = item.memory;
    totalCores += item.cores;
    if (item.failed) failedAttempts++;
  });
  return {
    name,
    count: items.length,
    totalCores,
    failedAttempts,
    time: categoryStats(time),
    clock: categoryStats(clock),
    wait: categoryStats(wait),
    memory: categoryStats(memory),
  };
}

function sortValue(element: StatsElement, category: SortCategory, field: SortField): number {
  if (category === 'count') return element.count;
  if (category === 'alpha') return 0;
  return element[category][field];
}

/** Sorts job-type elements as `--sortCategory/--sortField/--sortReverse` ask (a new array). */
export function sortElements(elements: StatsElement[], options: SortOptions = {}): StatsElement[] {
  const category = options.category ?? 'time';
  const field = options.field ?? 'med';
  const direction = options.reverse ? -1 : 1;
  return [...elements].sort((a, b) => {
    const primary =
      category === 'alpha'
        ? a.name < b.name
          ? -1
          : a.name > b.name
            ? 1
            : 0
        : sortValue(a, category, field) - sortValue(b, category, field);
    // Ties fall back to the name so the order never depends on the order records were read.
    const order = primary !== 0 ? primary : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    return order * direction;
  });
}

function isUsable(job: JobStats): boolean {
  return [job.time, job.clock, job.memory, job.requestedCores].every(
    (v) => Number.isFinite(v) && v >= 0,
  );
}

/**
 * Collates stats records one at a time (so a store with 100,000 records is never held in
 * memory as records), then builds the report with {@link StatsCollector.finish}.
 *
 * - Workers: records with the same worker id are one worker (a pooled worker process that
 *   reported several batches); its time and CPU add up, its memory is the largest peak.
 * - Jobs: every job attempt, grouped by its stats name for the per-name tables.
 * - Leader totals: summed per attempt and over all attempts.
 */
export class StatsCollector {
  private readonly workers = new Map<string, Item & { jobsRun: number }>();
  private readonly jobItems: Item[] = [];
  private readonly byName = new Map<string, Item[]>();
  private readonly attempts = new Map<number, AttemptTotals>();
  private readonly skipped: Array<{ reason: string }> = [];
  /** Records added so far. */
  count = 0;

  /** Adds one record. */
  add(record: StatsRecord): void {
    this.count++;
    if (record.kind === 'leader') {
      const totals = this.attempts.get(record.attempt) ?? {
        attempt: record.attempt,
        runtime: 0,
        clock: 0,
      };
      totals.runtime += record.totalTime;
      totals.clock += record.totalClock;
      this.attempts.set(record.attempt, totals);
      return;
    }
    const w = record.worker;
    const existing = this.workers.get(w.id);
    if (existing) {
      existing.time += w.time;
      existing.clock += w.clock;
      existing.memory = Math.max(existing.memory, w.memory);
      existing.cores = Math.max(existing.cores, w.requestedCores);
      existing.jobsRun += record.jobs.length;
    } else {
      this.workers.set(w.id, {
        time: w.time,
        clock: w.clock,
        memory: w.memory,
        cores: w.requestedCores,
        failed: false,
        jobsRun: record.jobs.length,
      });
    }
    for (const job of record.jobs) {
      if (!isUsable(job)) {
        this.skipped.push({ reason: `job ${job.jobId} (${job.name}) reported a negative value` });
        continue;
      }
      const item: Item = {
        time: job.time,
        clock: job.clock,
        memory: job.memory,
        cores: job.requestedCores,
        failed: !job.succeeded,
      };
      this.jobItems.push(item);
      const list = this.byName.get(job.name);
      if (list) list.push(item);
      else this.byName.set(job.name, [item]);
    }
  }

  /** Builds the report from what was added, with the header fields from `config`. */
  finish(
    config: WorkflowConfig,
    options: { jobStore: string; sort?: SortOptions; started?: boolean },
  ): StatsReport {
    const workerList = [...this.workers.values()];
    const worker = buildElement('worker', workerList);
    // Toil's worker element carries no cores either: what was requested is per job.
    worker.totalCores = 0;
    const perWorkerCounts = categoryStats(workerList.map((w) => w.jobsRun));
    const jobs = {
      ...buildElement('jobs', this.jobItems),
      perWorker: {
        min: perWorkerCounts.min,
        med: perWorkerCounts.med,
        ave: perWorkerCounts.ave,
        max: perWorkerCounts.max,
      },
    };
    const sort = {
      category: options.sort?.category ?? 'time',
      field: options.sort?.field ?? 'med',
      reverse: options.sort?.reverse ?? false,
    } satisfies StatsReport['sort'];
    const jobTypes = sortElements(
      [...this.byName].map(([name, items]) => buildElement(name, items)),
      sort,
    );
    const attemptList = [...this.attempts.values()].sort((a, b) => a.attempt - b.attempt);
    let totalRuntime = 0;
    let totalClock = 0;
    for (const a of attemptList) {
      totalRuntime += a.runtime;
      totalClock += a.clock;
    }
    return {
      schema: 'toil-ts/stats',
      version: STATS_REPORT_VERSION,
      jobStore: options.jobStore,
      workflowId: config.workflowId,
      batchSystem: config.batchSystem,
      defaultCores: config.defaultCores,
      defaultMemory: config.defaultMemory,
      maxCores: config.maxCores,
      statsEnabled: config.stats,
      started: options.started ?? true,
      totalClock,
      totalRuntime,
      attempts: attemptList,
      leaderTotalsPending: (options.started ?? true) && !this.attempts.has(config.attempt),
      sort,
      worker,
      jobs,
      jobTypes,
      skipped: [...this.skipped],
    };
  }
}

/**
 * Collates stats records (every record a store holds, from every attempt) into the report
 * `toil stats` prints. Pure: reads nothing, changes nothing. See {@link StatsCollector}.
 */
export function collateStats(
  records: Iterable<StatsRecord>,
  config: WorkflowConfig,
  options: { jobStore: string; sort?: SortOptions },
): StatsReport {
  const collector = new StatsCollector();
  for (const record of records) collector.add(record);
  return collector.finish(config, options);
}
