import type { Readable } from 'node:stream';
import type { IoHost } from '@toil/core';
import type {
  JobRecord,
  JobStoreSummary,
  LeaderInfo,
  Outcome,
  StatsRecord,
  WorkflowConfig,
} from './records.js';

/**
 * A parsed job store locator: its scheme (`kind`), its normalised text and whatever fields the
 * scheme's backend parsed (a `file:` locator is a {@link FileJobStoreLocator}).
 */
export interface JobStoreLocator {
  /** The scheme, e.g. `file` or `aws`. */
  kind: string;
  /** The normalised locator, e.g. `file:/abs/path` or `aws:region:name`. */
  locator: string;
}

/** A parsed `file:` locator. */
export interface FileJobStoreLocator extends JobStoreLocator {
  kind: 'file';
  /** The store's absolute directory. */
  path: string;
}

/** Id of a file in a job store (opaque to callers; safe in file paths and S3 keys). */
export type FileId = string;

/** Where a new file belongs. */
export interface WriteFileOptions {
  /** The job that owns the file. */
  jobId?: string;
  /** Delete the file together with its job (Toil's `cleanup=True`). Needs `jobId`. */
  cleanup?: boolean;
  /** A name to keep (shown in paths and downloads); defaults to the source file's name. */
  basename?: string;
}

/** One write in a {@link JobStore.commit}. */
export type JobWrite = { op: 'put'; record: JobRecord } | { op: 'delete'; id: string };

/** How long {@link JobStore.commit} waits. */
export interface CommitOptions {
  /**
   * `durable` (the default): the writes survive a machine crash when the commit resolves.
   * `written`: they are visible to every reader of the store on this machine and survive the
   * death of this process, but a crash of the machine may still lose them. They become
   * durable, together with every earlier commit of this store instance, no later than the
   * next `durable` commit of the instance or its `close()`. So a crash loses at most a
   * suffix of an instance's commits, never one whose own or later commit resolved as
   * durable. Backends whose writes are durable when written treat both the same.
   */
  durability?: 'durable' | 'written';
}

/** What {@link JobStore.destroy} removed. */
export interface DestroyReport {
  /** False when there was nothing to delete. */
  existed: boolean;
  /** Objects / files removed. */
  deleted: number;
  /** Human description, e.g. `directory /x` or `bucket name--toil`. */
  target: string;
}

/** Names of the shared, well-known files of a store. */
export type SharedFileName =
  | 'config'
  | 'root-job-id'
  | 'root-return-value'
  | 'leader'
  | 'kill-flag'
  | 'outcome'
  | 'summary'
  /** The compiled workflow module, for workers on machines that do not see the leader's files. */
  | 'workflow-code'
  | `user-${string}`;

/**
 * A job store: where a workflow keeps its jobs, files, shared files and stats. Every backend
 * passes the same contract test suite (`@toil/jobstore/testing`).
 *
 * Error behaviour: every method throws only {@link ToilError}s — `JOBSTORE_NOT_FOUND`,
 * `JOBSTORE_EXISTS`, `JOBSTORE_CORRUPT` (names the file or key), `JOBSTORE_INCOMPATIBLE`,
 * `JOB_NOT_FOUND`, `FILE_NOT_FOUND`, `JOBSTORE_IO`.
 *
 * Durability: when a method's promise resolves, what it wrote survives a crash of this
 * process or of the machine. A record is either its old or its new version, never torn.
 */
export interface JobStore {
  /** The normalised locator (`file:/abs/path`, `aws:region:name`). */
  readonly locator: string;
  /** The scheme of {@link JobStore.locator} (`file`, `aws`, ...). */
  readonly kind: string;

