import { createReadStream, type ReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { ToilError, startSpan, type IoHost, type Span } from '@toil/core';
import type { z } from 'zod';
import type {
  CommitOptions,
  FileId,
  JobWrite,
  SharedFileName,
  WriteFileOptions,
} from './contract.js';
import {
  corruptError,
  fileNotFoundError,
  jobNotFoundError,
  notFoundError,
  wrapIo,
} from './errors.js';
import { checkSharedName, newFileId, newJobId } from './ids.js';
import { isErrno } from './internal/fs.js';
import type {
  JobRecord,
  JobStoreSummary,
  LeaderInfo,
  Outcome,
  StatsRecord,
  WorkflowConfig,
} from './records.js';
import {
  isPlainKillFlag,
  isPlainLeaderInfo,
  isPlainOutcome,
  isPlainReturnValue,
  isPlainRootJobId,
  isPlainStatsRecord,
  isPlainSummary,
  isPlainWorkflowConfig,
} from './record-checks.js';
import {
  parseJson,
  parseStoreMarker,
  recordSchemas,
  validateConfigInput,
  validateJobWrites,
  validateRecord,
  type RecordSchemas,
  type StoreMarker,
} from './validate.js';

/** Picks one schema out of the lazily loaded record schemas. */
type SchemaOf<T> = (schemas: RecordSchemas) => T;

/**
 * What every backend does the same way, on top of the raw storage a backend provides:
 * validation of configs, job writes and stats records before they are stored; the creation
 * marker check; the config, typed shared files (JSON documents validated on read,
 * `JOBSTORE_CORRUPT` naming the file or key when damaged) and shared-file name checks.
 * A backend extends it and implements the rest of {@link JobStore}.
 */
export abstract class JobStoreBase {
  /** The normalised locator (`file:/abs/path`, `aws:region:name`). */
  readonly locator: string;
  /** Where warnings and progress go. */
  protected readonly host: IoHost;

  protected constructor(locator: string, host: IoHost) {
    this.locator = locator;
    this.host = host;
  }

  // --- raw storage each backend provides ----------------------------------------------------

  /** Creates the store with an already validated config; see {@link JobStore.create}. */
  protected abstract createStore(config: WorkflowConfig): Promise<void>;
  /** The marker's text, or undefined when it is missing. */
  protected abstract readMarker(): Promise<string | undefined>;
  /** Where the marker lives (path or `s3://` key), for error messages. */
  protected abstract markerWhere(): string;
  /**
   * Stores validated job writes, in order; see {@link JobStore.commit}. A backend whose writes
   * are durable when written ignores `options`.
   */
  protected abstract writeJobs(writes: readonly JobWrite[], options?: CommitOptions): Promise<void>;
  /** Appends a validated stats record; see {@link JobStore.appendStats}. */
  protected abstract appendValidStats(record: StatsRecord): Promise<void>;
  /** A shared file's content, or undefined when it is missing (the name is checked). */
  protected abstract readShared(name: SharedFileName): Promise<Buffer | undefined>;
  /** Replaces a shared file atomically (the name is checked). */
  protected abstract writeShared(name: SharedFileName, data: string | Uint8Array): Promise<void>;
  /** Deletes a shared file; a missing one is not an error (the name is checked). */
  protected abstract removeShared(name: SharedFileName): Promise<void>;
  /** Where a shared file lives (path or `s3://` key), for error messages. */
  protected abstract sharedWhere(name: SharedFileName): string;
  /**
   * Stores a file's content under `id` durably; `isNew` says whether it is a new file (whose
   * owner directory may not exist yet) or replaces an existing one.
   */
  protected abstract storeFile(
    id: FileId,
    source: Readable | AsyncIterable<Uint8Array>,
    isNew: boolean,
  ): Promise<void>;
  /** See {@link JobStore.fileExists}. */
  abstract fileExists(id: FileId): Promise<boolean>;
  /** See {@link JobStore.exists}. */
  abstract exists(): Promise<boolean>;
  /** See {@link JobStore.tryLoadJob}. */
  abstract tryLoadJob(id: string): Promise<JobRecord | undefined>;

  // --- lifecycle ----------------------------------------------------------------------------

  /** See {@link JobStore.create}. */
  async create(config: WorkflowConfig): Promise<void> {
    return this.createStore(await validateConfigInput(config));
  }

  /** See {@link JobStore.resume}. */
  async resume(): Promise<WorkflowConfig> {
    await this.checkComplete();
    const config = await this.readShared('config');
    if (config === undefined) throw corruptError(this.sharedWhere('config'), 'it is missing');
    const where = this.sharedWhere('config');
    const value = parseJson(config.toString('utf8'), where);
    if (isPlainWorkflowConfig(value)) return value;
    return validateRecord((await recordSchemas()).WorkflowConfigSchema, value, where);
  }

  /** See {@link JobStore.writeConfig}. */
  async writeConfig(config: WorkflowConfig): Promise<void> {
    const checked = await validateConfigInput(config);
    await this.checkComplete();
    await this.writeShared('config', JSON.stringify(checked));
  }

  /**
   * Throws unless the store was created completely by this format: `JOBSTORE_NOT_FOUND`
   * without a store, `JOBSTORE_CORRUPT` without a (valid) marker, `JOBSTORE_INCOMPATIBLE`
   * for another format. Resolves to the marker.
   */
  protected async checkComplete(): Promise<StoreMarker> {
    const text = await this.readMarker();
    if (text === undefined) {
      await this.explainMissingMarker();
      if (!(await this.exists())) throw notFoundError(this.locator);
      throw corruptError(
        this.markerWhere(),
        'the marker is missing (creation was interrupted, or this is not a job store)',
      );
    }
    return parseStoreMarker(text, this.markerWhere(), this.locator);
  }

  /**
   * Called by {@link checkComplete} when the marker is missing, before it reports the store as
   * not found or corrupt: a backend throws here when it can say better what is there instead.
   */
  protected async explainMissingMarker(): Promise<void> {}

  /** The progress span of {@link JobStore.destroy}. */
  protected startDestroySpan(host: IoHost): Span {
    return startSpan(host, 'JOBSTORE_DESTROY', `Deleting job store ${this.locator}`, {
      source: 'toil.jobstore',
    });
  }

  // --- jobs ---------------------------------------------------------------------------------

  /** See {@link JobStore.newJobId}. */
  newJobId(jobName: string): string {
    return newJobId(jobName);
  }

  /** See {@link JobStore.commit}. */
  async commit(writes: JobWrite[], options?: CommitOptions): Promise<void> {
    if (writes.length === 0) return;
    await this.writeJobs(await validateJobWrites(writes), options);
  }

  /** See {@link JobStore.loadJob}. */
  async loadJob(id: string): Promise<JobRecord> {
    const job = await this.tryLoadJob(id);
    if (!job) throw jobNotFoundError(id);
    return job;
  }

  // --- files ------------------------------------------------------------------------------

  /** See {@link JobStore.writeFile}. */
  async writeFile(localPath: string, options: WriteFileOptions = {}): Promise<FileId> {
    const id = newFileId(options, basename(localPath));
    await this.storeFile(id, await openLocalFile(localPath), true);
    return id;
  }

  /** See {@link JobStore.writeFileFromStream}. */
  async writeFileFromStream(
    source: Readable | AsyncIterable<Uint8Array>,
    options: WriteFileOptions = {},
  ): Promise<FileId> {
    const id = newFileId(options);
    await this.storeFile(id, source, true);
    return id;
  }

  /** See {@link JobStore.updateFile}. */
  async updateFile(
    id: FileId,
    source: string | Readable | AsyncIterable<Uint8Array>,
  ): Promise<void> {
    if (!(await this.fileExists(id))) throw fileNotFoundError(id);
    const stream = typeof source === 'string' ? await openLocalFile(source) : source;
    await this.storeFile(id, stream, false);
  }

  // --- shared files -------------------------------------------------------------------------

  /** See {@link JobStore.writeSharedFile}. */
  async writeSharedFile(name: SharedFileName, data: string | Uint8Array): Promise<void> {
    checkSharedName(name);
    return this.writeShared(name, data);
  }

  /** See {@link JobStore.readSharedFile}. */
  async readSharedFile(name: SharedFileName): Promise<Buffer | undefined> {
    checkSharedName(name);
    return this.readShared(name);
  }

  /** See {@link JobStore.deleteSharedFile}. */
  async deleteSharedFile(name: SharedFileName): Promise<void> {
    checkSharedName(name);
    return this.removeShared(name);
  }

  /** A typed shared file: zod (loaded then) only for a value that `plain` does not accept. */
  private async getShared<T extends z.ZodType>(
    name: SharedFileName,
    schema: SchemaOf<T>,
    plain: (value: unknown) => boolean,
  ): Promise<z.infer<T> | undefined> {
    const data = await this.readShared(name);
    if (data === undefined) return undefined;
    const where = this.sharedWhere(name);
    const value = parseJson(data.toString('utf8'), where);
    if (plain(value)) return value as z.infer<T>;
    return validateRecord(schema(await recordSchemas()), value, where);
  }

  private async putShared<T extends z.ZodType>(
    name: SharedFileName,
    schema: SchemaOf<T>,
    plain: (value: unknown) => boolean,
    value: unknown,
  ): Promise<void> {
    const checked = plain(value)
      ? value
      : validateRecord(schema(await recordSchemas()), value, `new ${name}`);
    return this.writeShared(name, JSON.stringify(checked));
  }

  /** See {@link JobStore.setRootJobId}. */
  async setRootJobId(id: string): Promise<void> {
    return this.putShared('root-job-id', (s) => s.RootJobIdSchema, isPlainRootJobId, { id });
  }
  /** See {@link JobStore.getRootJobId}. */
  async getRootJobId(): Promise<string | undefined> {
    return (await this.getShared('root-job-id', (s) => s.RootJobIdSchema, isPlainRootJobId))?.id;
  }
  /** See {@link JobStore.setRootReturnValue}. */
  async setRootReturnValue(value: unknown): Promise<void> {
    return this.writeShared('root-return-value', JSON.stringify({ value }));
  }
  /** See {@link JobStore.getRootReturnValue}. */
  async getRootReturnValue(): Promise<unknown> {
    return (
      await this.getShared('root-return-value', (s) => s.ReturnValueSchema, isPlainReturnValue)
    )?.value;
  }
  /** See {@link JobStore.setLeader}. */
  async setLeader(info: LeaderInfo): Promise<void> {
    return this.putShared('leader', (s) => s.LeaderInfoSchema, isPlainLeaderInfo, info);
  }
  /** See {@link JobStore.getLeader}. */
  getLeader(): Promise<LeaderInfo | undefined> {
    return this.getShared('leader', (s) => s.LeaderInfoSchema, isPlainLeaderInfo);
  }
  /** See {@link JobStore.setKillFlag}. */
  async setKillFlag(kill: boolean): Promise<void> {
    if (kill) await this.putShared('kill-flag', (s) => s.KillFlagSchema, isPlainKillFlag, { kill });
    else await this.removeShared('kill-flag');
  }
  /** See {@link JobStore.getKillFlag}. */
  async getKillFlag(): Promise<boolean> {
    return (
      (await this.getShared('kill-flag', (s) => s.KillFlagSchema, isPlainKillFlag))?.kill ?? false
    );
  }
  /** See {@link JobStore.setOutcome}. */
  async setOutcome(outcome: Outcome | undefined): Promise<void> {
    if (outcome === undefined) await this.removeShared('outcome');
    else await this.putShared('outcome', (s) => s.OutcomeSchema, isPlainOutcome, outcome);
  }
  /** See {@link JobStore.getOutcome}. */
  getOutcome(): Promise<Outcome | undefined> {
    return this.getShared('outcome', (s) => s.OutcomeSchema, isPlainOutcome);
  }
  /** See {@link JobStore.writeSummary}. */
  async writeSummary(summary: JobStoreSummary): Promise<void> {
    return this.putShared('summary', (s) => s.JobStoreSummarySchema, isPlainSummary, summary);
  }
  /** See {@link JobStore.readSummary}. */
  readSummary(): Promise<JobStoreSummary | undefined> {
    return this.getShared('summary', (s) => s.JobStoreSummarySchema, isPlainSummary);
  }

  // --- stats --------------------------------------------------------------------------------

  /** See {@link JobStore.appendStats}. */
  async appendStats(record: StatsRecord): Promise<void> {
    if (isPlainStatsRecord(record)) return this.appendValidStats(record);
    const { StatsRecordSchema } = await recordSchemas();
    return this.appendValidStats(validateRecord(StatsRecordSchema, record, 'stats record'));
  }
}

/** Opens a local file to store: `FILE_NOT_FOUND` when it is missing, else `JOBSTORE_IO`. */
async function openLocalFile(localPath: string): Promise<ReadStream> {
  const source = createReadStream(localPath);
  try {
    await new Promise<void>((resolve, reject) => {
      source.once('open', () => resolve());
      source.once('error', reject);
    });
  } catch (error) {
    if (isErrno(error, 'ENOENT', 'ENOTDIR'))
      throw new ToilError('FILE_NOT_FOUND', `Local file '${localPath}' does not exist.`, {
        hint: 'Check the path of the file to store.',
      });
    throw wrapIo(`reading ${localPath}`, error);
  }
  return source;
}
