import type { JobStore, JobWrite } from '@toil/jobstore';

/**
 * The leader's background commits: job-store writes it does not wait for (concurrent commits
 * share one fsync). The run loop checks {@link BackgroundCommits.error} and fails with the
 * first error; {@link BackgroundCommits.settle} waits for all of them.
 */
export class BackgroundCommits {
  private readonly inflight = new Set<Promise<void>>();
  private firstError: unknown;
  private failed = false;

  /** @param onSettled called after each piece of work ends (wakes the leader's poll). */
  constructor(
    private readonly store: JobStore,
    private readonly onSettled: () => void,
  ) {}

  /** Commits `writes` (if any), then runs `then`. */
  commit(writes: JobWrite[], then?: () => void): void {
    if (writes.length === 0) return;
    this.track(this.store.commit(writes).then(then));
  }

  /** Tracks other background work the same way. */
  track(work: Promise<void>): void {
    const task = work
      .catch((error: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.firstError = error;
        }
      })
      .finally(() => {
        this.inflight.delete(task);
        this.onSettled();
      });
    this.inflight.add(task);
  }

  /** Throws the first error of the background work, if any. */
  throwIfFailed(): void {
    if (this.failed) throw this.firstError;
  }

  /** Number of pieces of work not yet ended. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Resolves when one piece of work ended. */
  async next(): Promise<void> {
    if (this.inflight.size > 0) await Promise.race(this.inflight);
  }

  /** Resolves when all work (including work started meanwhile) ended. */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }
}
