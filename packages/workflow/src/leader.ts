import { hostname } from 'node:os';
import { text } from 'node:stream/consumers';
import { performance } from 'node:perf_hooks';
import { ToilError, localNodeId, report, type IoHost } from '@toil/core';
import type { JobRecord, JobStore, JobWrite, Requirements, WorkflowConfig } from '@toil/jobstore';
import type { BatchSystem, FinishedJob, JobInvocation } from '@toil/batch-system';
import type { LocalIssue, LocalResult } from './single-machine.js';
import { totalCpuSeconds } from './resources.js';
import { toRunning, withBatchId } from './running-record.js';
import { deleteRequestedFiles } from './file-store.js';
import type { JobBody, JobPredecessor } from './serialize.js';
import type { AttemptResult } from './worker-runtime.js';

const SOURCE = 'toil.leader';

/**
 * Most jobs issued to the batch system and not yet finished. Enough to keep a pool or a Slurm
 * queue busy; larger only costs leader memory (queued records, their `running` commits).
 */
const MAX_IN_FLIGHT = 2000;

/** Parents with more successors than this have their stored lists pruned at most once a second. */
const LARGE_PARENT = 64;

/** Parents with more successors than this (a big fan-out's root) at most every 10 seconds. */
const HUGE_PARENT = 10000;

/** Resource limits the leader schedules within (Infinity: unlimited). */
export interface LeaderLimits {
  cores: number;
  memory: number;
  disk: number;
}

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

interface LeaderJob {
  id: string;
  name: string;
  requirements: Requirements;
  parent: string | undefined;
  relation: 'child' | 'followOn' | undefined;
  /** Every predecessor when there are several (a diamond's join); else undefined. */
  parents: JobPredecessor[] | undefined;
  /** Predecessors that must still release this job before it may run. */
  waitingOn: number;
  ran: boolean;
  children: string[];
  followOns: string[];
  pendingChildren: number;
  pendingFollowOns: number;
  /** The record as JSON, to hand to a warm worker (dropped once issued). */
  recordJson: string | undefined;
  /** The stored record once the job ran (its successor lists are pruned as they finish). */
  record: JobRecord | undefined;
  failed: boolean;
  /**
   * The checkpoint whose restart discards this job: it is not issued again, and its results
   * only tell the leader which records to delete.
   */
  frozenBy: string | undefined;
}

/** A checkpoint waiting for the running jobs of its subtree before it runs again. */
interface PendingRestart {
  /** Its remaining try count once restarted. */
  tries: number;
  /** The jobs of its subtree that failed for good. */
  causes: string[];
}

/** A job that failed for good, for the report. */
export interface FailedJob {
  id: string;
  name: string;
  /** Tail of its last log, when one was stored. */
  logTail?: string;
  reason?: string;
}

const NONE: string[] = [];

/** A job's predecessors. */
function predecessorsOf(node: LeaderJob): JobPredecessor[] {
  if (node.parents) return node.parents;
  return node.parent === undefined ? [] : [{ id: node.parent, relation: node.relation ?? 'child' }];
}
const requirementsSeen = new Map<string, Requirements>();

/** The leader keeps little per job: 100,000 pending jobs must fit in a few hundred MB. */
function toLeaderJob(record: JobRecord, recordJson?: string): LeaderJob {
  const body = record.body as JobBody;
  const r = record.requirements;
  const key = `${r.cores}/${r.memory}/${r.disk}/${r.preemptible}/${r.runtime ?? ''}`;
  let requirements = requirementsSeen.get(key);
  if (!requirements) requirementsSeen.set(key, (requirements = r));
  return {
    id: record.id,
    name: record.displayName,
    requirements,
    parent: body.parent,
    relation: body.relation,
    parents: body.parents,
    waitingOn: body.parents?.length ?? (body.parent === undefined ? 0 : 1),
    ran: body.ran,
    children: record.children.length === 0 ? NONE : record.children,
    followOns: record.followOns.length === 0 ? NONE : record.followOns,
    pendingChildren: 0,
    pendingFollowOns: 0,
    recordJson: recordJson ?? JSON.stringify(record),
    record: body.ran ? record : undefined,
    failed: false,
    frozenBy: undefined,
  };
}

/**
 * A checkpoint's record as it was before it ran (same version; the caller bumps it): no
 * successors, the promise files of its own consumers only (the ones its run added belong to
 * the discarded subtree).
 */
function resetCheckpointRecord(
  record: JobRecord,
  remainingTryCount: number,
  lastFailure: string | undefined,
): JobRecord {
  const { checkpointRun, ...body } = record.body as JobBody;
  return {
    ...record,
    state: 'ready',
    children: [],
    followOns: [],
    remainingTryCount,
    batchId: undefined,
    lastFailure,
    body: {
      ...body,
      ran: false,
      promiseFiles: checkpointRun?.promiseFiles ?? body.promiseFiles,
    } satisfies JobBody,
  };
}

