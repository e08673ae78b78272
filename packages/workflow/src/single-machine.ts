import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { report } from '@toil/core';
import type { CleanPolicy, JobRecord, JobStore } from '@toil/jobstore';
import { toRunning, withBatchId } from './running-record.js';
import type { AttemptResult } from './worker-runtime.js';
import type { BatchSystem, BatchSystemContext, FinishedJob, IssuedJob } from './batch-system.js';
import { poolWorkerArgv } from './worker-command.js';
import { WorkerProcess } from './worker-process.js';

/** Settings of the single-machine batch system beyond the common context. */
export interface SingleMachineOptions {
  /** The open job store (failures are recorded on job records). */
  store: JobStore;
  /** Most workers at once. */
  poolSize: number;
  /** `pool`: reuse warm workers; `process`: a fresh worker per job. */
  isolation: 'pool' | 'process';
  /** Directory of this run's worker directories. */
  runDir: string;
  cleanWorkDir: CleanPolicy;
  /** Most cores, memory and disk (bytes) the running jobs may use together. */
  limits: { cores: number; memory: number; disk: number };
}

interface Running {
  issued: IssuedJob;
  batchId: string;
  worker: WorkerProcess;
  done: Promise<void>;
}

/**
 * Runs jobs on this machine in a pool of warm worker processes that load the workflow module
 * once and run many jobs each (or, with isolation `process`, a fresh process per job). Each
 * worker is its own process group: killing a job kills everything it started; a job that
 * crashes its worker (exit, signal, out-of-memory kill) fails only itself.
 */
export class SingleMachineBatchSystem implements BatchSystem {
  readonly name = 'single_machine';
  readonly startsAfterIssuing = true;
  private pumpScheduled = false;
  private readonly idle: WorkerProcess[] = [];
  private readonly workers = new Set<WorkerProcess>();
  private readonly queue: Array<{ issued: IssuedJob; batchId: string }> = [];
  private readonly runningJobs = new Map<string, Running>();
  private finished: FinishedJob[] = [];
  private wake: (() => void) | undefined;
  private nextId = 0;
  private workerCounter = 0;
  private stopping = false;
  private readonly used = { cores: 0, memory: 0, disk: 0 };
  /** Commits of chained jobs' `running` records not yet durable. */
  private readonly recording = new Set<Promise<void>>();

  constructor(
    private readonly context: BatchSystemContext,
    private readonly options: SingleMachineOptions,
  ) {
    mkdirSync(options.runDir, { recursive: true });
  }