  // --- lifecycle -------------------------------------------------------------------------
  /** Creates the store and writes `config`. Throws `JOBSTORE_EXISTS` if it exists. */
  create(config: WorkflowConfig): Promise<void>;
  /** Opens an existing store and returns its config. Throws `JOBSTORE_NOT_FOUND` if absent. */
  resume(): Promise<WorkflowConfig>;
  /** True when the store exists (even if damaged). */
  exists(): Promise<boolean>;
  /** Rewrites the config (restart). */
  writeConfig(config: WorkflowConfig): Promise<void>;
  /**
   * Deletes the store and everything in it. Idempotent; works on half-created or damaged
   * stores; reports progress spans through `host`.
   */
  destroy(host?: IoHost): Promise<DestroyReport>;

  // --- jobs ------------------------------------------------------------------------------
  /** A fresh job id, derived from the job's name for readable paths. No I/O. */
  newJobId(jobName: string): string;
  /**
   * Applies job writes; each record is atomic, all are durable when this resolves (or, with
   * `durability: 'written'`, survive a process kill; see {@link CommitOptions}).
   */
  commit(writes: JobWrite[], options?: CommitOptions): Promise<void>;
  /** Loads a job. Throws `JOB_NOT_FOUND`. */
  loadJob(id: string): Promise<JobRecord>;
  /** Loads a job, or undefined when it does not exist. */
  tryLoadJob(id: string): Promise<JobRecord | undefined>;
  jobExists(id: string): Promise<boolean>;
  /** Every job record, in no particular order. */
  listJobs(): AsyncIterable<JobRecord>;
  /**
   * The ids of every job, in no particular order, without reading the records (cheap on S3:
   * one LIST request per page instead of one GET per job). Added in 0.1 for counting and
   * cleaning tools.
   */
  listJobIds(): AsyncIterable<string>;

  // --- files -----------------------------------------------------------------------------
  writeFile(localPath: string, options?: WriteFileOptions): Promise<FileId>;
  writeFileFromStream(
    source: Readable | AsyncIterable<Uint8Array>,
    options?: WriteFileOptions,
  ): Promise<FileId>;
  /** Replaces a file's content atomically. */
  updateFile(id: FileId, source: string | Readable | AsyncIterable<Uint8Array>): Promise<void>;
  readFile(id: FileId, localPath: string): Promise<void>;
  readFileStream(id: FileId): Promise<Readable>;
  deleteFile(id: FileId): Promise<void>;
  fileExists(id: FileId): Promise<boolean>;
  fileSize(id: FileId): Promise<number>;

  // --- shared files ----------------------------------------------------------------------
  writeSharedFile(name: SharedFileName, data: string | Uint8Array): Promise<void>;
  /** Undefined when the shared file does not exist. */
  readSharedFile(name: SharedFileName): Promise<Buffer | undefined>;
  deleteSharedFile(name: SharedFileName): Promise<void>;

  // Typed shared files. Readers validate and throw `JOBSTORE_CORRUPT` on bad content.
  setRootJobId(id: string): Promise<void>;
  getRootJobId(): Promise<string | undefined>;
  setRootReturnValue(value: unknown): Promise<void>;
  getRootReturnValue(): Promise<unknown>;
  setLeader(info: LeaderInfo): Promise<void>;
  getLeader(): Promise<LeaderInfo | undefined>;
  setKillFlag(kill: boolean): Promise<void>;
  getKillFlag(): Promise<boolean>;
  setOutcome(outcome: Outcome | undefined): Promise<void>;
  getOutcome(): Promise<Outcome | undefined>;
  writeSummary(summary: JobStoreSummary): Promise<void>;
  readSummary(): Promise<JobStoreSummary | undefined>;

  // --- stats and logging -----------------------------------------------------------------
  /** Appends one stats record (durable on resolve). */
  appendStats(record: StatsRecord): Promise<void>;
  /**
   * Reads stats records. `unreadOnly` yields only records not yet marked read and marks each
   * one read after it is yielded (the leader's collector). Without it, yields every record
   * and changes nothing (what `toil stats` uses, safe while a workflow runs).
   */
  readStats(options?: { unreadOnly?: boolean }): AsyncIterable<StatsRecord>;

  /** Releases clients, handles and timers. */
  close(): Promise<void>;
}