function formatBytes(bytes: number): string {
  const gi = bytes / 1024 ** 3;
  return gi >= 1 ? `${gi.toFixed(1)} Gi` : `${(bytes / 1024 ** 2).toFixed(1)} Mi`;
}

/**
 * The leader of one run attempt: issues ready jobs within the resource limits, records each
 * job's completion durably before issuing its successors, retries failed jobs, and keeps the
 * store's leader info, summary, outcome and leader stats current. Stops (killing every running
 * job) on SIGINT/SIGTERM or the store's kill flag.
 */
export class Leader {
  private readonly nodes = new Map<string, LeaderJob>();
  private ready: string[] = [];
  private readyHead = 0;
  private readonly issued = new Map<string, string>();
  private completed = 0;
  private failed: LeaderJob[] = [];
  private pendingDeletes: string[] = [];
  /** Files deleted by checkpoints whose subtrees completed in the pending delete batch. */
  private checkpointFiles: string[] = [];
  /** Checkpoints to run again, by id. */
  private readonly restarting = new Map<string, PendingRestart>();
  /** Ran jobs some of whose successors finished since their record was last written. */
  private readonly dirtyParents = new Set<string>();
  private lastPrune = 0;
  private lastHugePrune = 0;
  private readonly inflight = new Set<Promise<void>>();
  private inflightError: unknown;
  private stopReason: string | undefined;
  private killedByFlag = false;
  private readonly started = performance.now();
  private readonly cpuAtStart = totalCpuSeconds();
  private lastPids = '';
  private summaryDirty = true;
  private readonly s: LeaderSettings;

  constructor(settings: LeaderSettings) {
    this.s = settings;
  }

  /** Adds freshly stored jobs (a new workflow's graph) and queues the root. */
  seed(records: JobRecord[]): void {
    for (const record of records) this.nodes.set(record.id, toLeaderJob(record));
    this.enqueue(this.s.rootId);
  }

