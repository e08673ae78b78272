import { text } from 'node:stream/consumers';
import { silentHost, startSpan } from '@toil/core';
import {
  StatsCollector,
  getStatus,
  openStore,
  storeNotFound,
  type SortOptions,
  type StatusReport,
  type UtilityOptions,
} from '@toil/stats';
import { ReportCollector, type RunContext } from './collect.js';
import { REPORT_VERSION, type FailedJob, type ReportData, type RunResult } from './model.js';

/** Options of {@link buildReport}. */
export interface BuildReportOptions extends UtilityOptions {
  /** How the resource tables' job types are sorted (as `toil stats --sortCategory`…). */
  sort?: SortOptions;
  /** Failed jobs whose log tails are included (default 50). */
  maxFailedLogs?: number;
  /** Lines of each failed job's log tail (default 40). */
  logTailLines?: number;
  /** The report's time (epoch seconds; default now): for reproducible output. */
  now?: number;
}

const PROGRESS_EVERY = 10_000;

function resultOf(status: StatusReport): RunResult {
  switch (status.state) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'killed':
      return 'killed';
    case 'running':
    case 'running-elsewhere':
      return 'running';
    default:
      return 'unknown';
  }
}

function tail(log: string, lines: number): { logTail: string[]; logLines: number } {
  if (log.length === 0) return { logTail: [], logLines: 0 };
  const all = log.replace(/\n$/, '').split('\n');
  return { logTail: all.slice(-lines), logLines: all.length };
}

/**
 * Reads a job store (its status, every stats record from every run, the logs of jobs that
 * failed for good) into the data behind `toil report`: what {@link renderReportHtml} draws and
 * `toil report --json` prints. Read-only, so it is safe while the workflow runs.
 *
 * @throws ToilError `JOBSTORE_NOT_FOUND` when there is no store; `JOBSTORE_CORRUPT` /
 *   `JOBSTORE_INCOMPATIBLE` from the store.
 */
export async function buildReport(
  locator: string,
  options: BuildReportOptions = {},
): Promise<ReportData> {
  const host = options.host ?? silentHost;
  // Walking every job record is only worth it when some failed for good (the summary says).
  let status = await getStatus(locator, { host });
  if (
    status.state !== 'completed' &&
    ((status.counts?.totallyFailed ?? 0) > 0 || status.countsSource === 'none')
  )
    status = await getStatus(locator, { host, jobs: true, failedOnly: true });
  const store = await openStore(locator, host);
  try {
    if (!(await store.exists())) throw storeNotFound(store.locator);
    const config = await store.resume();
    const stats = new StatsCollector();
    const collector = new ReportCollector();
    const span = startSpan(host, 'REPORT_READ', `Reading stats records of ${store.locator}`, {
      source: 'toil.report',
      level: 'debug',
    });
    for await (const record of store.readStats()) {
      stats.add(record);
      collector.add(record);
      if (stats.count % PROGRESS_EVERY === 0) span.progress(stats.count, 'Stats records read');
    }
    span.end(`Read ${stats.count} stats records`, { data: { records: stats.count } });

    const failedLines = (status.jobs ?? []).filter((j) => j.totallyFailed);
    const outcome = status.outcome?.attempt === config.attempt ? status.outcome : undefined;
    const context: RunContext = {
      latestAttempt: config.attempt,
      latestResult: resultOf(status),
      latestEnd: outcome?.time ?? null,
      latestStart: status.leader?.attempt === config.attempt ? status.leader.startedAt : null,
      failedJobs: failedLines.map((j) => ({ id: j.id, name: j.name })),
    };
    const collected = collector.finish(context);

    const failures: FailedJob[] = [];
    for (const job of failedLines.slice(0, options.maxFailedLogs ?? 50)) {
      const log =
        job.logFileId === undefined
          ? ''
          : await text(await store.readFileStream(job.logFileId)).catch(() => '');
      failures.push({
        jobId: job.id,
        name: job.name,
        reason: job.lastFailure ?? null,
        ...tail(log, options.logTailLines ?? 40),
      });
    }

    const now = options.now ?? Date.now() / 1000;
    const { timeline } = collected;
    const start =
      collected.runs.find((r) => r.start !== null)?.start ??
      (collected.jobAttempts > 0 ? timeline.start : null);
    const running = context.latestResult === 'running';
    const lastRun = collected.runs[collected.runs.length - 1];
    const end = running
      ? null
      : (lastRun?.end ?? (collected.jobAttempts > 0 ? timeline.end : null));
    const notes: string[] = [];
    if (!config.stats && collected.jobAttempts === 0)
      notes.push(
        'The workflow was run without --stats: no job attempts were recorded. Run it with --stats to see the tables, the timeline and the job graph.',
      );
    if (timeline.mode === 'aggregated')
      notes.push(
        `${collected.jobAttempts} job attempts: the timeline shows how busy each lane was over time and only the failed attempts one by one.`,
      );
    if (timeline.omittedLanes > 0)
      notes.push(`${timeline.omittedLanes} more lanes of the timeline are not drawn.`);
    if (collected.jobAttempts > 0 && !collected.complete.workflowAttempt)
      notes.push(
        'Some stats records come from an older toil-ts that did not record which run each attempt belongs to.',
      );
    if (collected.jobAttempts > 0 && !collected.complete.predecessors)
      notes.push(
        'Some stats records do not say which job ran after which (older toil-ts): the job graph lacks those edges.',
      );
    if (failedLines.length > failures.length)
      notes.push(`${failedLines.length - failures.length} more failed jobs are not shown.`);
    const report = stats.finish(config, { jobStore: store.locator, sort: options.sort });
    if (report.skipped.length > 0)
      notes.push(
        `${report.skipped.length} job attempts reported unusable values and are left out.`,
      );
    return {
      schema: 'toil-ts/report',
      version: REPORT_VERSION,
      generatedAt: now,
      jobStore: store.locator,
      workflowId: config.workflowId,
      summary: {
        state: status.state,
        message: status.message,
        batchSystem: config.batchSystem,
        statsEnabled: config.stats,
        start,
        end,
        wallSeconds: start === null ? null : Math.max(0, (end ?? (running ? now : start)) - start),
        runs: collected.runs,
        restarts: config.attempt,
        jobs: collected.jobs,
        jobAttempts: collected.jobAttempts,
        failedAttempts: collected.failedAttempts,
        retriedJobs: collected.retriedJobs,
        failedJobs: failedLines.length,
        unfinishedJobs: status.counts?.unfinished ?? 0,
        workers: collected.workers,
        hosts: collected.hosts,
      },
      stats: report,
      timeline,
      graph: collected.graph,
      failures,
      notes,
    };
  } finally {
    await store.close();
  }
}
