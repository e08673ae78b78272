import type { JobRecord, JobWrite, Requirements } from '@toil/jobstore';
import type { JobBody, JobPredecessor } from '../serialize.js';

/** What the leader keeps per job: 100,000 pending jobs must fit in a few hundred MB. */
export interface GraphJob {
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

/** Counts for the store's summary (`toil status`). */
export interface GraphCounts {
  unfinished: number;
  /** Jobs whose stored successor lists are not empty. */
  withChildren: number;
  totallyFailed: number;
  ready: number;
  completed: number;
}

/** What {@link JobGraph.takeDeletes} hands to the commit: records to delete, and what follows. */
export interface DeleteBatch {
  /** Ids of the completed jobs whose records the commit deletes. */
  ids: string[];
  /** Jobs whose follow-ons may start once the deletions are durable. */
  afterCommit: GraphJob[];
  /** Files deleted by checkpoints whose subtrees completed in this batch. */
  checkpointFiles: string[];
}

/** What restoring the graph from stored records changes in the store. */
export interface RestoredGraph {
  /** Deletes of unreachable records, puts of repaired ones. */
  writes: JobWrite[];
  /** Checkpoints that ran but whose subtree did not complete: they run again. */
  resetCheckpoints: JobRecord[];
  /** Ids of the records the restore rewrote (try counts, states, lists). */
  repaired: string[];
}

const NONE: string[] = [];

/** A job's predecessors. */
export function predecessorsOf(job: GraphJob): JobPredecessor[] {
  if (job.parents) return job.parents;
  return job.parent === undefined ? [] : [{ id: job.parent, relation: job.relation ?? 'child' }];
}

/**
 * A checkpoint's record as it was before it ran (same version; the caller bumps it): no
 * successors, the promise files of its own consumers only (the ones its run added belong to
 * the discarded subtree).
 */
export function resetCheckpointRecord(
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

/**
 * The workflow's job graph as the leader schedules it: which jobs wait on which, which are
 * ready, which completed and whose records may go. Pure: no store, no batch system, no clock;
 * the leader turns what it returns into commits and issues.
 */
export class JobGraph {
  private readonly nodes = new Map<string, GraphJob>();
  private ready: string[] = [];
  private readyHead = 0;
  private pendingDeletes: string[] = [];
  private checkpointFiles: string[] = [];
  /** Ran jobs some of whose successors finished since their record was last written. */
  private readonly dirtyParents = new Set<string>();
  private readonly requirementsSeen = new Map<string, Requirements>();
  private failedJobs: GraphJob[] = [];
  /** Jobs completed (in this attempt and, as given to the constructor, earlier ones). */
  completed: number;

  constructor(completedBefore = 0) {
    this.completed = completedBefore;
  }

  /** The job with this id while it is unfinished. */
  get(id: string): GraphJob | undefined {
    return this.nodes.get(id);
  }

  /** True while the job is unfinished. */
  has(id: string): boolean {
    return this.nodes.has(id);
  }

  /** Every unfinished job. */
  jobs(): IterableIterator<GraphJob> {
    return this.nodes.values();
  }

  /** Number of unfinished jobs. */
  get size(): number {
    return this.nodes.size;
  }

  /** Jobs that failed for good (and were not discarded by a checkpoint restart). */
  get failed(): readonly GraphJob[] {
    return this.failedJobs;
  }

  /** Adds (or replaces) a stored job; `recordJson` saves re-serializing it. */
  add(record: JobRecord, recordJson?: string): GraphJob {
    const body = record.body as JobBody;
    const r = record.requirements;
    const key = `${r.cores}/${r.memory}/${r.disk}/${r.preemptible}/${r.runtime ?? ''}`;
    let requirements = this.requirementsSeen.get(key);
    if (!requirements) this.requirementsSeen.set(key, (requirements = r));
    const job: GraphJob = {
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
    this.nodes.set(record.id, job);
    return job;
  }

  /** Adds a new workflow's stored jobs and makes the root ready. */
  seed(records: Iterable<JobRecord>, rootId: string): void {
    for (const record of records) this.add(record);
    this.enqueue(rootId);
  }

  /** Makes a job ready to issue. */
  enqueue(id: string): void {
    this.ready.push(id);
  }

  /** Number of ready jobs not yet taken. */
  get readyCount(): number {
    return Math.max(0, this.ready.length - this.readyHead);
  }

  /**
   * The next ready job to issue (skipping ones finished or discarded meanwhile), without
   * taking it: call {@link JobGraph.take} once it is issued.
   */
  peekReady(): GraphJob | undefined {
    while (this.readyHead < this.ready.length) {
      const job = this.nodes.get(this.ready[this.readyHead]!);
      if (job && job.frozenBy === undefined) return job;
      this.readyHead++;
    }
    if (this.readyHead > 1024) {
      this.ready = [];
      this.readyHead = 0;
    }
    return undefined;
  }

  /** Takes the job {@link JobGraph.peekReady} returned off the ready queue. */
  take(): void {
    this.readyHead++;
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  /** True when nothing is ready and no completed record waits to be deleted. */
  get idle(): boolean {
    return this.peekReady() === undefined && this.pendingDeletes.length === 0;
  }

  /**
   * A job ran and its completion is stored as `record` (successors included); `created` are
   * the records its attempt stored (and successors the graph did not know). Its children
   * become ready (or, without children, its follow-ons); a discarded job's successors are
   * discarded with it.
   */
  ran(id: string, record: JobRecord, created: Array<{ record: JobRecord; json: string }>): void {
    const job = this.nodes.get(id);
    if (!job) return;
    for (const c of created) this.add(c.record, c.json);
    job.ran = true;
    job.name = record.displayName;
    job.record = record;
    job.children = record.children.filter((c) => this.nodes.has(c));
    job.followOns = record.followOns.filter((c) => this.nodes.has(c));
    job.pendingChildren = job.children.length;
    if (job.frozenBy !== undefined) {
      for (const successor of [...job.children, ...job.followOns]) {
        this.freeze(successor, job.frozenBy);
      }
      return;
    }
    for (const child of job.children) this.release(child);
    if (job.pendingChildren === 0) this.startFollowOns(job);
  }

  /** Successor ids of a job's stored record that the graph does not know (to load them). */
  unknownSuccessors(record: JobRecord): string[] {
    return [...record.children, ...record.followOns].filter((c) => !this.nodes.has(c));
  }

  /** A job completed and its worker already deleted its record. */
  completedWithoutRecord(id: string): void {
    const afterCommit: GraphJob[] = [];
    this.completeInMemory(id, this.pendingDeletes, afterCommit);
    for (const parent of afterCommit) this.startFollowOns(parent);
  }

  /** A job completed and its record is still stored: the leader deletes it in a batch. */
  completedWithRecord(id: string): void {
    this.pendingDeletes.push(id);
  }

  /**
   * Takes the completed jobs whose records are to be deleted, with every predecessor their
   * completion completes, or undefined when there are none. Their follow-ons are released by
   * {@link JobGraph.committed} once the deletion is durable.
   */
  takeDeletes(): DeleteBatch | undefined {
    if (this.pendingDeletes.length === 0) return undefined;
    const ids = this.pendingDeletes;
    this.pendingDeletes = [];
    const afterCommit: GraphJob[] = [];
    for (let i = 0; i < ids.length; i++) this.completeInMemory(ids[i]!, ids, afterCommit);
    const checkpointFiles = this.checkpointFiles;
    this.checkpointFiles = [];
    return { ids, afterCommit, checkpointFiles };
  }

  /** The deletions of `batch` are durable: follow-ons they were waiting for become ready. */
  committed(batch: DeleteBatch): void {
    for (const parent of batch.afterCommit) this.startFollowOns(parent);
  }

  private startFollowOns(job: GraphJob): void {
    job.pendingFollowOns = job.followOns.length;
    if (job.followOns.length === 0) {
      this.pendingDeletes.push(job.id);
      return;
    }
    for (const followOn of job.followOns) this.release(followOn);
  }

  /** One predecessor of `id` is done with it: it becomes ready once all of them are. */
  private release(id: string): void {
    const job = this.nodes.get(id);
    if (!job) return;
    job.waitingOn--;
    if (job.waitingOn <= 0) this.enqueue(id);
  }

  /**
   * Marks a job done (it ran and all its successors are done). A predecessor that thereby
   * becomes done joins `batch` (its record is deleted in the same commit); one whose
   * follow-ons may now start goes to `afterCommit`.
   */
  private completeInMemory(id: string, batch: string[], afterCommit: GraphJob[]): void {
    const job = this.nodes.get(id);
    if (!job) return;
    this.nodes.delete(id);
    this.completed++;
    const checkpointRun = (job.record?.body as JobBody | undefined)?.checkpointRun;
    if (checkpointRun) this.checkpointFiles.push(...checkpointRun.filesToDelete);
    for (const { id: parentId, relation } of predecessorsOf(job)) {
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

  /** True when some ran job's stored successor lists name finished jobs. */
  get hasDirtyParents(): boolean {
    return this.dirtyParents.size > 0;
  }

  /**
   * Puts that rewrite the records of ran jobs whose successors finished so that their
   * `children` and `followOns` list only unfinished jobs (what `toil status` counts). Parents
   * with more than `maxSize` successors are left for a later call.
   */
  prunedParents(maxSize: number): JobWrite[] {
    const puts: JobWrite[] = [];
    for (const id of this.dirtyParents) {
      const job = this.nodes.get(id);
      const record = job?.record;
      if (!record) {
        this.dirtyParents.delete(id);
        continue;
      }
      if (record.children.length + record.followOns.length > maxSize) continue;
      this.dirtyParents.delete(id);
      const children = record.children.filter((c) => this.nodes.has(c));
      const followOns = record.followOns.filter((c) => this.nodes.has(c));
      if (
        children.length === record.children.length &&
        followOns.length === record.followOns.length
      ) {
        continue;
      }
      job.record = { ...record, children, followOns, version: record.version + 1 };
      puts.push({ op: 'put', record: job.record });
    }
    return puts;
  }

  /** A job failed for good. */
  fail(job: GraphJob): void {
    job.failed = true;
    this.failedJobs.push(job);
  }

  /** Marks `id` and everything below it as discarded by the restart of `checkpoint`. */
  freeze(id: string, checkpoint: string): string[] {
    const frozen: string[] = [];
    const walk = [id];
    while (walk.length > 0) {
      const job = this.nodes.get(walk.pop()!);
      if (!job || job.frozenBy === checkpoint) continue;
      job.frozenBy = checkpoint;
      frozen.push(job.id);
      walk.push(...job.children, ...job.followOns);
    }
    return frozen;
  }

  /** Ids of the jobs the restart of `checkpoint` discards. */
  frozenBy(checkpoint: string): Set<string> {
    const discarded = new Set<string>();
    for (const job of this.nodes.values()) if (job.frozenBy === checkpoint) discarded.add(job.id);
    return discarded;
  }

  /**
   * The checkpoint `id` runs again as `reset` (its record before it ran): its discarded
   * subtree leaves the graph and it becomes ready.
   */
  restartCheckpoint(id: string, reset: JobRecord, discarded: Set<string>): void {
    const job = this.nodes.get(id);
    if (!job) return;
    for (const jobId of discarded) {
      this.nodes.delete(jobId);
      this.dirtyParents.delete(jobId);
    }
    this.pendingDeletes = this.pendingDeletes.filter((jobId) => !discarded.has(jobId));
    this.failedJobs = this.failedJobs.filter((j) => !discarded.has(j.id));
    Object.assign(job, {
      ran: false,
      children: NONE,
      followOns: NONE,
      pendingChildren: 0,
      pendingFollowOns: 0,
      record: undefined,
      recordJson: JSON.stringify(reset),
      failed: false,
    } satisfies Partial<GraphJob>);
    this.enqueue(id);
  }

  /** Unfinished jobs above the failed ones: they can never finish (as in Toil, they fail). */
  blockedByFailures(): GraphJob[] {
    const blocked = new Set<GraphJob>();
    const walk = [...this.failedJobs];
    while (walk.length > 0) {
      for (const { id } of predecessorsOf(walk.pop()!)) {
        const parent = this.nodes.get(id);
        if (!parent || parent.failed || blocked.has(parent)) continue;
        blocked.add(parent);
        walk.push(parent);
      }
    }
    return [...blocked];
  }

  /** The counts `toil status` shows, as a walk of the stored records would give them. */
  counts(): GraphCounts {
    let withChildren = 0;
    let totallyFailed = 0;
    for (const job of this.nodes.values()) {
      const lists = job.record ?? job;
      if (lists.children.length + lists.followOns.length > 0) withChildren++;
      if (job.failed) totallyFailed++;
    }
    return {
      unfinished: this.nodes.size,
      withChildren,
      totallyFailed,
      ready: this.readyCount,
      completed: this.completed,
    };
  }

  /**
   * Rebuilds the graph from the stored records of an interrupted attempt (Toil's restart
   * `clean()`): records no longer reachable from the root are to be deleted, a checkpoint that
   * ran but whose subtree did not complete is reset to run again (its subtree is unreachable
   * then), every other record gets `retryCount + 1` tries, the state its `ran` flag says, no
   * batch id, and successor lists without finished jobs. Ran jobs wait for their unfinished
   * successors; a job that did not run is ready once every stored predecessor released it.
   */
  restore(records: Map<string, JobRecord>, rootId: string, tries: number): RestoredGraph {
    const reachable = new Set<string>();
    const resetCheckpoints: JobRecord[] = [];
    const resetIds = new Set<string>();
    const stack = [rootId];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const record = records.get(id);
      if (!record || reachable.has(id)) continue;
      reachable.add(id);
      if (record.checkpoint && (record.body as JobBody).ran) {
        records.set(
          id,
          resetCheckpointRecord(record, record.remainingTryCount, record.lastFailure),
        );
        resetCheckpoints.push(record);
        resetIds.add(id);
        continue;
      }
      stack.push(...record.children, ...record.followOns);
    }
    const writes: JobWrite[] = [];
    const repaired: string[] = [];
    for (const [id, record] of records) {
      if (!reachable.has(id)) {
        writes.push({ op: 'delete', id });
        continue;
      }
      const state = (record.body as JobBody).ran ? 'completed' : 'waiting';
      // Successors that finished (their records are gone) leave the lists, as in Toil's clean().
      const children = record.children.filter((c) => records.has(c));
      const followOns = record.followOns.filter((c) => records.has(c));
      let current = record;
      if (
        resetIds.has(id) ||
        record.remainingTryCount !== tries ||
        record.state !== state ||
        record.batchId !== undefined ||
        children.length !== record.children.length ||
        followOns.length !== record.followOns.length
      ) {
        repaired.push(id);
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
      this.add(current);
    }
    for (const job of this.nodes.values()) {
      if (!job.ran) continue;
      job.children = job.children.filter((id) => this.nodes.has(id));
      job.followOns = job.followOns.filter((id) => this.nodes.has(id));
      job.pendingChildren = job.children.length;
      if (job.children.length > 0) continue;
      job.pendingFollowOns = job.followOns.length;
      if (job.followOns.length === 0) this.pendingDeletes.push(job.id);
    }
    for (const job of this.nodes.values()) {
      if (job.ran) continue;
      job.waitingOn = predecessorsOf(job).filter((p) => {
        const pred = this.nodes.get(p.id);
        return pred && !(pred.ran && (p.relation === 'child' || pred.pendingChildren === 0));
      }).length;
      if (job.waitingOn === 0) this.enqueue(job.id);
    }
    return { writes, resetCheckpoints, repaired };
  }
}
