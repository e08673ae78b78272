import { performance } from 'node:perf_hooks';
import { ToilError, type IoHost } from '@toil/core';
import type { BatchSystem, FinishedJob, JobInvocation } from '@toil/batch-system';
import type { JobRecord, JobStore, JobWrite, WorkflowConfig } from '@toil/jobstore';
import type { LocalResult } from './single-machine.js';
import { deleteRequestedFiles } from './file-store.js';
import type { JobBody } from './serialize.js';
import type { AttemptResult } from './worker-runtime.js';
import { BackgroundCommits } from './leader/commits.js';
import { CheckpointRestarts } from './leader/checkpoints.js';
import { Dispatcher, type LeaderLimits } from './leader/dispatch.js';
import { LeaderEvents } from './leader/events.js';
import { JobGraph, type GraphJob } from './leader/job-graph.js';
import { restoreForRestart } from './leader/restart.js';
import { NodeWatch } from './leader/nodes.js';
import { RunProgress, type LeaderCounts } from './leader/progress.js';
import { LeaderStatus } from './leader/status.js';

export type { LeaderLimits } from './leader/dispatch.js';

/** Parents with more successors than this have their stored lists pruned at most once a second. */
const LARGE_PARENT = 64;

/** Parents with more successors than this (a big fan-out's root) at most every 10 seconds. */
const HUGE_PARENT = 10000;

/** What the leader needs for one run attempt. */
export interface LeaderSettings {
  store: JobStore;
  config: WorkflowConfig;
  batchSystem: BatchSystem;
  host: IoHost;
  limits: LeaderLimits;
  rootId: string;
  /** What to run for a job (`IssuedJob.invocation`). */
  invocation: (jobId: string) => JobInvocation;
  /** Jobs completed in earlier attempts (from the stored summary). */
  completedBefore: number;
  /**
   * The batch system the previous attempt used (restart): stale batch ids in job records are
   * handed to {@link BatchSystem.killStale} only when it is the same one.
   */
  previousBatchSystem?: string;
}

/** A job that failed for good, for the report. */
export interface FailedJob {
  id: string;
  name: string;
  /** Tail of its last log, when one was stored. */
  logTail?: string;
  reason?: string;
}

/**
 * The leader of one run attempt: issues ready jobs within the resource limits, records each
 * job's completion durably before issuing its successors, retries failed jobs, and keeps the
 * store's leader info, summary, outcome and leader stats current. Stops (killing every running
 * job) on SIGINT/SIGTERM or the store's kill flag.
 *
 * Its parts: the pure {@link JobGraph} (what waits on what), the {@link Dispatcher} (issuing
 * within limits), {@link BackgroundCommits}, {@link CheckpointRestarts},
 * {@link restoreForRestart}, {@link LeaderStatus} (the store's shared files) and
 * {@link LeaderEvents} (what the run reports).
 */
export class Leader {
  private readonly graph: JobGraph;
  private readonly events: LeaderEvents;
  private readonly commits: BackgroundCommits;
  private readonly dispatch: Dispatcher;
  private readonly checkpoints: CheckpointRestarts;
  private readonly status: LeaderStatus;
  private readonly progress: RunProgress;
  private readonly nodeWatch: NodeWatch;
  private lastPrune = 0;
  private lastHugePrune = 0;
  private stopReason: string | undefined;
  private killedByFlag = false;
  private summaryDirty = true;
  /** A commit deleting completed records is in flight ({@link Leader.flushDeletes}). */
  private deleting = false;
  private readonly s: LeaderSettings;

  constructor(settings: LeaderSettings) {
    this.s = settings;
    const { store, batchSystem, host, config } = settings;
    this.graph = new JobGraph(settings.completedBefore);
    this.events = new LeaderEvents(host);
    this.commits = new BackgroundCommits(store, () => batchSystem.interrupt?.());
    this.dispatch = new Dispatcher({
      graph: this.graph,
      batchSystem,
      commits: this.commits,
      events: this.events,
      limits: settings.limits,
      invocation: settings.invocation,
    });
    this.checkpoints = new CheckpointRestarts(this.graph, store, this.commits, this.events);
    this.status = new LeaderStatus(store, config, this.events);
    this.progress = new RunProgress(host);
    this.nodeWatch = new NodeWatch(batchSystem.scaling);
  }

