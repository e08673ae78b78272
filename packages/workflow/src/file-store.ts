import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { ToilError, forEachLimit, type LogLevel } from '@toil/core';
import type { FileId, JobStore, LeaderMessage } from '@toil/jobstore';
import { MessageLimiter } from './realtime-log.js';
import type { WorkerFileCache } from './file-cache.js';

/**
 * Deletes files whose deletion a job asked for (`deleteGlobalFile`), 8 at a time. A file that is
 * already gone is fine: deletions are repeated when a worker or leader died half-way.
 */
export async function deleteRequestedFiles(store: JobStore, ids: readonly FileId[]): Promise<void> {
  if (ids.length === 0) return;
  await forEachLimit(ids, 8, async (id) => {
    await store.deleteFile(id).catch(() => undefined);
  });
}

/** How {@link FileStore.readGlobalFile} gives a file (Toil's `userPath`, `cache`, `mutable`). */
export interface ReadGlobalFileOptions {
  /** Where to put the copy (Toil's `userPath`): always a private copy the job may change. */
  localPath?: string;
  /**
   * `true`: a private copy the job may change. `false` (the default, as in Toil): a read-only
   * copy (mode 0444) that the worker may share with other reads of the same file; do not
   * change it (as root the mode does not stop you, and later readers would see the change).
   */
  mutable?: boolean;
  /**
   * `false`: do not use or fill the worker's file cache (a fresh read-only copy). Default
   * `true`: the first read of a file in a worker copies it, later reads reuse the copy.
   */
  cache?: boolean;
}

/**
 * A new job store file whose id is known before its content is written (Toil's
 * `with writeGlobalFileStream() as (handle, fileID)`): write to `stream` and end it. The job
 * is not complete (and nothing it created is committed) until the write has finished;
 * `done` settles when it has.
 */
export interface WritableGlobalFile {
  fileId: FileId;
  stream: Writable;
  done: Promise<void>;
}

function isByteSource(value: object): value is Readable | AsyncIterable<Uint8Array> {
  return Symbol.asyncIterator in value || typeof (value as Readable).pipe === 'function';
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
  /**
   * Makes a new job store file and returns its id with a stream to write it (Toil's
   * `writeGlobalFileStream()` context manager); see {@link WritableGlobalFile}.
   */
  writeGlobalFileStream(options?: { cleanup?: boolean }): Promise<WritableGlobalFile>;
  /**
   * A local copy of a job store file; returns its path. A string is `localPath` (a private
   * copy there). Default: a read-only copy, shared through the worker's cache (Toil's
   * `cache=True, mutable=False`); `{ mutable: true }` for a private copy to change.
   */
  readGlobalFile(fileId: FileId, options?: string | ReadGlobalFileOptions): Promise<string>;
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
  /** Writes of `writeGlobalFileStream()` that the job's completion waits for. */
  private readonly pendingWrites: WritableGlobalFile[] = [];
  /** The job's bounded channel to the leader's log (also {@link RealtimeLogger}'s). */
  readonly log: MessageLimiter;
  private tempCounter = 0;

  private tempDir: string | undefined;

  /**
   * `tempParent`: where the job's temp dir is made, on first use; `sink`: where messages for
   * the leader go as they are sent.
   */
  constructor(
    private readonly store: JobStore,
    private readonly jobId: string,
    private readonly tempParent: string,
    sink: (message: LeaderMessage) => void,
    private readonly cache?: WorkerFileCache,
  ) {
    this.log = new MessageLimiter(jobId, sink);
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
    options?: { cleanup?: boolean },
  ): Promise<FileId>;
  writeGlobalFileStream(options?: { cleanup?: boolean }): Promise<WritableGlobalFile>;
  async writeGlobalFileStream(
    sourceOrOptions?: Readable | AsyncIterable<Uint8Array> | { cleanup?: boolean },
    options: { cleanup?: boolean } = {},
  ): Promise<FileId | WritableGlobalFile> {
    if (sourceOrOptions !== undefined && isByteSource(sourceOrOptions)) {
      return this.store.writeFileFromStream(sourceOrOptions, {
        jobId: this.jobId,
        cleanup: options.cleanup ?? false,
      });
    }
    const cleanup = sourceOrOptions?.cleanup ?? false;
    const fileId = await this.store.writeFileFromStream(Readable.from([]), {
      jobId: this.jobId,
      cleanup,
    });
    const body = new PassThrough();
    const upload = this.store.updateFile(fileId, body);
    // The caller writes and ends `stream`; it finishes only once the store has the content.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (body.write(chunk)) callback();
        else body.once('drain', () => callback());
      },
      final(callback) {
        body.end();
        upload.then(() => callback(), callback);
      },
      destroy(error, callback) {
        body.destroy(error ?? undefined);
        callback(error);
      },
    });
    const done = new Promise<void>((resolveDone, rejectDone) => {
      stream.on('finish', resolveDone);
      stream.on('error', rejectDone);
    });
    upload.catch((error: unknown) => stream.destroy(error as Error));
    done.catch(() => undefined);
    const file = { fileId, stream, done };
    this.pendingWrites.push(file);
    return file;
  }

  /**
   * Waits for the job's `writeGlobalFileStream()` writes. A stream the job never ended is an
   * error naming the file: the job's result is not recorded while its file is half written.
   */
  async settleWrites(): Promise<void> {
    const writes = this.pendingWrites.splice(0);
    const open = writes.find((write) => !write.stream.writableEnded);
    if (open) {
      open.stream.destroy();
      throw new ToilError(
        'WORKFLOW_INVALID',
        `The job never ended the stream of writeGlobalFileStream() for file ${open.fileId}.`,
        { hint: 'Call stream.end() (and await done) before the job returns.' },
      );
    }
    await Promise.all(writes.map((write) => write.done));
  }

  async readGlobalFile(
    fileId: FileId,
    options: string | ReadGlobalFileOptions = {},
  ): Promise<string> {
    const {
      localPath,
      mutable = false,
      cache = true,
    } = typeof options === 'string' ? { localPath: options } : options;
    if (localPath === undefined && !mutable && cache && this.cache) {
      return this.cache.get(this.store, fileId);
    }
    const target = localPath ?? join(mkdtempSync(join(this.getLocalTempDir(), 'read-')), 'file');
    await this.store.readFile(fileId, target);
    if (localPath === undefined && !mutable) chmodSync(target, 0o444);
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
