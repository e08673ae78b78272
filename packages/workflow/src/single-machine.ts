import { mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { report } from '@toil/core';
import {
  groupDemand,
  type BatchSystem,
  type BatchSystemContext,
  type FinishedJob,
  type IssuedJob,
  type LocalCapability,
  type NodeView,
  type ResourceDemand,
  type ScalingCapability,
  type OptionValues,
} from '@toil/batch-system';
import { type CleanPolicy, type JobStore, type WorkflowConfig } from '@toil/jobstore';
import type { AttemptResult } from './worker-runtime.js';
import { moduleOf, poolWorkerArgv } from './worker-command.js';
import { singleMachineRunDir } from './pool-worker-offer.js';
import { workerEnvironment } from './extra-ca.js';
import type { SINGLE_MACHINE_OPTIONS } from './single-machine-plugin.js';
import { WorkerProcess } from './worker-process.js';

/** What the leader hands this batch system with a job (`IssuedJob.local`). @internal */
export interface LocalIssue {
  /** The job's record as JSON, handed to a warm worker directly (saves it a read). */
  recordJson?: string;
}

/** What this batch system hands back with a finished job (`FinishedJob.local`). @internal */
export interface LocalResult {
  /** What a successful attempt stored, as the worker reported it. */
  result?: AttemptResult;
}

function recordJsonOf(job: IssuedJob): string | undefined {
  return (job.local as LocalIssue | undefined)?.recordJson;
}

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
  /** True when the batch system opened `store` itself and closes it on shutdown. */
  ownsStore?: boolean;
  /** A pool worker started before the store existed ({@link prestartPoolWorker}), adopted first. */
  prestarted?: WorkerProcess;
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
  /** Attempts start after the leader's issue pass; the worker pids are recorded for `toil kill`. */
  readonly local: LocalCapability = {
    startsAfterIssuing: true,
    pids: () => [...this.workers].filter((w) => w.alive).map((w) => w.pid),
  };
  /** This machine is the one node; it cannot grow. */
  readonly scaling: ScalingCapability = {
    canGrow: false,
    demand: () => this.demand(),
    nodes: async () => [this.node()],
  };
  private pumpScheduled = false;
  private readonly idle: WorkerProcess[] = [];
  private readonly workers = new Set<WorkerProcess>();
  private readonly queue: Array<{ issued: IssuedJob; batchId: string }> = [];
  private readonly runningJobs = new Map<string, Running>();
  private finished: FinishedJob[] = [];
  private wake: (() => void) | undefined;
  /** Set by {@link SingleMachineBatchSystem.interrupt} until the next poll returns. */
  private interrupted = false;
  private nextId = 0;
  private workerCounter = 0;
  private stopping = false;
  private readonly used = { cores: 0, memory: 0, disk: 0 };
  /** Attempts being killed on request: their failure is `killed`, whatever the worker said. */
  private readonly killed = new Set<string>();

  constructor(
    private readonly context: BatchSystemContext,
    private readonly options: SingleMachineOptions,
  ) {
    mkdirSync(options.runDir, { recursive: true });
    const prestarted = options.prestarted;
    if (prestarted) {
      prestarted.open(options.store);
      this.track(prestarted);
      if (prestarted.alive) this.idle.push(prestarted);
    }
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
    if (this.finished.length === 0 && timeoutMs > 0 && !this.interrupted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.interrupted = false;
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** Stops waiting in {@link SingleMachineBatchSystem.poll} now (e.g. on a signal). */
  interrupt(): void {
    this.interrupted = true;
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
          failure: 'killed',
          reason: 'killed before it started',
        });
        continue;
      }
      const running = this.runningJobs.get(id);
      if (running) {
        this.killed.add(id);
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

  private demand(): ResourceDemand[] {
    return groupDemand(this.queue.map(({ issued }) => issued.requirements));
  }

  private node(): NodeView {
    const { limits } = this.options;
    return {
      id: hostname(),
      cores: limits.cores,
      memory: limits.memory,
      disk: limits.disk,
      free: {
        cores: Math.max(0, limits.cores - this.used.cores),
        memory: Math.max(0, limits.memory - this.used.memory),
        disk: Math.max(0, limits.disk - this.used.disk),
      },
      busy: this.runningJobs.size > 0,
    };
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    const busy = [...this.runningJobs.values()];
    for (const r of busy) {
      this.killed.add(r.batchId);
      r.worker.kill();
    }
    await Promise.all(busy.map((r) => r.done));
    await Promise.all([...this.workers].map((w) => w.stop()));
    this.workers.clear();
    this.idle.length = 0;
    if (this.options.ownsStore) await this.options.store.close();
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
        workflowModule: moduleOf(this.context.workflow),
        workerDir,
      }),
      workerDir,
      this.options.store,
      workerEnvironment(),
    );
    this.track(worker);
    return worker;
  }

  private track(worker: WorkerProcess): void {
    this.workers.add(worker);
    void worker.exited$().then(() => {
      this.workers.delete(worker);
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
    });
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
      .run(batchId, issued.jobId, recordJsonOf(issued), true)
      .then(async (outcome) => {
        this.runningJobs.delete(batchId);
        this.account(issued, -1);
        if (outcome.recordError) {
          report(this.context.host, 'warning', 'WORKFLOW_LOG_NOT_STORED', outcome.recordError);
        }
        const reuse = this.options.isolation === 'pool' && worker.alive && !this.stopping;
        const local: LocalResult = { result: outcome.result };
        this.finished.push({
          batchId,
          jobId: issued.jobId,
          exitCode: outcome.exitCode,
          ...(outcome.failure
            ? { failure: this.killed.has(batchId) ? 'killed' : outcome.failure }
            : {}),
          reason: outcome.reason,
          wallTime: outcome.wallTime,
          ...(outcome.cpuTime === undefined ? {} : { cpuTime: outcome.cpuTime }),
          ...(outcome.peakMemory === undefined ? {} : { peakMemory: outcome.peakMemory }),
          local,
        });
        this.killed.delete(batchId);
        if (reuse) this.idle.push(worker);
        else this.workers.delete(worker);
        this.pump();
        this.wake?.();
        if (!reuse && !this.stopping) await worker.stop();
      });
    this.runningJobs.set(batchId, { issued, batchId, worker, done });
  }
}

/** Settings of a single-machine batch system for a run, from the workflow's config. */
export function singleMachineSettings(
  context: BatchSystemContext<OptionValues<typeof SINGLE_MACHINE_OPTIONS>>,
  config: WorkflowConfig,
  store: JobStore,
): SingleMachineOptions {
  const machineCores = availableParallelism();
  const limits = {
    cores: context.maxCores ?? machineCores,
    memory: context.maxMemory ?? totalmem(),
    disk: context.maxDisk ?? Infinity,
  };
  const maxLocalJobs = Math.floor(
    context.options.maxLocalJobs ?? (config.maxLocalJobs as number | undefined) ?? machineCores,
  );
  return {
    store,
    poolSize: Math.max(1, Math.min(maxLocalJobs, Math.ceil(limits.cores))),
    isolation:
      (context.options.workerIsolation as 'pool' | 'process' | undefined) ??
      (config.workerIsolation as 'pool' | 'process' | undefined) ??
      'pool',
    runDir: singleMachineRunDir(context.workDir, config.workflowId, config.attempt),
    cleanWorkDir: config.cleanWorkDir,
    limits,
  };
}
