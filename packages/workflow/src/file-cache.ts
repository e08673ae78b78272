import { chmodSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FileId, JobStore } from '@toil/jobstore';

/** Most bytes a worker keeps in its file cache before it evicts the least recently read. */
export const FILE_CACHE_BYTES = 1024 ** 3;

interface Entry {
  path: string;
  size: number;
  /** The attempt that read it last (entries of the running attempt are never evicted). */
  attempt: number;
}

/**
 * A worker's cache of read-only copies of job store files (Toil's file cache, for
 * `readGlobalFile(id)` with `mutable: false`): the first read of a file in a worker copies it
 * once, later reads of the same id (by any job the worker runs) get the same path. Files are
 * made read-only (mode 0444). A cache hit still checks that the store has the file, so a
 * deleted file is not served from the cache.
 */
export class WorkerFileCache {
  private readonly entries = new Map<FileId, Entry>();
  private bytes = 0;
  private attempt = 0;
  private counter = 0;

  constructor(
    private readonly dir: string,
    private readonly limit = FILE_CACHE_BYTES,
  ) {}

  /** Marks the start of another attempt: what it reads stays until it ends. */
  nextAttempt(): void {
    this.attempt += 1;
  }

  /** The path of a read-only local copy of `id`, copied from `store` unless cached. */
  async get(store: JobStore, id: FileId): Promise<string> {
    const hit = this.entries.get(id);
    if (hit) {
      if (await store.fileExists(id)) {
        this.entries.delete(id);
        this.entries.set(id, { ...hit, attempt: this.attempt });
        this.shrink();
        return hit.path;
      }
      this.evict(id);
    }
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, `file-${++this.counter}`);
    const partial = `${path}.partial`;
    try {
      await store.readFile(id, partial);
      chmodSync(partial, 0o444);
      renameSync(partial, path);
    } catch (error) {
      rmSync(partial, { force: true });
      throw error;
    }
    const size = statSync(path).size;
    this.entries.set(id, { path, size, attempt: this.attempt });
    this.bytes += size;
    this.shrink();
    return path;
  }

  private evict(id: FileId): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.size;
    rmSync(entry.path, { force: true });
  }

  /** Evicts the least recently read entries of earlier attempts until under the limit. */
  private shrink(): void {
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.limit) return;
      if (entry.attempt !== this.attempt) this.evict(id);
    }
  }
}
