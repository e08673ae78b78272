import { writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FILE_MODE, fsyncDir } from './fs.js';

interface Pending {
  text: string;
  /** Resolve only once durable (else once written to the OS). */
  durable: boolean;
  resolve: (range: { pos: number; end: number }) => void;
  reject: (error: unknown) => void;
}

/**
 * An append-only log file owned by one store instance, with group commit: appends that arrive
 * while a write + fdatasync is in flight are written together in the next one, so many
 * concurrent appends cost one fsync. An append resolves once its bytes are durable, or, asked
 * for `written` only, once the OS has them (they survive this process, not a machine crash);
 * those become durable with the next durable append or `close()` (one file: an fdatasync covers
 * every byte written before it), so a crash can only lose a suffix of the log.
 */
export class AppendLog {
  private handle: FileHandle | undefined;
  private size = 0;
  private pending: Pending[] = [];
  private flushing = false;
  /** Bytes written since the last fdatasync. */
  private unsynced = false;
  /** True once a failed append could not be cut off: the file may end in a torn line. */
  broken = false;

  constructor(readonly path: string) {}

  /**
   * Appends complete lines (`text` ends with `\n`); resolves to their byte range when durable
   * (`durable` false: when written to the OS).
   */
  append(text: string, durable = true): Promise<{ pos: number; end: number }> {
    return new Promise((resolve, reject) => {
      if (this.broken) {
        reject(new Error(`${this.path} is closed after a failed write`));
        return;
      }
      this.pending.push({ text, durable, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const start = this.size;
      try {
        if (!this.handle) {
          this.handle = await open(this.path, 'ax', FILE_MODE);
          await fsyncDir(dirname(this.path));
        }
        const buffer = Buffer.from(batch.map((p) => p.text).join(''), 'utf8');
        let written = 0;
        // A synchronous write: it only copies into the OS's cache (the fdatasync after it is
        // what waits for the disk), and a round trip through libuv's thread pool costs more
        // than the copy, most of all on a loaded machine.
        while (written < buffer.length) {
          written += writeSync(this.handle.fd, buffer, written, buffer.length - written);
        }
        this.unsynced = true;
        if (batch.some((p) => p.durable)) {
          await this.handle.datasync();
          this.unsynced = false;
        }
        this.size = start + buffer.length;
        let offset = start;
        for (const p of batch) {
          const length = Buffer.byteLength(p.text, 'utf8');
          p.resolve({ pos: offset, end: offset + length });
          offset += length;
        }
      } catch (error) {
        // Cut off a partial batch so that later batches never follow a torn line; if that
        // fails too, refuse further appends (the owner starts a new log).
        try {
          await this.handle?.truncate(start);
        } catch {
          this.broken = true;
          // Earlier written-only appends must not stay behind in a log nobody syncs again.
          if (this.unsynced) await this.handle?.datasync().catch(() => undefined);
        }
        for (const p of batch) p.reject(error);
        if (this.broken) {
          for (const p of this.pending) p.reject(error);
          this.pending = [];
        }
      }
    }
    this.flushing = false;
  }

  /** Makes every written append durable, then closes the file, once pending appends are done. */
  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) await new Promise((r) => setImmediate(r));
    if (this.unsynced) {
      await this.handle?.datasync();
      this.unsynced = false;
    }
    await this.handle?.close();
    this.handle = undefined;
  }
}
