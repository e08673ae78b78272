import type { IoHost } from '@toil/core';
import type { Requirements } from '@toil/jobstore';
import type { AttemptResult } from './worker-runtime.js';

/** What the leader hands a batch system for one job attempt. */
export interface IssuedJob {
  /** Job id in the job store. */
  jobId: string;
  /** The stats/display name, for batch-system job names and messages. */
  name: string;
  requirements: Requirements;
  /**
   * The command that runs this attempt on any machine that can reach the job store:
   * `argv[0]` is the Node binary, then the worker entry and its arguments. Batch systems that
   * keep warm workers (single machine) may instead run the job in-process from `jobId`.
   */
  argv: string[];
  /** Environment additions for the worker. */
  env: Record<string, string>;
  /**
   * The job's record as JSON, as the leader knows it, for batch systems that hand it to a warm
   * worker directly (saves the worker a read). Others ignore it: the worker reads the store.
   */
  recordJson?: string;
}

/** How a job attempt ended, as the batch system saw it. */
export interface FinishedJob {
  batchId: string;
  jobId: string;
  /** 0 for success. Killed by a signal: 128 + signal number. */
  exitCode: number;
  /** Why it ended, when the batch system knows (e.g. `TIMEOUT`, `OUT_OF_MEMORY`, `signal SIGKILL`). */
  reason?: string;
  /** Wall seconds, when known. */
  wallTime?: number;
  /**
   * What a successful attempt stored, when the batch system got it from the worker directly
   * (single machine). Without it the leader reads the job's record from the store.
   */
  result?: AttemptResult;
  /**
   * Successors the batch system started itself right after this attempt, on the same worker
   * (Toil's chaining of a single child), with their batch ids: the leader must not issue them.
   */
  chained?: Array<{ jobId: string; batchId: string }>;
}

/**
 * Runs job attempts somewhere. The leader issues jobs, polls for finished ones and kills what
 * is left on shutdown. Implementations: single machine (in this package), Slurm
 * (`@toil/batch-slurm`).
 */
export interface BatchSystem {
  /** Name shown in `toil stats` (`single_machine`, `slurm`). */
  readonly name: string;
  /** Starts an attempt; resolves to the batch-system id once it is accepted. */
  issue(job: IssuedJob): Promise<string>;
  /**
   * True when {@link BatchSystem.issue} resolves without I/O and only queues the attempt,
   * starting it in a later macrotask (single machine). The leader then records all jobs
   * issued in one pass as `running` in a single commit; otherwise it commits each job's
   * `running` record as soon as `issue` resolves.
   */
  readonly startsAfterIssuing?: boolean;
  /**
   * Resolves with attempts that finished since the last call (possibly none), waiting at most
   * `timeoutMs` for at least one.
   */
  poll(timeoutMs: number): Promise<FinishedJob[]>;
  /** Kills attempts (and their whole process trees); resolves when they are gone. */
  kill(batchIds: string[]): Promise<void>;
  /**
   * Kills attempts issued by an earlier leader of the same workflow (ids this instance never
   * issued), called on `--restart` before anything is issued, with the `batchId`s of records
   * that were left `running`. Implement it when attempts can outlive their leader (Slurm:
   * `scancel` the ids; ids that already ended must not be an error). Without it the ids are
   * ignored (single machine: workers die with their leader). Called only when the previous
   * attempt used a batch system of the same name; a rejection is logged as a warning and the
   * restart goes on.
   */
  killStale?(batchIds: string[]): Promise<void>;
  /** Ids of attempts issued and not yet reported finished. */
  running(): string[];
  /**
   * Ids of the attempts among {@link BatchSystem.running} that have started (not only
   * queued in this batch system). Implement it when `issue` may only queue: a stopped run
   * reports these as killed. Without it every issued attempt counts as started.
   */
  started?(): string[];
  /** Kills everything still running and releases resources. */
  shutdown(): Promise<void>;
  /** Pids of local worker processes (recorded in the leader info for `toil kill`). */
  localPids?(): number[];
  /** Makes a pending {@link BatchSystem.poll} return at once (signals, kill flag). */
  interrupt?(): void;
}

/** Makes a batch system for a run; see {@link registerBatchSystem}. */
export type BatchSystemFactory = (context: BatchSystemContext) => Promise<BatchSystem>;

/** What a batch system factory receives. */
export interface BatchSystemContext {
  host: IoHost;
  /** Job store locator the workers open. */
  jobStoreLocator: string;
  /** Absolute path of the workflow module. */
  workflowModule: string;
  /** Upper bounds from `--maxCores` / `--maxMemory` / `--maxDisk` (null: unlimited). */
  maxCores: number | null;
  maxMemory: number | null;
  maxDisk: number | null;
  /** Base directory for workers' temporary directories. */
  workDir: string;
  /** Options the user gave, for batch-system specific ones (e.g. `slurmArgs`). */
  options: Record<string, unknown>;
}