  /**
   * Rebuilds the leader's view from the store after a crash or kill: deletes jobs no longer
   * reachable from the root, resets try counts, and queues every job whose predecessor's
   * completion is recorded. Jobs whose completion was recorded are not run again.
   */
  async loadForRestart(): Promise<void> {
    const { store, config, host } = this.s;
    const records = new Map<string, JobRecord>();
    for await (const record of store.listJobs()) records.set(record.id, record);
    const reachable = new Set<string>();
    const resetCheckpoints = new Set<string>();
    const stack = [this.s.rootId];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const record = records.get(id);
      if (!record || reachable.has(id)) continue;
      reachable.add(id);
      if (record.checkpoint && (record.body as JobBody).ran) {
        // Its subtree did not complete: it runs again and its successors, no longer reachable,
        // are deleted below (as Toil's restartCheckpoint in clean()).
        const reset = resetCheckpointRecord(record, record.remainingTryCount, record.lastFailure);
        records.set(id, reset);
        resetCheckpoints.add(id);
        report(
          host,
          'info',
          'WORKFLOW_CHECKPOINT_RESTARTED',
          `Restarting checkpoint job '${record.displayName}' ${id}: its subtree did not complete, so its successors are discarded and it runs again.`,
          { jobId: id },
          SOURCE,
        );
        continue;
      }
      stack.push(...record.children, ...record.followOns);
    }
    await this.killStaleAttempts(records.values());
    const writes: JobWrite[] = [];
    for (const [id, record] of records) {
      if (!reachable.has(id)) {
        writes.push({ op: 'delete', id });
        continue;
      }
      const tries = config.retryCount + 1;
      const ran = (record.body as JobBody).ran;
      const state = ran ? 'completed' : 'waiting';
      // Successors that finished (their records are gone) leave the lists, as in Toil's clean().
      const children = record.children.filter((c) => records.has(c));
      const followOns = record.followOns.filter((c) => records.has(c));
      let current = record;
      if (
        resetCheckpoints.has(id) ||
        record.remainingTryCount !== tries ||
        record.state !== state ||
        record.batchId !== undefined ||
        children.length !== record.children.length ||
        followOns.length !== record.followOns.length
      ) {
        report(
          host,
          'debug',
          'WORKFLOW_JOB_REPAIRED',
          `Repairing job: ${id}`,
          { jobId: id },
          SOURCE,
        );
        current = {
          ...record,
          remainingTryCount: tries,
          state,
          children,
          followOns,
          batchId: undefined,
          version: record.version + 1,
        };
        writes.push({ op: 'put', record: current });
      }
      this.nodes.set(id, toLeaderJob(current));
    }
    if (writes.length > 0) await store.commit(writes);
    // Ran jobs wait for their unfinished successors; a job that did not run is ready once
    // every predecessor still stored released it (ran; for a follow-on, its children are done).
    for (const node of this.nodes.values()) {
      if (!node.ran) continue;
      node.children = node.children.filter((id) => this.nodes.has(id));
      node.followOns = node.followOns.filter((id) => this.nodes.has(id));
      node.pendingChildren = node.children.length;
      if (node.children.length > 0) continue;
      node.pendingFollowOns = node.followOns.length;
      if (node.followOns.length === 0) this.pendingDeletes.push(node.id);
    }
    for (const node of this.nodes.values()) {
      if (node.ran) continue;
      node.waitingOn = predecessorsOf(node).filter((p) => {
        const pred = this.nodes.get(p.id);
        return pred && !(pred.ran && (p.relation === 'child' || pred.pendingChildren === 0));
      }).length;
      if (node.waitingOn === 0) this.enqueue(node.id);
    }
  }

  /**
   * Asks the batch system to kill attempts of the previous leader that may still run (records
   * left `running` with a batch id), so that rerunning them does not duplicate work. Only for
   * the batch system that issued them; one without `killStale` (single machine: workers die
   * with their leader) ignores them.
   */
  private async killStaleAttempts(records: Iterable<JobRecord>): Promise<void> {
    const { batchSystem, host } = this.s;
    if (!batchSystem.killStale) return;
    if (this.s.previousBatchSystem !== batchSystem.name) return;
    const stale: string[] = [];
    for (const record of records) {
      if (record.state === 'running' && record.batchId !== undefined) stale.push(record.batchId);
    }
    if (stale.length === 0) return;
    report(
      host,
      'info',
      'WORKFLOW_KILLING_STALE',
      `Killing ${stale.length} job(s) the previous leader may have left running: ${stale.join(', ')}`,
      { batchIds: stale },
      SOURCE,
    );
    try {
      await batchSystem.killStale(stale);
    } catch (error) {
      report(
        host,
        'warning',
        'WORKFLOW_STALE_NOT_KILLED',
        `Could not kill the previous leader's jobs ${stale.join(', ')}: ${error instanceof Error ? error.message : String(error)}; they may run twice.`,
        { batchIds: stale },
        SOURCE,
      );
    }
  }

  /**
   * Runs until every job completed (resolves), some jobs failed for good (throws
   * `WORKFLOW_FAILED` after recording the outcome) or the run is stopped (throws
   * `WORKFLOW_KILLED`).
   */
  async run(): Promise<void> {
    const { store, batchSystem } = this.s;
    this.completed = this.s.completedBefore;
    const onSignal = (signal: NodeJS.Signals) => {
      this.stopReason ??= `received ${signal}`;
      batchSystem.interrupt?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    await this.writeLeaderInfo(true);
    let lastKillCheck = 0;
    let lastSummary = 0;
    let lastMessages = performance.now();
    try {
      for (;;) {
        if (this.inflightError) throw this.inflightError;
        const now = performance.now();
        if (now - lastKillCheck >= 1000) {
          lastKillCheck = now;
          if (await store.getKillFlag()) {
            this.killedByFlag = true;
            this.stopReason ??= 'the job store kill flag is set (toil kill)';
          }
        }
        if (this.stopReason) return await this.stop(this.stopReason);
        await this.restartCheckpoints();
        await this.issueReady();
        await this.writeLeaderInfo(false);
        if (this.summaryDirty && now - lastSummary >= 1000) {
          lastSummary = now;
          await this.writeSummary();
        }
        if (now - lastMessages >= 2000) {
          lastMessages = now;
          await this.relayMessages();
        }
        this.flushDeletes();
        if (this.dirtyParents.size > 0 && now - this.lastPrune >= 1000) {
          this.background(this.prunedParents(true));
        }
        if (this.issued.size === 0) {
          if (this.inflight.size > 0) {
            await Promise.race(this.inflight);
            continue;
          }
          if (this.readyHead >= this.ready.length && this.pendingDeletes.length === 0) break;
          continue;
        }
        const finished = await batchSystem.poll(1000);
        for (const job of finished) await this.handleFinished(job);
      }
      await this.finish();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  private enqueue(id: string): void {
    this.ready.push(id);
    this.summaryDirty = true;
  }

  private async issueReady(): Promise<void> {
    // Records of the jobs issued in this pass, state `running` with their batch ids.
    const running: JobWrite[] = [];
    try {
      await this.issueReadyRecording(running);
    } finally {
      // A batch system that starts attempts only after this pass gets one commit for all of
      // them; it is called before any attempt starts, so the store orders it before anything
      // the workers write.
      this.background(running);
    }
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  private async issueReadyRecording(running: JobWrite[]): Promise<void> {
    const { batchSystem, limits } = this.s;
    while (this.readyHead < this.ready.length) {
      const id = this.ready[this.readyHead]!;
      const node = this.nodes.get(id);
      if (!node || node.frozenBy !== undefined) {
        this.readyHead++;
        continue;
      }
      const r = node.requirements;
      if (r.cores > limits.cores || r.memory > limits.memory || r.disk > limits.disk) {
        const over = [
          r.cores > limits.cores ? `${r.cores} cores (max ${limits.cores})` : '',
          r.memory > limits.memory
            ? `${formatBytes(r.memory)} of memory (max ${formatBytes(limits.memory)})`
            : '',
          r.disk > limits.disk
            ? `${formatBytes(r.disk)} of disk (max ${formatBytes(limits.disk)})`
            : '',
        ].filter(Boolean);
        throw new ToilError(
          'JOB_TOO_LARGE',
          `Job '${node.name}' (${node.id}) asks for ${over.join(', ')}, more than this workflow may use.`,
          {
            hint: 'Give the job smaller requirements, or raise --maxCores / --maxMemory / --maxDisk (the store is kept: rerun with --restart).',
            data: { jobId: node.id, job: node.name },
          },
        );
      }
      // The batch system runs issued jobs within the limits; the cap bounds its queue.
      if (this.issued.size >= MAX_IN_FLIGHT) break;
      this.readyHead++;
      const record = node.recordJson === undefined ? undefined : toRunning(node.recordJson);
      node.recordJson = undefined;
      const batchId = await batchSystem.issue({
        jobId: id,
        name: node.name,
        requirements: r,
        invocation: this.s.invocation(id),
        env: {},
        ...(batchSystem.local
          ? { local: { recordJson: record && JSON.stringify(record) } satisfies LocalIssue }
          : {}),
      });
      this.issued.set(batchId, id);
      if (record) {
        running.push({ op: 'put', record: withBatchId(record, batchId) });
        // The attempt may already run: record it now, before its worker can write (concurrent
        // commits share one fsync).
        if (!batchSystem.local?.startsAfterIssuing) this.background(running.splice(0));
      }
      report(
        this.s.host,
        'debug',
        'WORKFLOW_JOB_ISSUED',
        `Issued job '${node.name}' ${id} with job batch system ID: ${batchId} and cores: ${r.cores}, disk: ${formatBytes(r.disk)}, memory: ${formatBytes(r.memory)}`,
        { jobId: id, batchId },
        SOURCE,
      );
      this.summaryDirty = true;
    }
  }

  private async handleFinished(finished: FinishedJob): Promise<void> {
    const id = this.issued.get(finished.batchId) ?? finished.jobId;
    this.issued.delete(finished.batchId);
    this.summaryDirty = true;
    const node = this.nodes.get(id);
    if (!node) return;
    if (finished.exitCode !== 0) return this.handleFailure(node, finished);
    const local = finished.local as LocalResult | undefined;
    let result: AttemptResult | undefined = local?.result;
    if (!result) {
      const record = await this.s.store.tryLoadJob(id);
      if (record && !(record.body as JobBody).ran) {
        return this.handleFailure(node, {
          ...finished,
          exitCode: 1,
          reason: 'the worker exited 0 without recording the job as done',
        });
      }
      result = { record: record ?? null, createdJson: [], deferredDelete: false };
    }
    if (result.record === null) {
      if (result.deferredDelete) this.pendingDeletes.push(id);
      else this.complete(id);
      return;
    }
    for (const json of result.createdJson) {
      const created = JSON.parse(json) as JobRecord;
      this.nodes.set(created.id, toLeaderJob(created, json));
    }
    const record = result.record;
    const unknown = [...record.children, ...record.followOns].filter((c) => !this.nodes.has(c));
    for (const childId of unknown) {
      const child = await this.s.store.tryLoadJob(childId);
      if (child) this.nodes.set(child.id, toLeaderJob(child));
    }
    node.ran = true;
    node.record = record;
    node.children = record.children.filter((c) => this.nodes.has(c));
    node.followOns = record.followOns.filter((c) => this.nodes.has(c));
    node.pendingChildren = node.children.length;
    const chained = new Map((local?.chained ?? []).map((c) => [c.jobId, c.batchId]));
    if (node.frozenBy !== undefined) {
      // Its checkpoint runs again: what it stored goes with the rest of the subtree.
      for (const [child, batchId] of chained) this.issued.set(batchId, child);
      for (const successor of [...node.children, ...node.followOns]) {
        this.freeze(successor, node.frozenBy);
      }
      return;
    }
    for (const child of node.children) {
      const batchId = chained.get(child);
      // The batch system already runs it on the same worker: track it as issued.
      if (batchId !== undefined) this.issued.set(batchId, child);
      else this.release(child);
    }
    if (node.pendingChildren === 0) this.startFollowOns(node);
  }

  private startFollowOns(node: LeaderJob): void {
    node.pendingFollowOns = node.followOns.length;
    if (node.followOns.length === 0) {
      this.pendingDeletes.push(node.id);
      return;
    }
    for (const followOn of node.followOns) this.release(followOn);
  }

  /** One predecessor of `id` is done with it: queue it once all of them are. */
  private release(id: string): void {
    const node = this.nodes.get(id);
    if (!node) return;
    node.waitingOn--;
    if (node.waitingOn <= 0) this.enqueue(id);
  }

  /**
   * Marks a job done in memory (it ran and all its successors are done). A predecessor that
   * thereby becomes done joins `batch` (its record is deleted in the same commit); one whose
   * follow-ons may now start goes to `afterCommit`: follow-ons are issued only once the
   * deletions that make them runnable are durable.
   */
  private completeInMemory(id: string, batch: string[], afterCommit: LeaderJob[]): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.nodes.delete(id);
    this.completed++;
    const checkpointRun = (node.record?.body as JobBody | undefined)?.checkpointRun;
    if (checkpointRun) this.checkpointFiles.push(...checkpointRun.filesToDelete);
    this.summaryDirty = true;
    for (const { id: parentId, relation } of predecessorsOf(node)) {
      const parent = this.nodes.get(parentId);
      if (!parent) continue;
      if (relation === 'followOn') {
        parent.pendingFollowOns--;
        if (parent.pendingFollowOns === 0) batch.push(parent.id);
        else this.dirtyParents.add(parent.id);
        continue;
      }
      parent.pendingChildren--;
      if (parent.pendingChildren === 0 && parent.ran && parent.followOns.length === 0) {
        batch.push(parent.id);
        continue;
      }
      if (parent.pendingChildren === 0 && parent.ran) afterCommit.push(parent);
      this.dirtyParents.add(parent.id);
    }
  }

  /**
   * Rewrites the records of ran jobs whose successors finished so that their `children` and
   * `followOns` list only unfinished jobs (what `toil status` counts). Large parents are
   * rewritten at most once a second (`all`), huge ones every 10 s, so a 100,000-job fan-out
   * does not rewrite its root on every batch.
   */
  private prunedParents(all: boolean): JobWrite[] {
    const puts: JobWrite[] = [];
    const now = performance.now();
    if (all) this.lastPrune = now;
    const huge = all && now - this.lastHugePrune >= 10000;
    if (huge) this.lastHugePrune = now;
    for (const id of this.dirtyParents) {
      const node = this.nodes.get(id);
      const record = node?.record;
      if (!record) {
        this.dirtyParents.delete(id);
        continue;
      }
      const size = record.children.length + record.followOns.length;
      if ((!all && size > LARGE_PARENT) || (!huge && size > HUGE_PARENT)) continue;
      this.dirtyParents.delete(id);
      const children = record.children.filter((c) => this.nodes.has(c));
      const followOns = record.followOns.filter((c) => this.nodes.has(c));
      if (
        children.length === record.children.length &&
        followOns.length === record.followOns.length
      ) {
        continue;
      }
      node.record = { ...record, children, followOns, version: record.version + 1 };
      puts.push({ op: 'put', record: node.record });
    }
    return puts;
  }

  /** Commits `writes` in the background; the run loop fails with the first error. */
  private background(writes: JobWrite[], then?: () => void): void {
    if (writes.length === 0) return;
    this.track(this.s.store.commit(writes).then(then));
  }

  /** Tracks background work: `finish` waits for it, the run loop fails with its first error. */
  private track(work: Promise<void>): void {
    const task = work
      .catch((error: unknown) => {
        this.inflightError ??= error;
      })
      .finally(() => {
        this.inflight.delete(task);
        this.s.batchSystem.interrupt?.();
      });
    this.inflight.add(task);
  }

  /** A job whose record the worker already deleted is done. */
  private complete(id: string): void {
    const afterCommit: LeaderJob[] = [];
    this.completeInMemory(id, this.pendingDeletes, afterCommit);
    for (const parent of afterCommit) this.startFollowOns(parent);
  }

  /**
   * Deletes completed jobs' records in one commit, in the background, together with every
   * predecessor that their completion completes; starts follow-ons once it is durable.
   */
  private flushDeletes(): void {
    if (this.pendingDeletes.length === 0) return;
    const batch = this.pendingDeletes;
    this.pendingDeletes = [];
    const afterCommit: LeaderJob[] = [];
    for (let i = 0; i < batch.length; i++) this.completeInMemory(batch[i]!, batch, afterCommit);
    const pruned = this.prunedParents(performance.now() - this.lastPrune >= 1000);
    const files = this.checkpointFiles;
    this.checkpointFiles = [];
    this.background([...pruned, ...batch.map((id) => ({ op: 'delete' as const, id }))], () => {
      // Only now that the checkpoints' records are gone can they never run again.
      if (files.length > 0) this.track(deleteRequestedFiles(this.s.store, files));
      for (const parent of afterCommit) this.startFollowOns(parent);
      this.flushDeletes();
    });
  }

  private async handleFailure(node: LeaderJob, finished: FinishedJob): Promise<void> {
    const { store, host } = this.s;
    const record = await store.tryLoadJob(node.id);
    // The worker died after recording the job's completion: it is done, never rerun.
    if (!record) {
      this.complete(node.id);
      return;
    }
    if ((record.body as JobBody).ran) {
      report(
        host,
        'warning',
        'WORKFLOW_REPORT_LOST',
        `Job '${node.name}' ${node.id} completed, but its worker failed afterwards (${finished.reason ?? `exit code ${finished.exitCode}`}); not running it again.`,
        { jobId: node.id },
        SOURCE,
      );
      await this.handleFinished({
        ...finished,
        exitCode: 0,
        failure: undefined,
        reason: undefined,
        local: undefined,
      });
      return;
    }
    const reason = finished.reason ?? record.lastFailure ?? `exit code ${finished.exitCode}`;
    if (node.frozenBy !== undefined) {
      report(
        host,
        'debug',
        'WORKFLOW_JOB_DISCARDED',
        `Job '${node.name}' ${node.id} failed (${reason}); not retried: its checkpoint runs again.`,
        { jobId: node.id },
        SOURCE,
      );
      return;
    }
    report(
      host,
      'warning',
      'WORKFLOW_JOB_FAILED',
      `Job '${node.name}' ${node.id} failed: ${reason}`,
      { jobId: node.id, exitCode: finished.exitCode },
      SOURCE,
    );
    const tries = Math.max(0, record.remainingTryCount - 1);
    const lastFailure = reason;
    if (tries > 0) {
      report(
        host,
        'warning',
        'WORKFLOW_JOB_RETRY',
        `Due to failure we are reducing the remaining try count of job '${node.name}' with ID ${node.id} to ${tries}`,
        { jobId: node.id, remainingTryCount: tries },
        SOURCE,
      );
      const updated: JobRecord = {
        ...record,
        remainingTryCount: tries,
        state: 'ready',
        batchId: undefined,
        lastFailure,
        version: record.version + 1,
      };
      await store.commit([{ op: 'put', record: updated }]);
      node.recordJson = JSON.stringify(updated);
      this.enqueue(node.id);
      return;
    }
    const updated: JobRecord = {
      ...record,
      remainingTryCount: 0,
      state: 'failed',
      batchId: undefined,
      lastFailure,
      version: record.version + 1,
    };
    await store.commit([{ op: 'put', record: updated }]);
    report(
      host,
      'warning',
      'WORKFLOW_JOB_TOTALLY_FAILED',
      `Job '${node.name}' ${node.id} is completely failed`,
      { jobId: node.id },
      SOURCE,
    );
    node.failed = true;
    this.failed.push(node);
    await this.restartCheckpointsAbove(node);
  }

  /**
   * After `failed` failed for good: every nearest checkpoint above it that has tries left is
   * to run again (once its subtree's running jobs finished); nothing more of its subtree is
   * issued. Above a checkpoint without tries the failure goes on up, as in Toil.
   */
  private async restartCheckpointsAbove(failed: LeaderJob): Promise<void> {
    const { store, host } = this.s;
    const seen = new Set<string>();
    const walk = [failed];
    while (walk.length > 0) {
      for (const { id } of predecessorsOf(walk.pop()!)) {
        if (seen.has(id)) continue;
        seen.add(id);
        const job = this.nodes.get(id);
        if (!job || job.frozenBy !== undefined) continue;
        const pending = this.restarting.get(id);
        if (pending) {
          pending.causes.push(failed.name);
          continue;
        }
        // A ran job keeps its record: a checkpoint that ran is one a restart can run again.
        if (job.record?.checkpoint) {
          const record = await store.tryLoadJob(id);
          const tries = (record?.remainingTryCount ?? 0) - 1;
          if (tries > 0) {
            this.restarting.set(id, { tries, causes: [failed.name] });
            for (const successor of [...job.children, ...job.followOns]) this.freeze(successor, id);
            report(
              host,
              'warning',
              'WORKFLOW_CHECKPOINT_RESTARTING',
              `Job '${failed.name}' ${failed.id} failed for good: checkpoint job '${job.name}' ${id} will discard its subtree and run again (remaining try count ${tries}).`,
              { jobId: id, failedJobId: failed.id, remainingTryCount: tries },
              SOURCE,
            );
            continue;
          }
          if (record) {
            await store.commit([
              {
                op: 'put',
                record: {
                  ...record,
                  version: record.version + 1,
                  state: 'failed',
                  remainingTryCount: 0,
                  lastFailure: `job '${failed.name}' in its subtree failed and it has no tries left`,
                },
              },
            ]);
          }
          job.failed = true;
          this.failed.push(job);
          report(
            host,
            'warning',
            'WORKFLOW_CHECKPOINT_EXHAUSTED',
            `Job '${failed.name}' ${failed.id} failed for good and checkpoint job '${job.name}' ${id} has no tries left: it fails too.`,
            { jobId: id, failedJobId: failed.id },
            SOURCE,
          );
        }
        walk.push(job);
      }
    }
  }

  /** Marks `id` and everything below it as discarded by the restart of `checkpoint`. */
  private freeze(id: string, checkpoint: string): void {
    const walk = [id];
    while (walk.length > 0) {
      const job = this.nodes.get(walk.pop()!);
      if (!job || job.frozenBy === checkpoint) continue;
      job.frozenBy = checkpoint;
      // A checkpoint inside the subtree is discarded with it instead of running again.
      this.restarting.delete(job.id);
      walk.push(...job.children, ...job.followOns);
    }
  }

  /**
   * Runs again every checkpoint to restart whose subtree has no job running any more: one
   * commit deletes the subtree's records and resets the checkpoint to its state before it ran.
   */
  private async restartCheckpoints(): Promise<void> {
    if (this.restarting.size === 0) return;
    const busy = new Set<string>();
    for (const jobId of this.issued.values()) {
      const frozenBy = this.nodes.get(jobId)?.frozenBy;
      if (frozenBy !== undefined) busy.add(frozenBy);
    }
    for (const [id, pending] of [...this.restarting]) {
      if (!busy.has(id)) await this.restartCheckpoint(id, pending);
    }
  }

  private async restartCheckpoint(id: string, pending: PendingRestart): Promise<void> {
    const { store, host } = this.s;
    this.restarting.delete(id);
    // Background commits (running records, completions) of the subtree land before its deletion.
    await this.settle();
    if (this.inflightError) throw this.inflightError;
    const node = this.nodes.get(id);
    const record = await store.tryLoadJob(id);
    if (!node || !record) return;
    const discarded = new Set<string>();
    for (const job of this.nodes.values()) if (job.frozenBy === id) discarded.add(job.id);
    const causes = [...new Set(pending.causes)].map((name) => `'${name}'`).join(', ');
    const reset: JobRecord = {
      ...resetCheckpointRecord(record, pending.tries, `job ${causes} in its subtree failed`),
      version: record.version + 1,
    };
    await store.commit([
      { op: 'put', record: reset },
      ...[...discarded].map((jobId) => ({ op: 'delete' as const, id: jobId })),
    ]);
    for (const jobId of discarded) {
      this.nodes.delete(jobId);
      this.dirtyParents.delete(jobId);
    }
    this.pendingDeletes = this.pendingDeletes.filter((jobId) => !discarded.has(jobId));
    this.failed = this.failed.filter((job) => !discarded.has(job.id));
    Object.assign(node, {
      ran: false,
      children: NONE,
      followOns: NONE,
      pendingChildren: 0,
      pendingFollowOns: 0,
      record: undefined,
      recordJson: JSON.stringify(reset),
      failed: false,
    } satisfies Partial<LeaderJob>);
    this.enqueue(id);
    report(
      host,
      'warning',
      'WORKFLOW_CHECKPOINT_RESTARTED',
      `Restarting checkpoint job '${node.name}' ${id} after the failure of ${causes}: discarded ${discarded.size} job(s) of its subtree.`,
      { jobId: id, discarded: discarded.size },
      SOURCE,
    );
  }

  private async writeLeaderInfo(force: boolean): Promise<void> {
    const pids = this.s.batchSystem.local?.pids() ?? [];
    const key = pids.join(',');
    if (!force && key === this.lastPids) return;
    this.lastPids = key;
    await this.s.store.setLeader({
      pid: process.pid,
      nodeId: localNodeId(),
      hostname: hostname(),
      startedAt: Date.now() / 1000 - (performance.now() - this.started) / 1000,
      attempt: this.s.config.attempt,
      workerPids: pids.filter((p) => p > 0),
    });
  }

  private async writeSummary(): Promise<void> {
    this.summaryDirty = false;
    // Counted as a walk of the store counts: records whose successor lists are not empty.
    let withChildren = 0;
    for (const node of this.nodes.values()) {
      const lists = node.record ?? node;
      if (lists.children.length + lists.followOns.length > 0) withChildren++;
    }
    let failedCount = 0;
    for (const node of this.nodes.values()) if (node.failed) failedCount++;
    await this.s.store.writeSummary({
      v: 1,
      updatedAt: Date.now() / 1000,
      attempt: this.s.config.attempt,
      unfinished: this.nodes.size,
      withChildren,
      withServices: 0,
      services: 0,
      totallyFailed: failedCount,
      running: this.issued.size,
      ready: Math.max(0, this.ready.length - this.readyHead),
      completed: this.completed,
    });
  }

  /** Logs what jobs sent with `logToLeader` (Toil's "Got message from job"). */
  private async relayMessages(): Promise<void> {
    for await (const record of this.s.store.readStats({ unreadOnly: true })) {
      if (record.kind !== 'worker') continue;
      for (const message of record.messages) {
        report(
          this.s.host,
          message.level,
          'WORKFLOW_JOB_MESSAGE',
          `Got message from job at time ${new Date(record.time * 1000).toISOString()}: ${message.text}`,
          { jobId: message.jobId },
          SOURCE,
        );
      }
    }
  }

  private async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private async appendLeaderStats(): Promise<void> {
    if (!this.s.config.stats) return;
    await this.s.store.appendStats({
      v: 1,
      kind: 'leader',
      time: Date.now() / 1000,
      attempt: this.s.config.attempt,
      totalTime: (performance.now() - this.started) / 1000,
      totalClock: Math.max(0, totalCpuSeconds() - this.cpuAtStart),
    });
  }

  private async stop(reason: string): Promise<never> {
    const { store, batchSystem, host, config } = this.s;
    report(
      host,
      'warning',
      'WORKFLOW_STOPPING',
      `Stopping the workflow: ${reason}; killing running jobs.`,
      undefined,
      SOURCE,
    );
    const issued = batchSystem.running();
    // Attempts still queued in the batch system never ran: only the started ones are killed.
    const killedBatchIds = batchSystem.started?.() ?? issued;
    const notStarted = issued.length - killedBatchIds.length;
    await batchSystem.shutdown();
    await this.settle();
    this.issued.clear();
    await this.appendLeaderStats();
    await this.relayMessages().catch(() => undefined);
    await store.setOutcome({
      result: 'killed',
      attempt: config.attempt,
      time: Date.now() / 1000,
      failedJobs: [],
      killedBatchIds,
    });
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

  private async readLogTail(logFileId: string | undefined): Promise<string | undefined> {
    if (!logFileId) return undefined;
    try {
      const log = await text(await this.s.store.readFileStream(logFileId));
      const lines = log.trimEnd().split('\n');
      return lines.slice(-30).join('\n');
    } catch {
      return undefined;
    }
  }

  private async finish(): Promise<void> {
    const { store, batchSystem, host, config } = this.s;
    await batchSystem.shutdown();
    await this.settle();
    if (this.inflightError) throw this.inflightError;
    await this.relayMessages();
    const failedJobs: FailedJob[] = [];
    if (this.failed.length > 0) {
      // Predecessors of failed jobs can never finish: they fail too (as in Toil).
      const blocked = new Set<LeaderJob>();
      const walk = [...this.failed];
      while (walk.length > 0) {
        for (const { id } of predecessorsOf(walk.pop()!)) {
          const parent = this.nodes.get(id);
          if (!parent || parent.failed || blocked.has(parent)) continue;
          blocked.add(parent);
          walk.push(parent);
        }
      }
      const writes: Parameters<JobStore['commit']>[0] = [];
      for (const node of blocked) {
        const record = await store.tryLoadJob(node.id);
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
        node.failed = true;
      }
      if (writes.length > 0) await store.commit(writes);
      for (const node of [...this.failed, ...blocked]) {
        const record = await store.tryLoadJob(node.id);
        failedJobs.push({
          id: node.id,
          name: node.name,
          reason: record?.lastFailure,
          logTail: await this.readLogTail(record?.logFileId),
        });
      }
    }
    await this.appendLeaderStats();
    const result = failedJobs.length > 0 ? 'failed' : 'succeeded';
    await store.setOutcome({
      result,
      attempt: config.attempt,
      time: Date.now() / 1000,
      failedJobs: failedJobs.map(({ id, name }) => ({ id, name })),
    });
    await this.writeSummary();
    if (result === 'succeeded') {
      report(
        host,
        'info',
        'WORKFLOW_SUCCEEDED',
        'Finished toil run successfully.',
        undefined,
        SOURCE,
      );
      return;
    }
    for (const job of failedJobs) {
      if (!job.logTail) continue;
      report(
        host,
        'error',
        'WORKFLOW_JOB_LOG',
        `Log from job "${job.name}" (${job.id}) follows:\n=========>\n${job.logTail.replace(/^/gm, '\t')}\n<=========`,
        { jobId: job.id },
        SOURCE,
      );
    }
    report(
      host,
      'info',
      'WORKFLOW_FAILED',
      `Finished toil run with ${failedJobs.length} failed jobs.`,
      undefined,
      SOURCE,
    );
    throw new ToilError(
      'WORKFLOW_FAILED',
      `The job store '${store.locator}' contains ${failedJobs.length} failed job${failedJobs.length === 1 ? '' : 's'}: ${failedJobs
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
}
