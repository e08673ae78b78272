import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { LogLevel } from '@toil/core';
import type { FileId, JobStore, LeaderMessage } from '@toil/jobstore';
import { MessageLimiter } from './realtime-log.js';
import { runLimited } from './limit.js';

/**
 * Deletes files whose deletion a job asked for (`deleteGlobalFile`), 8 at a time. A file that is
 * already gone is fine: deletions are repeated when a worker or leader died half-way.
 */
export async function deleteRequestedFiles(store: JobStore, ids: readonly FileId[]): Promise<void> {
  await runLimited(
    ids.map((id) => async () => {
      await store.deleteFile(id).catch(() => undefined);
    }),
    8,
  );
}

/**
 * What a running job uses to keep and share files (Toil's `fileStore`). Global files live in
 * the job store and can be read by any later job; local temp files live in the job's own
 * temporary directory, removed after the job according to `--cleanWorkDir`.
 */
export interface FileStore {
  /** Copies a local file into the job store; returns its id. */
  writeGlobalFile(localPath: string, options?: { cleanup?: boolean }): Promise<FileId>;
  /** Streams data into a new job store file; returns its id. */
  writeGlobalFileStream(
    source: Readable | AsyncIterable<Uint8Array>,
    options?: { cleanup?: boolean },
  ): Promise<FileId>;
  /** Copies a job store file to `localPath` (default: a new file in the job's temp dir). */
  readGlobalFile(fileId: FileId, localPath?: string): Promise<string>;
  /** Opens a job store file for reading. */
  readGlobalFileStream(fileId: FileId): Promise<Readable>;
  /** Deletes a job store file once this job has completed successfully. */
  deleteGlobalFile(fileId: FileId): Promise<void>;
  /** The job's private temporary directory. */
  getLocalTempDir(): string;
  /** A new empty-named path inside the job's temp dir (the file is not created). */
  getLocalTempFile(): string;
  /** Sends a message to the leader's log (Toil's `logToMaster`). */
  logToLeader(text: string, level?: LogLevel): void;
  /** Alias of {@link FileStore.logToLeader}, Toil's older name. */
  logToMaster(text: string, level?: LogLevel): void;
}

/** The worker's implementation of {@link FileStore} for one job attempt. @internal */
export class JobFileStore implements FileStore {
  /** Files to delete once the job's completion is recorded. */
  readonly deferredDeletes: FileId[] = [];
  /** Messages for the leader, when no sink sends them on as they come. */
  readonly messages: LeaderMessage[] = [];
  /** The job's bounded channel to the leader's log (also {@link RealtimeLogger}'s). */
  readonly log: MessageLimiter;
  private tempCounter = 0;

  private tempDir: string | undefined;

  /**
   * `tempParent`: where the job's temp dir is made, on first use; `sink`: where messages for
   * the leader go as they are sent (default: kept in {@link JobFileStore.messages}).
   */
  constructor(
    private readonly store: JobStore,
    private readonly jobId: string,
    private readonly tempParent: string,
    sink?: (message: LeaderMessage) => void,
  ) {
    this.log = new MessageLimiter(jobId, sink ?? ((message) => this.messages.push(message)));
  }

  /** The job's temp dir if it was made. */
  get madeTempDir(): string | undefined {
    return this.tempDir;
  }

  writeGlobalFile(localPath: string, options: { cleanup?: boolean } = {}): Promise<FileId> {
    return this.store.writeFile(localPath, {
      jobId: this.jobId,
      cleanup: options.cleanup ?? false,
    });
  }

  writeGlobalFileStream(
    source: Readable | AsyncIterable<Uint8Array>,
    options: { cleanup?: boolean } = {},
  ): Promise<FileId> {
    return this.store.writeFileFromStream(source, {
      jobId: this.jobId,
      cleanup: options.cleanup ?? false,
    });
  }

  async readGlobalFile(fileId: FileId, localPath?: string): Promise<string> {
    const target = localPath ?? join(mkdtempSync(join(this.getLocalTempDir(), 'read-')), 'file');
    await this.store.readFile(fileId, target);
    return target;
  }

  readGlobalFileStream(fileId: FileId): Promise<Readable> {
    return this.store.readFileStream(fileId);
  }

  async deleteGlobalFile(fileId: FileId): Promise<void> {
    this.deferredDeletes.push(fileId);
  }

  getLocalTempDir(): string {
    if (this.tempDir === undefined) {
      mkdirSync(this.tempParent, { recursive: true });
      this.tempDir = mkdtempSync(join(this.tempParent, 'job-'));
    }
    return this.tempDir;
  }

  getLocalTempFile(): string {
    return join(this.getLocalTempDir(), `tmp-${process.pid}-${++this.tempCounter}`);
  }

  logToLeader(text: string, level: LogLevel = 'info'): void {
    this.log.send(String(text), level);
  }

  logToMaster(text: string, level: LogLevel = 'info'): void {
    this.logToLeader(text, level);
  }
}
