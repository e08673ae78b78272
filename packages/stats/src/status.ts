import {
  describeNodeCost,
  describeNodeCounts,
  type NodeCost,
  type NodeGroupCount,
} from '@toil/batch-system';
import { text } from 'node:stream/consumers';
import { ToilError, silentHost, startSpan, type IoHost } from '@toil/core';
import type { JobRecord, JobStore, LeaderInfo, Outcome } from '@toil/jobstore';
import {
  classifyLeader,
  currentOutcome,
  epochMillis,
  type EpochMillis,
  type EpochSeconds,
  isoTime,
  type LeaderLiveness,
} from './leader.js';
import { withExistingStore, type UtilityOptions } from './open.js';

/** Version of the `toil status --json` document. */
export const STATUS_REPORT_VERSION = 1;

/**
 * Where a workflow stands, as `toil status` tells it:
 * - `not-started`: the store exists but no root job has been saved (or no leader ever ran);
 * - `running`: its leader is alive on this machine;
 * - `running-elsewhere`: its leader is on another machine and has not recorded an end;
 * - `completed`: the root job is gone: the workflow completed successfully;
 * - `failed`: the last run ended with totally failed jobs;
 * - `killed`: the last run was stopped by `toil kill` or a signal;
 * - `leader-died`: the leader on this machine is gone without recording an end.
 */
export type WorkflowState =
  | 'not-started'
  | 'running'
  | 'running-elsewhere'
  | 'completed'
  | 'failed'
  | 'killed'
  | 'leader-died';

/** The job counts of the summary line. */
export interface JobCounts {
  unfinished: number;
  withChildren: number;
  withServices: number;
  services: number;
  totallyFailed: number;
  running: number;
  ready: number;
}

/** One job as `--printJobs`/`--json` show it. */
export interface JobLine {
  id: string;
  name: string;
  jobName: string;
  version: number;
  state: JobRecord['state'];
  remainingTryCount: number;
  totallyFailed: boolean;
  children: string[];
  followOns: string[];
  services: string[];
  isService: boolean;
  logFileId?: string;
  lastFailure?: string;
  /** Batch-system id of the running attempt. */
  batchId?: string;
}

/** The log of one job (`--printLogs`). */
export interface JobLog {
  id: string;
  name: string;
  text: string;
}

/** The `toil status --json` document (schema `toil-ts/status`). */
export interface StatusReport {
  schema: 'toil-ts/status';
  version: typeof STATUS_REPORT_VERSION;
  jobStore: string;
  /** The batch system the workflow runs on (from its config). */
  batchSystem: string;
  state: WorkflowState;
  /** One or two sentences saying where the workflow stands. */
  message: string;
  /** Toil's line `There are X unfinished jobs, ...`, when jobs remain. */
  summaryLine?: string;
  counts?: JobCounts;
  /** Where the counts come from: the store's summary, or a walk over every job. */
  countsSource: 'summary' | 'walk' | 'none';
  /** When the summary was last written (epoch ms), if it was read. */
  countsUpdatedAt?: EpochMillis;
  leader?: LeaderInfo & { liveness: LeaderLiveness['kind'] };
  /**
   * A running workflow's nodes by type and state, from the summary (kept by a leader whose
   * batch system is a cluster); absent otherwise.
   */
  nodes?: NodeGroupCount[];
  /**
   * What a launched cluster's elastic nodes cost while the run went (so far, while it runs),
   * at the cloud's hourly prices, from the summary; absent elsewhere.
   */
  cost?: NodeCost;
  outcome?: Outcome;
  /** Jobs, when a per-job option asked for them (filtered by `failedOnly` / `jobIds`). */
  jobs?: JobLine[];
  logs?: JobLog[];
  dot?: string;
}

/** Options of {@link getStatus}. */
export interface StatusOptions extends UtilityOptions {
  /** Walk every job and return them (`--printJobs`, `--printChildren`, `--printDot`). */
  jobs?: boolean;
  /** Read the logs of jobs that have one (`--printLogs`). */
  logs?: boolean;
  /** Build a Graphviz graph of the jobs (`--printDot`). */
  dot?: boolean;
  /** Only totally failed jobs (`--failed`). */
  failedOnly?: boolean;
  /** Only these job ids (`--jobs`). */
  jobIds?: string[];
}

/** Toil's job string: `'name' id vN`. */
export function jobString(job: Pick<JobLine, 'name' | 'id' | 'version'>): string {
  return `'${job.name}' ${job.id} v${job.version}`;
}

function isTotallyFailed(job: JobRecord): boolean {
  return job.state === 'failed' || job.remainingTryCount === 0;
}

