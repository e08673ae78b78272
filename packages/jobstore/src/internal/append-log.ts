import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FILE_MODE, fsyncDir } from './fs.js';

interface Pending {
  text: string;
  resolve: (range: { pos: number; end: number }) => void;
  reject: (error: unknown) => void;
}

/**
 * An append-only log file owned by one store instance, with group commit: appends that arrive
 * while a write + fdatasync is in flight are written together in the next one, so many
 * concurrent appends cost one fsync. Each append resolves only once its bytes are durable.
 */
export class AppendLog {
  private handle: FileHandle | undefined;
  private size = 0;
  private pending: Pending[] = [];
  private flushing = false;
  /** True once a failed append could not be cut off: the file may end in a torn line. */
  broken = false;

  constructor(readonly path: string) {}

  /** Appends complete lines (`text` ends with `\n`); resolves to their byte range when durable. */
  append(text: string): Promise<{ pos: number; end: number }> {
    return new Promise((resolve, reject) => {
      if (this.broken) {
        reject(new Error(`${this.path} is closed after a failed write`));
        return;
      }
      this.pending.push({ text, resolve, reject });
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
        while (written < buffer.length) {
          const { bytesWritten } = await this.handle.write(
            buffer,
            written,
            buffer.length - written,
          );
          written += bytesWritten;
        }
        await this.handle.datasync();
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

  /** Closes the file once pending appends are done. */
  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) await new Promise((r) => setImmediate(r));
    await this.handle?.close();
    this.handle = undefined;
  }
}