  async issue(job: IssuedJob): Promise<string> {
    const batchId = String(++this.nextId);
    this.queue.push({ issued: job, batchId });
    // Started after the leader's issue pass (see startsAfterIssuing).
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    }
    return batchId;
  }

  async poll(timeoutMs: number): Promise<FinishedJob[]> {
    if (this.finished.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** Stops waiting in {@link SingleMachineBatchSystem.poll} now (e.g. on a signal). */
  interrupt(): void {
    this.wake?.();
  }

  async kill(batchIds: string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of batchIds) {
      const queued = this.queue.findIndex((q) => q.batchId === id);
      if (queued >= 0) {
        const [item] = this.queue.splice(queued, 1);
        this.finished.push({
          batchId: id,
          jobId: item!.issued.jobId,
          exitCode: 137,
          reason: 'killed before it started',
        });
        continue;
      }
      const running = this.runningJobs.get(id);
      if (running) {
        running.worker.kill();
        waits.push(running.done);
      }
    }
    await Promise.all(waits);
  }

  running(): string[] {
    return [...this.queue.map((q) => q.batchId), ...this.runningJobs.keys()];
  }

  /** Ids of the attempts running in a worker now (not the queued ones). */
  started(): string[] {
    return [...this.runningJobs.keys()];
  }

  /** Pids of the live worker processes. */
  localPids(): number[] {
    return [...this.workers].filter((w) => w.alive).map((w) => w.pid);
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    const busy = [...this.runningJobs.values()];
    for (const r of busy) r.worker.kill();
    await Promise.all(busy.map((r) => r.done));
    await Promise.all([...this.workers].map((w) => w.stop()));
    await Promise.all([...this.recording]);
    this.workers.clear();
    this.idle.length = 0;
    if (this.options.cleanWorkDir !== 'never') {
      rmSync(this.options.runDir, { recursive: true, force: true });
      try {
        rmdirSync(dirname(this.options.runDir));
      } catch {
        // other attempts' or workers' directories are still there
      }
    }
  }

  private spawnWorker(): WorkerProcess {
    const workerDir = join(this.options.runDir, `worker-${process.pid}-${++this.workerCounter}`);
    const worker = new WorkerProcess(
      poolWorkerArgv({
        jobStoreLocator: this.options.store.locator,
        workflowModule: this.context.workflowModule,
        workerDir,
      }),
      workerDir,
      this.options.store,
      process.env,
    );
    this.workers.add(worker);
    void worker.exited$().then(() => {
      this.workers.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return worker;
  }

  /**
   * The job to run next on the same worker without a trip through the leader (Toil's
   * chaining): the only successor of a finished job, new in this attempt, and no larger than
   * it. Its predecessor's completion is already stored.
   */
  private chainable(previous: IssuedJob, result: AttemptResult | undefined): IssuedJob | undefined {
    const record = result?.record;
    if (!record || record.followOns.length > 0 || record.children.length !== 1) return undefined;
    if (result.createdJson.length !== 1) return undefined;
    const json = result.createdJson[0]!;
    const child = JSON.parse(json) as JobRecord;
    if (
      child.id !== record.children[0] ||
      child.children.length > 0 ||
      child.followOns.length > 0
    ) {
      return undefined;
    }
    const r = child.requirements;
    const p = previous.requirements;
    if (r.cores > p.cores || r.memory > p.memory || r.disk > p.disk) return undefined;
    return {
      jobId: child.id,
      name: child.displayName,
      requirements: r,
      argv: [...previous.argv.slice(0, -1), child.id],
      env: previous.env,
      recordJson: json,
    };
  }

  /**
   * Records a chained job as `running` with its batch id (the leader does this for the jobs it
   * issues) and returns the record JSON to hand to the worker. The commit is called before the
   * job is sent, so the store orders it before the worker's completion; it is not awaited
   * (concurrent commits share one fsync). A failed write only leaves the record `waiting`.
   */
  private recordRunning(next: IssuedJob, batchId: string): string | undefined {
    if (next.recordJson === undefined) return undefined;
    const running = toRunning(next.recordJson);
    const task = this.options.store
      .commit([{ op: 'put', record: withBatchId(running, batchId) }])
      .catch((error: unknown) => {
        report(
          this.context.host,
          'warning',
          'WORKFLOW_STATE_NOT_STORED',
          `Could not record job ${next.jobId} as running: ${error instanceof Error ? error.message : String(error)}`,
        );
      })
      .finally(() => this.recording.delete(task));
    this.recording.add(task);
    return JSON.stringify(running);
  }

  private fits(issued: IssuedJob): boolean {
    const r = issued.requirements;
    const { limits } = this.options;
    // An oversized job runs alone rather than never (the leader refuses larger-than-max jobs).
    if (this.runningJobs.size === 0) return true;
    return (
      this.used.cores + r.cores <= limits.cores + 1e-9 &&
      this.used.memory + r.memory <= limits.memory &&
      this.used.disk + r.disk <= limits.disk
    );
  }

  private account(issued: IssuedJob, sign: 1 | -1): void {
    const r = issued.requirements;
    this.used.cores = Math.max(0, this.used.cores + sign * r.cores);
    this.used.memory = Math.max(0, this.used.memory + sign * r.memory);
    this.used.disk = Math.max(0, this.used.disk + sign * r.disk);
  }

  private pump(): void {
    while (!this.stopping && this.queue.length > 0) {
      if (!this.fits(this.queue[0]!.issued)) return;
      let worker = this.idle.pop();
      while (worker && !worker.alive) worker = this.idle.pop();
      if (!worker) {
        if (this.workers.size >= this.options.poolSize) return;
        worker = this.spawnWorker();
      }
      const { issued, batchId } = this.queue.shift()!;
      this.start(worker, issued, batchId);
    }
  }

  private start(worker: WorkerProcess, issued: IssuedJob, batchId: string): void {
    this.account(issued, 1);
    const done = worker
      .run(batchId, issued.jobId, issued.recordJson, true)
      .then(async (outcome) => {
        this.runningJobs.delete(batchId);
        this.account(issued, -1);
        if (outcome.recordError) {
          report(this.context.host, 'warning', 'WORKFLOW_LOG_NOT_STORED', outcome.recordError);
        }
        const reuse = this.options.isolation === 'pool' && worker.alive && !this.stopping;
        const next = reuse ? this.chainable(issued, outcome.result) : undefined;
        const nextBatchId = next ? String(++this.nextId) : undefined;
        this.finished.push({
          batchId,
          jobId: issued.jobId,
          exitCode: outcome.exitCode,
          reason: outcome.reason,
          wallTime: outcome.wallTime,
          result: outcome.result,
          ...(next ? { chained: [{ jobId: next.jobId, batchId: nextBatchId! }] } : {}),
        });
        if (next) {
          this.start(
            worker,
            { ...next, recordJson: this.recordRunning(next, nextBatchId!) },
            nextBatchId!,
          );
        } else if (reuse) this.idle.push(worker);
        else this.workers.delete(worker);
        this.pump();
        this.wake?.();
        if (!reuse && !this.stopping) await worker.stop();
      });
    this.runningJobs.set(batchId, { issued, batchId, worker, done });
  }
}