function toLine(job: JobRecord): JobLine {
  return {
    id: job.id,
    name: job.displayName || job.jobName,
    jobName: job.jobName,
    version: job.version,
    state: job.state,
    remainingTryCount: job.remainingTryCount,
    totallyFailed: isTotallyFailed(job),
    children: job.children,
    followOns: job.followOns,
    services: job.services,
    isService: job.isService,
    ...(job.logFileId === undefined ? {} : { logFileId: job.logFileId }),
    ...(job.lastFailure === undefined ? {} : { lastFailure: job.lastFailure }),
    ...(job.batchId === undefined ? {} : { batchId: job.batchId }),
  };
}

function emptyCounts(): JobCounts {
  return {
    unfinished: 0,
    withChildren: 0,
    withServices: 0,
    services: 0,
    totallyFailed: 0,
    running: 0,
    ready: 0,
  };
}

function count(counts: JobCounts, job: JobRecord): void {
  counts.unfinished++;
  if (job.children.length + job.followOns.length > 0) counts.withChildren++;
  if (job.services.length > 0) counts.withServices++;
  if (job.isService) counts.services++;
  if (isTotallyFailed(job)) counts.totallyFailed++;
  if (job.state === 'running') counts.running++;
  if (job.state === 'ready') counts.ready++;
}

/** Toil's summary line for a store with jobs left. */
export function summaryLine(counts: JobCounts, locator: string): string {
  return (
    `There are ${counts.unfinished} unfinished jobs, ${counts.withChildren} parent jobs with children, ` +
    `${counts.withServices} jobs with services, ${counts.services} services, and ` +
    `${counts.totallyFailed} totally failed jobs currently in ${locator}.`
  );
}

async function walkJobs(
  store: JobStore,
  host: IoHost,
  keep: boolean,
): Promise<{ counts: JobCounts; jobs: JobLine[] }> {
  const counts = emptyCounts();
  // Only the lines are kept, not the records with their bodies: 145,000 jobs stay small.
  const jobs: JobLine[] = [];
  const span = startSpan(host, 'STATUS_WALK', `Reading the jobs of ${store.locator}`, {
    source: 'toil.status',
  });
  for await (const job of store.listJobs()) {
    count(counts, job);
    if (keep) jobs.push(toLine(job));
    if (counts.unfinished % 10_000 === 0) span.progress(counts.unfinished, 'Jobs read');
  }
  span.end(`Read ${counts.unfinished} jobs`, { level: 'debug' });
  return { counts, jobs };
}

async function readLog(store: JobStore, fileId: string): Promise<string> {
  return text(await store.readFileStream(fileId));
}

const STATE_COLOURS: Record<JobRecord['state'], string> = {
  waiting: 'gray',
  ready: 'black',
  running: 'blue',
  completed: 'green',
  failed: 'red',
};

function dotId(id: string): string {
  return JSON.stringify(id);
}

/**
 * Graphviz of jobs: one node per job, named by its unique id and labelled with its name;
 * coloured by state (totally failed jobs red); edges to the successors present in `jobs`.
 */
