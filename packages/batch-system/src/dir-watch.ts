import { watch, type FSWatcher } from 'node:fs';

/**
 * Waits for changes in directories: a waiter wakes as soon as an entry of a watched directory
 * is created, renamed or removed (inotify through `fs.watch`, where the file system has it),
 * or when its own time is up. On a file system without change notification (NFS between
 * machines) the time alone paces the waiter, so callers keep polling at that interval. Used
 * by the warm-worker hand-over on both sides (the leader's `done/`, a worker's `inbox/`).
 */
export class DirWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private changed = false;
  private waiter: (() => void) | undefined;

  constructor(dirs: readonly string[] = []) {
    for (const dir of dirs) this.add(dir);
  }

  /** Watches `dir` too (once; a directory that cannot be watched is only polled). */
  add(dir: string): void {
    if (this.watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, () => {
        this.changed = true;
        this.waiter?.();
      });
      watcher.on('error', () => {
        watcher.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, watcher);
    } catch {
      // Polled only.
    }
  }

  /**
   * Resolves `true` at the next change (at once when one came since the last wait), or `false`
   * after `ms` milliseconds or when `signal` aborts.
   */
  async wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.changed) {
      this.changed = false;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    let abort: (() => void) | undefined;
    const woken = await new Promise<boolean>((resolve) => {
      this.waiter = () => resolve(true);
      timer = setTimeout(() => resolve(false), Math.max(0, ms));
      abort = () => resolve(false);
      signal?.addEventListener('abort', abort, { once: true });
    });
    clearTimeout(timer);
    if (abort) signal?.removeEventListener('abort', abort);
    this.waiter = undefined;
    this.changed = false;
    return woken;
  }

  /** Stops watching; a pending wait resolves `false` at its time. */
  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