  /** Adds freshly stored jobs (a new workflow's graph) and queues the root. */
  seed(records: JobRecord[]): void {
    this.graph.seed(records, this.s.rootId);
  }

  /**
   * Rebuilds the leader's view from the store after a crash or kill: deletes jobs no longer
   * reachable from the root, resets try counts, and queues every job whose predecessor's
   * completion is recorded. Jobs whose completion was recorded are not run again.
   */
  async loadForRestart(): Promise<void> {
    await restoreForRestart(this.graph, {
      store: this.s.store,
      batchSystem: this.s.batchSystem,
      events: this.events,
      rootId: this.s.rootId,
      tries: this.s.config.retryCount + 1,
      previousBatchSystem: this.s.previousBatchSystem,
    });
  }

  /**
   * Runs until every job completed (resolves), some jobs failed for good (throws
   * `WORKFLOW_FAILED` after recording the outcome) or the run is stopped (throws
   * `WORKFLOW_KILLED`).
   */
  async run(): Promise<void> {
    const { store, batchSystem } = this.s;
    const onSignal = (signal: NodeJS.Signals) => {
      this.stopReason ??= `received ${signal}`;
      batchSystem.interrupt?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await this.status.writeLeaderInfo(this.pids(), true);
    let lastKillCheck = 0;
    let lastSummary = 0;
    let lastMessages = performance.now();
    try {
      for (;;) {
        this.commits.throwIfFailed();
        const now = performance.now();
        if (now - lastKillCheck >= 1000) {
          lastKillCheck = now;
          if (await store.getKillFlag()) {
            this.killedByFlag = true;
            this.stopReason ??= 'the job store kill flag is set (toil kill)';
          }
        }
        if (this.stopReason) return await this.stop(this.stopReason);
        await this.checkpoints.restartIdle(this.dispatch.jobIds());
        if ((await this.dispatch.issueReady()) > 0) this.summaryDirty = true;
        this.progress.tick(this.progressCounts());
        if (this.nodeWatch.takeChanged()) this.summaryDirty = true;
        await this.status.writeLeaderInfo(this.pids(), false);
        if (this.summaryDirty && now - lastSummary >= 1000) {
          lastSummary = now;
          await this.writeSummary();
        }
        if (now - lastMessages >= 2000) {
          lastMessages = now;
          await this.status.relayMessages();
        }
        this.flushDeletes();
        if (this.graph.hasDirtyParents && now - this.lastPrune >= 1000) {
          this.commits.commit(this.prunedParents(true));
        }
        if (this.dispatch.size === 0) {
          if (this.commits.pending > 0) {
            await this.commits.next();
            continue;
          }
          if (this.graph.idle) break;
          continue;
        }
        const finished = await batchSystem.poll(1000);
        for (const job of finished) await this.handleFinished(job);
      }
      await this.finish();
    } catch (error) {
      // No commit of this attempt may land after it ended (a restart reads the store next).
      await this.commits.settle();
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  private progressCounts(): LeaderCounts {
    return {
      running: this.dispatch.size,
      queued: this.graph.readyCount,
      failedJobs: this.graph.failed.length,
      nodes: this.nodeWatch.current(),
      cost: this.nodeWatch.cost(),
    };
  }

  private pids(): number[] {
    return this.s.batchSystem.local?.pids() ?? [];
  }

  private async writeSummary(): Promise<void> {
    this.summaryDirty = false;
    await this.status.writeSummary(
      this.graph.counts(),
      this.dispatch.size,
      this.nodeWatch.current(),
      this.nodeWatch.cost(),
    );
  }

  private async handleFinished(finished: FinishedJob): Promise<void> {
    const id = this.dispatch.finished(finished.batchId, finished.jobId);
    this.summaryDirty = true;
    const job = this.graph.get(id);
    if (!job) return;
    if (finished.exitCode !== 0) return this.handleFailure(job, finished);
    const local = finished.local as LocalResult | undefined;
    let result: AttemptResult | undefined = local?.result;
    if (!result) {
      const record = await this.s.store.tryLoadJob(id);
      if (record && !(record.body as JobBody).ran) {
        return this.handleFailure(job, {
          ...finished,
          exitCode: 1,
          reason: 'the worker exited 0 without recording the job as done',
        });
      }
      result = { record: record ?? null, createdJson: [], deferredDelete: false };
    }
    this.progress.jobDone(job.name);
    // Jobs chained in the worker completed under this job's id.
    this.graph.completed += result.chained ?? 0;
    if (result.record === null) {
      if (result.deferredDelete) this.graph.completedWithRecord(id);
      else this.graph.completedWithoutRecord(id);
      return;
    }
    const record = result.record;
    // One record parsed at a time and added at once: a fan-out's 100,000 parsed records never
    // live together (they die young, so the leader's peak memory does not depend on when a
    // full garbage collection happens to run).
    for (const json of result.createdJson) this.graph.add(JSON.parse(json) as JobRecord, json);
    result.createdJson = [];
    const created: Array<{ record: JobRecord; json: string }> = [];
    for (const childId of this.graph.unknownSuccessors(record)) {
      const child = await this.s.store.tryLoadJob(childId);
      if (child) created.push({ record: child, json: JSON.stringify(child) });
    }
    this.graph.ran(id, record, created);
  }

  private async handleFailure(job: GraphJob, finished: FinishedJob): Promise<void> {
    const { store } = this.s;
    const record = await store.tryLoadJob(job.id);
    // The worker died after recording the job's completion: it is done, never rerun.
    if (!record) {
      this.graph.completedWithoutRecord(job.id);
      return;
    }
    if ((record.body as JobBody).ran) {
      this.events.reportLost(job, finished.reason ?? `exit code ${finished.exitCode}`);
      await this.handleFinished({
        ...finished,
        exitCode: 0,
        failure: undefined,
        reason: undefined,
        local: undefined,
      });
      return;
    }
    job.name = record.displayName;
    const reason = finished.reason ?? record.lastFailure ?? `exit code ${finished.exitCode}`;
    if (job.frozenBy !== undefined) {
      this.events.jobDiscarded(job, reason);
      return;
    }
    this.events.jobFailed(job, reason, finished.exitCode);
    this.progress.attemptFailed(job.name);
    const tries = Math.max(0, record.remainingTryCount - 1);
    const updated: JobRecord = {
      ...record,
      remainingTryCount: tries,
      state: tries > 0 ? 'ready' : 'failed',
      batchId: undefined,
      lastFailure: reason,
      version: record.version + 1,
    };
    await store.commit([{ op: 'put', record: updated }]);
    if (tries > 0) {
      this.events.jobRetry(job, tries);
      job.recordJson = JSON.stringify(updated);
      this.graph.enqueue(job.id);
      return;
    }
    this.events.jobTotallyFailed(job);
    this.graph.fail(job);
    await this.checkpoints.above(job);
  }

  /**
   * Puts pruning the successor lists of ran jobs. Large parents are rewritten at most once a
   * second (`all`), huge ones every 10 s, so a 100,000-job fan-out does not rewrite its root on
   * every batch.
   */
  private prunedParents(all: boolean): JobWrite[] {
    const now = performance.now();
    if (all) this.lastPrune = now;
    const huge = all && now - this.lastHugePrune >= 10000;
    if (huge) this.lastHugePrune = now;
    return this.graph.prunedParents(huge ? Infinity : all ? HUGE_PARENT : LARGE_PARENT);
  }

  /**
   * Deletes completed jobs' records in one commit, in the background, together with every
   * predecessor that their completion completes; starts follow-ons once it is durable.
   */
  private flushDeletes(): void {
    // One deletion commit at a time: completions meanwhile wait for it and go in the next one
    // (they would wait for its fdatasync anyway), so a fan-out's leaves cost one commit per
    // fdatasync, not one each.
    if (this.deleting) return;
    const batch = this.graph.takeDeletes();
    if (!batch) return;
    this.summaryDirty = true;
    const pruned = this.prunedParents(performance.now() - this.lastPrune >= 1000);
    const deletes = batch.ids.map((id) => ({ op: 'delete' as const, id }));
    this.deleting = true;
    this.commits.commit([...pruned, ...deletes], () => {
      this.deleting = false;
      // Only now that the checkpoints' records are gone can they never run again.
      if (batch.checkpointFiles.length > 0) {
        this.commits.track(deleteRequestedFiles(this.s.store, batch.checkpointFiles));
      }
      this.graph.committed(batch);
      this.flushDeletes();
    });
  }

  private async stop(reason: string): Promise<never> {
    const { store, batchSystem } = this.s;
    this.events.stopping(reason);
    this.progress.end(this.progressCounts(), false);
    const issued = batchSystem.running();
    // Attempts still queued in the batch system never ran: only the started ones are killed.
    const killedBatchIds = batchSystem.started?.() ?? issued;
    const notStarted = issued.length - killedBatchIds.length;
    await batchSystem.shutdown();
    await this.commits.settle();
    this.dispatch.clear();
    await this.status.appendLeaderStats();
    await this.status.relayMessages().catch(() => undefined);
    await this.status.setOutcome({ result: 'killed', failedJobs: [], killedBatchIds });
    await this.writeSummary();
    throw new ToilError(
      'WORKFLOW_KILLED',
      `The workflow was stopped (${reason}); ${killedBatchIds.length} running job(s) were killed${notStarted > 0 ? ` and ${notStarted} queued job(s) were not started` : ''}.`,
      {
        hint: `The job store ${store.locator} is kept: resume with --restart, or delete it with toil clean.`,
        data: { exitCode: this.killedByFlag ? 130 : reason.includes('SIGINT') ? 130 : 143 },
      },
    );
  }

  private async finish(): Promise<void> {
    const { batchSystem } = this.s;
    // The workers end (store their last stats, exit) while the leader records the outcome;
    // the run ends only once they are gone.
    const shutdown = batchSystem.shutdown();
    shutdown.catch(() => undefined);
    let outcome: { result: 'succeeded' | 'failed'; failedJobs: FailedJob[] };
    try {
      outcome = await this.recordOutcome();
    } finally {
      await shutdown;
    }
    const { result, failedJobs } = outcome;
    // After the workers are gone: their last messages are stored, their CPU time counted.
    await this.status.relayMessages();
    await this.status.appendLeaderStats();
    this.progress.end(this.progressCounts(), result === 'succeeded');
    if (result === 'succeeded') {
      this.events.succeeded();
      return;
    }
    for (const job of failedJobs) if (job.logTail) this.events.jobLog(job, job.logTail);
    this.events.failed(failedJobs.length);
    throw new ToilError(
      'WORKFLOW_FAILED',
      `The job store '${this.s.store.locator}' contains ${failedJobs.length} failed job${failedJobs.length === 1 ? '' : 's'}: ${failedJobs
        .map(
          (j) =>
            `'${j.name}' ${j.id}${j.reason && j.reason !== 'a successor failed' ? ` (${j.reason})` : ''}`,
        )
        .join(', ')}`,
      {
        hint: 'See the job logs above (toil status --printLogs shows them again); fix the cause and rerun with --restart.',
        data: { failedJobs },
      },
    );
  }

  /**
   * The end of a run whose jobs all finished: the last commits, the jobs a failure blocked
   * marked failed, then the outcome and the summary (while the batch system stops its workers).
   */
  private async recordOutcome(): Promise<{
    result: 'succeeded' | 'failed';
    failedJobs: FailedJob[];
  }> {
    const { store } = this.s;
    await this.commits.settle();
    this.commits.throwIfFailed();
    const failedJobs: FailedJob[] = [];
    if (this.graph.failed.length > 0) {
      // Predecessors of failed jobs can never finish: they fail too (as in Toil).
      const blocked = this.graph.blockedByFailures();
      const writes: JobWrite[] = [];
      for (const job of blocked) {
        const record = await store.tryLoadJob(job.id);
        if (record) {
          writes.push({
            op: 'put',
            record: {
              ...record,
              state: 'failed',
              lastFailure: 'a successor failed',
              version: record.version + 1,
            },
          });
        }
        job.failed = true;
      }
      if (writes.length > 0) await store.commit(writes);
      for (const job of [...this.graph.failed, ...blocked]) {
        const record = await store.tryLoadJob(job.id);
        failedJobs.push({
          id: job.id,
          name: job.name,
          reason: record?.lastFailure,
          logTail: await this.status.readLogTail(record?.logFileId),
        });
      }
    }
    const result = failedJobs.length > 0 ? 'failed' : 'succeeded';
    await this.status.setOutcome({
      result,
      failedJobs: failedJobs.map(({ id, name }) => ({ id, name })),
    });
    await this.writeSummary();
    return { result, failedJobs };
  }
}