export function renderDot(jobs: JobLine[], locator: string): string {
  const present = new Set(jobs.map((j) => j.id));
  const lines = ['digraph toil_graph {', `# This graph was created from job-store: ${locator}`];
  for (const job of jobs) {
    const colour = job.totallyFailed ? 'red' : STATE_COLOURS[job.state];
    const label = JSON.stringify(`${job.name} ${job.id}`);
    lines.push(`${dotId(job.id)} [label=${label}, color="${colour}"];`);
  }
  for (const job of jobs) {
    for (const [precedence, successors] of [job.children, job.followOns].entries()) {
      for (const successor of successors) {
        if (present.has(successor))
          lines.push(`${dotId(job.id)} -> ${dotId(successor)} [label="${precedence}"];`);
      }
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function listNames(jobs: Array<{ name: string }>, limit = 5): string {
  const names = jobs.slice(0, limit).map((j) => j.name);
  const more = jobs.length > limit ? ` and ${jobs.length - limit} more` : '';
  return names.join(', ') + more;
}

function describe(
  state: WorkflowState,
  locator: string,
  leader: LeaderInfo | undefined,
  outcome: Outcome | undefined,
): string {
  const who = leader ? `process ${leader.pid} on ${leader.hostname}` : '';
  switch (state) {
    case 'completed':
      return 'The root job of the job store is absent, the workflow completed successfully.';
    case 'not-started':
      return leader
        ? `The workflow in ${locator} has not started running: its leader (${who}) stopped before saving the root job.`
        : `The workflow in ${locator} has not started: no leader has run it yet.`;
    case 'running':
      return `The workflow is running: its leader is ${who} (this machine), attempt ${leader!.attempt}, started ${isoTime(leader!.startedAt)}.`;
    case 'running-elsewhere':
      return (
        `The workflow's leader is ${who}, another machine (attempt ${leader!.attempt}, started ` +
        `${isoTime(leader!.startedAt)}); it has not recorded an end, so it is presumably running. ` +
        'This machine cannot check that process.'
      );
    case 'failed': {
      const failed = outcome?.failedJobs ?? [];
      const jobs =
        failed.length > 0 ? `: ${failed.length} totally failed jobs (${listNames(failed)})` : '';
      return (
        `The workflow failed (attempt ${outcome!.attempt}, ended ${isoTime(outcome!.time)})${jobs}. ` +
        'Fix the cause and run it again with --restart; `toil status --failed --printLogs` shows the logs.'
      );
    }
    case 'killed':
      return `The workflow was killed (attempt ${outcome!.attempt}, at ${isoTime(outcome!.time)}). Resume it with --restart.`;
    case 'leader-died':
      return (
        `The workflow is not running: its leader (${who}, attempt ${leader!.attempt}) stopped without ` +
        'recording how the run ended (it crashed or was killed with SIGKILL). Resume it with --restart.'
      );
  }
}

/**
 * Reports where a workflow stands. Reads only the store's summary and shared files unless a
 * per-job option asks for the jobs (then it walks every job record once). Read-only.
 *
 * @throws ToilError `JOBSTORE_NOT_FOUND` when there is no store; `JOB_NOT_FOUND` for an
 *   unknown id in `jobIds`.
 */
export async function getStatus(
  locator: string,
  options: StatusOptions = {},
): Promise<StatusReport> {
  const host = options.host ?? silentHost;
  return withExistingStore(locator, host, async (store) => {
    const config = await store.resume();
    const [rootId, leader, storedOutcome] = await Promise.all([
      store.getRootJobId(),
      store.getLeader(),
      store.getOutcome(),
    ]);
    const liveness = classifyLeader(leader);
    const outcome = currentOutcome(storedOutcome, leader);
    // The summary (kept current by the leader) says whether jobs remain without loading the
    // job index: a store of 145,000 jobs answers from one small file.
    const storedSummary = await store.readSummary();
    const rootExists = async (): Promise<boolean> =>
      rootId !== undefined &&
      (storedSummary ? storedSummary.unfinished > 0 : await store.jobExists(rootId));

    let state: WorkflowState;
    if (rootId === undefined) state = liveness.kind === 'local-alive' ? 'running' : 'not-started';
    else if (liveness.kind === 'local-alive') state = 'running';
    else if (outcome?.result === 'succeeded' || !(await rootExists())) state = 'completed';
    else if (liveness.kind === 'remote' && !outcome) state = 'running-elsewhere';
    else if (outcome?.result === 'failed') state = 'failed';
    else if (outcome?.result === 'killed') state = 'killed';
    else if (liveness.kind === 'none') state = 'not-started';
    else state = 'leader-died';

    const report: StatusReport = {
      schema: 'toil-ts/status',
      version: STATUS_REPORT_VERSION,
      jobStore: store.locator,
      batchSystem: config.batchSystem,
      state,
      message: describe(state, store.locator, leader, storedOutcome),
      countsSource: 'none',
      ...(leader ? { leader: { ...leader, liveness: liveness.kind } } : {}),
      ...(storedOutcome ? { outcome: storedOutcome } : {}),
    };

    const wantJobs = Boolean(
      options.jobs || options.logs || options.dot || options.failedOnly || options.jobIds,
    );
    let records: JobLine[] | undefined;
    if (options.jobIds && options.jobIds.length > 0) {
      records = [];
      for (const id of options.jobIds) {
        const job = await store.tryLoadJob(id);
        if (!job)
          throw new ToilError('JOB_NOT_FOUND', `The job ${id} is not in ${store.locator}.`, {
            hint: 'It may have finished (finished jobs are deleted); `toil status --printJobs` lists the jobs left.',
          });
        records.push(toLine(job));
      }
    }
    if (state !== 'completed' || wantJobs) {
      const summary = records || wantJobs ? undefined : storedSummary;
      let countsUpdated: EpochSeconds | undefined;
      if (summary) {
        report.counts = {
          unfinished: summary.unfinished,
          withChildren: summary.withChildren,
          withServices: summary.withServices,
          services: summary.services,
          totallyFailed: summary.totallyFailed,
          running: summary.running,
          ready: summary.ready,
        };
        report.countsSource = 'summary';
        countsUpdated = summary.updatedAt;
        if (summary.nodes && (state === 'running' || state === 'running-elsewhere'))
          report.nodes = summary.nodes;
        report.countsUpdatedAt = epochMillis(countsUpdated);
      } else if (rootId !== undefined || wantJobs) {
        const walked = await walkJobs(store, host, wantJobs && !records);
        report.counts = walked.counts;
        report.countsSource = 'walk';
        records ??= walked.jobs;
      }
      if (report.counts && state !== 'completed') {
        report.summaryLine = summaryLine(report.counts, store.locator);
      }
      if (state === 'running-elsewhere' && countsUpdated !== undefined) {
        // Whether a remote leader still works shows in how fresh its counts are.
        report.message += ` Its job counts were last updated ${isoTime(countsUpdated)}.`;
      }
    }

    if (storedSummary?.cost) report.cost = storedSummary.cost;

    if (records) {
      let lines = records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (options.failedOnly) lines = lines.filter((j) => j.totallyFailed);
      report.jobs = lines;
      if (options.logs) {
        report.logs = [];
        for (const job of lines) {
          if (job.logFileId === undefined) continue;
          report.logs.push({
            id: job.id,
            name: job.name,
            text: await readLog(store, job.logFileId),
          });
        }
      }
      if (options.dot) report.dot = renderDot(lines, store.locator);
    }
    return report;
  });
}

/** Which parts of a status report to print as text (Toil's `--print*` flags). */
export interface StatusTextOptions {
  printJobs?: boolean;
  printLogs?: boolean;
  printChildren?: boolean;
  printDot?: boolean;
  failedOnly?: boolean;
  /** Leave out the summary line (Toil's `--noAggStats`). */
  noAggStats?: boolean;
  /** Which jobs run where (Toil's `--printStatus`, as Toil 9 prints it). */
  printStatus?: boolean;
}

function jobLineText(job: JobLine): string {
  const parts = [
    `JOB:${jobString(job)}`,
    `STATE:${job.totallyFailed ? 'totally failed' : job.state}`,
    `TRYS_REMAINING:${job.remainingTryCount}`,
    `CHILD_NUMBER:${job.children.length + job.followOns.length}`,
  ];
  if (job.services.length > 0) parts.push(`SERVICES:${job.services.length}`);
  if (job.isService) parts.push('IS_SERVICE');
  if (job.logFileId !== undefined) parts.push(`LOG_FILE:${job.logFileId}`);
  if (job.lastFailure !== undefined) parts.push(`LAST_FAILURE:${job.lastFailure}`);
  return parts.join('\t');
}

/**
 * Renders a status report as `toil status` prints it: per-job lines, logs, children, dot
 * (each when asked for), then what state the workflow is in and the summary line.
 */
export function renderStatusText(report: StatusReport, options: StatusTextOptions = {}): string {
  const out: string[] = [];
  const jobs = report.jobs ?? [];
  if (
    options.printJobs ||
    (options.failedOnly && !options.printLogs && !options.printDot && !options.printChildren)
  ) {
    for (const job of jobs) out.push(jobLineText(job));
    if (jobs.length === 0)
      out.push(options.failedOnly ? 'No job has failed totally.' : 'No jobs are left.');
  }
  if (options.printLogs) {
    const logs = report.logs ?? [];
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const log of logs) {
      const job = byId.get(log.id);
      out.push(`Log from job "${job ? jobString(job) : log.id}" follows:`, '=========>');
      for (const line of log.text.replace(/\n$/, '').split('\n')) out.push(`\t${line}`);
      out.push('<=========');
    }
    if (logs.length === 0) out.push('No job has a log file (only failed attempts leave one).');
  }
  if (options.printChildren) {
    for (const job of jobs) {
      const successors = [
        ...job.children.map((id) => `\t(CHILD_JOB:${id},PRECEDENCE:0)`),
        ...job.followOns.map((id) => `\t(CHILD_JOB:${id},PRECEDENCE:1)`),
      ];
      out.push(`CHILDREN_OF_JOB:${jobString(job)} ${successors.join('')}`.trimEnd());
    }
  }
  if (options.printDot && report.dot) out.push(report.dot.replace(/\n$/, ''));
  if (options.printStatus) {
    const running = jobs.filter((j) => j.state === 'running');
    for (const job of running) {
      const where = job.batchId === undefined ? '' : ` as ID ${job.batchId}`;
      out.push(
        `Job ID ${job.id} with name ${job.name} is running on ${report.batchSystem}${where}.`,
      );
    }
    if (running.length === 0) out.push('No job is running.');
  }
  if (report.summaryLine && !options.noAggStats) out.push(report.summaryLine);
  if (report.nodes && report.nodes.length > 0)
    out.push(`Nodes: ${describeNodeCounts(report.nodes)}.`);
  if (report.cost)
    out.push(
      `Cost of the cluster's elastic nodes ${report.state === 'running' || report.state === 'running-elsewhere' ? 'so far' : 'during the run'}: ${describeNodeCost(report.cost)}.`,
    );
  out.push(report.message);
  return out.join('\n') + '\n';
}

/** True when the workflow has nothing left to do (what `--failIfNotComplete` checks). */
export function isComplete(report: StatusReport): boolean {
  return report.state === 'completed';
}
