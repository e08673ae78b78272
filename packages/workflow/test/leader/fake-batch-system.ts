import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToilError, RecordingHost } from '@toil/core';
import {
  groupDemand,
  type BatchSystem,
  type FinishedJob,
  type IssuedJob,
  type LocalCapability,
  type NodeView,
  type ScalingCapability,
} from '@toil/batch-system';
import {
  epochSecondsNow,
  openJobStore,
  type JobRecord,
  type JobStore,
  type WorkflowConfig,
} from '@toil/jobstore';
import { Job, internalOf } from '../../src/job.js';
import { Leader } from '../../src/leader.js';
import { jobDefaultsOf, materializePlan, planJobs, typeNamesFrom } from '../../src/serialize.js';
import { WORKFLOW_VERSION } from '../../src/toil.js';
import {
  recordFailedAttempt,
  runAttempt,
  StatsBuffer,
  type AttemptResult,
  type WorkerRuntime,
} from '../../src/worker-runtime.js';
import type { LocalResult } from '../../src/single-machine.js';

/** Thrown by a job to make the leader die in the middle of the attempt (nothing more is stored). */
export class LeaderDies extends Error {}

/** What the fake does with the attempts of a job, by the job's display name. */
export interface FakeScript {
  /** The first N attempts vanish: reported as `lost-node` without running. */
  lose?: Record<string, number>;
  /** The first N attempts run (their completion is stored), then are reported as lost. */
  loseReport?: Record<string, number>;
  /** The first N `issue` calls for these jobs are rejected. */
  reject?: Record<string, number>;
  /** Finished attempts are reported last-issued first. */
  reverse?: boolean;
  /** After this many finished attempts, `poll` throws (the leader dies). */
  crashAfter?: number;
  /**
   * Declare the `local` capability and hand each attempt's result back to the leader (as the
   * single-machine batch system does) instead of letting it read the store.
   */
  reportResults?: boolean;
  /**
   * Declare the `scaling` capability with these nodes (what they can hold; every attempt
   * still runs) and `canGrow`.
   */
  scaling?: {
    nodes: Array<{ cores: number; memory: number } & Pick<NodeView, 'type' | 'state'>>;
    canGrow: boolean;
  };
}

/**
 * A stateful in-process batch system for leader tests: it queues issued attempts and, on each
 * `poll`, runs every queued attempt with the engine's own `runAttempt` (no processes) against
 * the real job store, as a one-shot worker would, then reports them, following a script of
 * faults (lost attempts, lost reports, rejected issues, out-of-order reports, a dying leader).
 */
export class FakeBatchSystem implements BatchSystem {
  readonly name = 'fake';
  /** Every `issue`, by job name, in order. */
  readonly issuedNames: string[] = [];
  private readonly queue: Array<{ job: IssuedJob; batchId: string }> = [];
  private readonly counts = new Map<string, number>();
  private nextId = 0;
  private finishedCount = 0;
  private closed = false;
  readonly local: LocalCapability | undefined;
  readonly scaling: ScalingCapability | undefined;

  constructor(
    private readonly runtime: WorkerRuntime,
    private readonly script: FakeScript = {},
  ) {
    this.local = script.reportResults ? { startsAfterIssuing: false, pids: () => [] } : undefined;
    const scaling = script.scaling;
    this.scaling = scaling && {
      canGrow: scaling.canGrow,
      demand: () => groupDemand(this.queue.map(({ job }) => job.requirements)),
      nodes: async () =>
        scaling.nodes.map(({ cores, memory, ...known }, i): NodeView => ({
          id: `node-${i}`,
          cores,
          memory,
          disk: 0,
          free: { cores, memory, disk: 0 },
          busy: known.state === 'busy',
          ...known,
        })),
    };
  }

  /** True once `shutdown` was called. */
  get isShutDown(): boolean {
    return this.closed;
  }

  private take(kind: keyof FakeScript, name: string): boolean {
    const budget = (this.script[kind] as Record<string, number> | undefined)?.[name] ?? 0;
    const key = `${kind}:${name}`;
    const used = this.counts.get(key) ?? 0;
    if (used >= budget) return false;
    this.counts.set(key, used + 1);
    return true;
  }

  async issue(job: IssuedJob): Promise<string> {
    if (this.take('reject', job.name)) {
      throw new ToilError('BATCH_SYSTEM_UNAVAILABLE', `The fake rejects job '${job.name}'.`);
    }
    const batchId = `fake-${++this.nextId}`;
    this.issuedNames.push(job.name);
    this.queue.push({ job, batchId });
    return batchId;
  }

  async poll(): Promise<FinishedJob[]> {
    const batch = this.queue.splice(0);
    if (this.script.reverse) batch.reverse();
    const finished: FinishedJob[] = [];
    for (const { job, batchId } of batch) {
      if (this.script.crashAfter !== undefined && this.finishedCount >= this.script.crashAfter) {
        throw new Error('the leader died (fake crash)');
      }
      this.finishedCount++;
      finished.push(await this.attempt(job, batchId));
    }
    return finished;
  }

