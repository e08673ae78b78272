import type { JobRecord, JobStore } from '@toil/jobstore';
import type { BackgroundCommits } from './commits.js';
import type { LeaderEvents } from './events.js';
import {
  predecessorsOf,
  resetCheckpointRecord,
  type GraphJob,
  type JobGraph,
} from './job-graph.js';

/** A checkpoint waiting for the running jobs of its subtree before it runs again. */
interface PendingRestart {
  /** Its remaining try count once restarted. */
  tries: number;
  /** The jobs of its subtree that failed for good. */
  causes: string[];
}

/**
 * Checkpoint restarts (Toil's checkpoint jobs): when a job fails for good, its nearest
 * checkpoint ancestor with tries left freezes its subtree (nothing more of it is issued),
 * waits for the subtree's running jobs, then one commit deletes the subtree and resets the
 * checkpoint's record, and it runs again.
 */
export class CheckpointRestarts {
  /** Checkpoints to run again, by id. */
  private readonly restarting = new Map<string, PendingRestart>();

  constructor(
    private readonly graph: JobGraph,
    private readonly store: JobStore,
    private readonly commits: BackgroundCommits,
    private readonly events: LeaderEvents,
  ) {}

  /**
   * After `failed` failed for good: every nearest checkpoint above it that has tries left is
   * to run again (once its subtree's running jobs finished); nothing more of its subtree is
   * issued. Above a checkpoint without tries the failure goes on up, as in Toil.
   */
  async above(failed: GraphJob): Promise<void> {
    const { graph, store, events } = this;
    const seen = new Set<string>();
    const walk = [failed];
    while (walk.length > 0) {
      for (const { id } of predecessorsOf(walk.pop()!)) {
        if (seen.has(id)) continue;
        seen.add(id);
        const job = graph.get(id);
        if (!job || job.frozenBy !== undefined) continue;
        const pending = this.restarting.get(id);
        if (pending) {
          pending.causes.push(failed.name);
          continue;
        }
        // A ran job keeps its record: a checkpoint that ran is one a restart can run again.
        if (job.record?.checkpoint) {
          const record = await store.tryLoadJob(id);
          const tries = (record?.remainingTryCount ?? 0) - 1;
          if (tries > 0) {
            this.restarting.set(id, { tries, causes: [failed.name] });
            for (const successor of [...job.children, ...job.followOns]) this.freeze(successor, id);
            events.checkpointRestarting(failed, job, tries);
            continue;
          }
          if (record) {
            await store.commit([
              {
                op: 'put',
                record: {
                  ...record,
                  version: record.version + 1,
                  state: 'failed',
                  remainingTryCount: 0,
                  lastFailure: `job '${failed.name}' in its subtree failed and it has no tries left`,
                },
              },
            ]);
          }
          graph.fail(job);
          events.checkpointExhausted(failed, job);
        }
        walk.push(job);
      }
    }
  }

  private freeze(id: string, checkpoint: string): void {
    // A checkpoint inside the subtree is discarded with it instead of running again.
    for (const frozen of this.graph.freeze(id, checkpoint)) this.restarting.delete(frozen);
  }

  /**
   * Runs again every checkpoint to restart whose subtree has no job running any more
   * (`running`: the job ids of the attempts in flight).
   */
  async restartIdle(running: Iterable<string>): Promise<void> {
    if (this.restarting.size === 0) return;
    const busy = new Set<string>();
    for (const jobId of running) {
      const frozenBy = this.graph.get(jobId)?.frozenBy;
      if (frozenBy !== undefined) busy.add(frozenBy);
    }
    for (const [id, pending] of [...this.restarting]) {
      if (!busy.has(id)) await this.restart(id, pending);
    }
  }

  /** One commit deletes the subtree's records and resets the checkpoint to before it ran. */
  private async restart(id: string, pending: PendingRestart): Promise<void> {
    const { graph, store } = this;
    this.restarting.delete(id);
    // Background commits (running records, completions) of the subtree land before its deletion.
    await this.commits.settle();
    this.commits.throwIfFailed();
    const job = graph.get(id);
    const record = await store.tryLoadJob(id);
    if (!job || !record) return;
    const discarded = graph.frozenBy(id);
    const causes = [...new Set(pending.causes)].map((name) => `'${name}'`).join(', ');
    const reset: JobRecord = {
      ...resetCheckpointRecord(record, pending.tries, `job ${causes} in its subtree failed`),
      version: record.version + 1,
    };
    await store.commit([
      { op: 'put', record: reset },
      ...[...discarded].map((jobId) => ({ op: 'delete' as const, id: jobId })),
    ]);
    graph.restartCheckpoint(id, reset, discarded);
    this.events.checkpointRestarted(job, causes, discarded.size);
  }
}