  private async attempt(job: IssuedJob, batchId: string): Promise<FinishedJob> {
    const { store } = this.runtime;
    if (this.take('lose', job.name)) {
      return { batchId, jobId: job.jobId, exitCode: 1, failure: 'lost-node', reason: 'node lost' };
    }
    const record = await store.loadJob(job.jobId);
    let result: AttemptResult;
    try {
      result = await runAttempt(this.runtime, record, false);
    } catch (error) {
      if (error instanceof LeaderDies) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      await recordFailedAttempt(store, job.jobId, `${reason}\n`, reason);
      return { batchId, jobId: job.jobId, exitCode: 1, failure: 'job-error', reason };
    }
    if (this.take('loseReport', job.name)) {
      return { batchId, jobId: job.jobId, exitCode: 1, failure: 'lost-node', reason: 'node lost' };
    }
    return {
      batchId,
      jobId: job.jobId,
      exitCode: 0,
      ...(this.local ? { local: { result } satisfies LocalResult } : {}),
    };
  }

  async kill(batchIds: string[]): Promise<void> {
    const ids = new Set(batchIds);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (ids.has(this.queue[i]!.batchId)) this.queue.splice(i, 1);
    }
  }

  running(): string[] {
    return this.queue.map((q) => q.batchId);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
  }
}

/** An in-process workflow on a `file:` store: its jobs are functions of `namespace`. */
export interface InProcessWorkflow {
  store: JobStore;
  host: RecordingHost;
  /** Stores `root`'s graph and runs a leader on `fake` until it ends. */
  start(root: Job, script?: FakeScript): Promise<{ fake: FakeBatchSystem; run: Promise<void> }>;
  /** Runs a restarted leader (attempt + 1) on a fresh fake until it ends. */
  restart(script?: FakeScript): Promise<{ fake: FakeBatchSystem; run: Promise<void> }>;
  /** Every stored job record. */
  jobs(): Promise<JobRecord[]>;
  /** Closes the store and deletes the directory. */
  dispose(): Promise<void>;
}

/**
 * Makes a `file:` store in a fresh directory for a workflow whose jobs are the functions in
 * `namespace` (named by their keys), with `retryCount` (default 1), `disableChaining` and the
 * worker's `chainCommit` (default: durable).
 */
export async function inProcessWorkflow(
  namespace: Record<string, unknown>,
  {
    retryCount = 1,
    disableChaining = false,
    chainCommit,
  }: { retryCount?: number; disableChaining?: boolean; chainCommit?: 'durable' | 'written' } = {},
): Promise<InProcessWorkflow> {
  const dir = mkdtempSync(join(tmpdir(), 'toil-leader-test-'));
  const modulePath = join(dir, 'jobs.mjs');
  const names = typeNamesFrom(namespace, modulePath);
  const host = new RecordingHost();
  const store = await openJobStore(`file:${join(dir, 'store')}`, { host });
  let config: WorkflowConfig = {
    format: 1,
    workflowId: `leader-test-${process.pid}-${Date.now()}`,
    attempt: 0,
    createdAt: epochSecondsNow(),
    toilVersion: WORKFLOW_VERSION,
    workflowModule: modulePath,
    batchSystem: 'fake',
    defaultCores: 1,
    defaultMemory: 2 ** 20,
    defaultDisk: 0,
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    retryCount,
    disableChaining,
    stats: false,
    clean: 'never',
    cleanWorkDir: 'always',
    workDir: dir,
  };
  await store.create(config);
  let rootId = '';
  const runLeader = (completedBefore: number, script?: FakeScript, restart = false) => {
    const runtime: WorkerRuntime = {
      store,
      config,
      names,
      workerDir: join(dir, 'worker'),
      stats: new StatsBuffer(store, false, 'fake'),
      chainCommit,
    };
    const fake = new FakeBatchSystem(runtime, script);
    const leader = new Leader({
      store,
      config,
      batchSystem: fake,
      host,
      limits: { cores: Infinity, memory: Infinity, disk: Infinity },
      rootId,
      invocation: (jobId) => ({ jobStore: store.locator, jobId, workflow: { source: modulePath } }),
      completedBefore,
      previousBatchSystem: restart ? 'fake' : undefined,
    });
    return { fake, leader };
  };
  return {
    store,
    host,
    async start(root, script) {
      const records = await materializePlan(planJobs([root], names), store, jobDefaultsOf(config), {
        rootJob: root,
      });
      await store.commit(records.map((record) => ({ op: 'put' as const, record })));
      rootId = internalOf(root).id!;
      await store.setRootJobId(rootId);
      const { fake, leader } = runLeader(0, script);
      leader.seed(records);
      return { fake, run: leader.run() };
    },
    async restart(script) {
      config = { ...config, attempt: config.attempt + 1 };
      await store.writeConfig(config);
      const summary = await store.readSummary();
      const { fake, leader } = runLeader(summary?.completed ?? 0, script, true);
      await leader.loadForRestart();
      return { fake, run: leader.run() };
    },
    async jobs() {
      const out: JobRecord[] = [];
      for await (const record of store.listJobs()) out.push(record);
      return out;
    },
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
