import { report, type IoHost } from '@toil/core';
import type { Requirements } from '@toil/jobstore';

const SOURCE = 'toil.leader';

/** Sizes in the leader's messages: `1.5 Gi`, `512.0 Mi`. */
export function formatBytes(bytes: number): string {
  const gi = bytes / 1024 ** 3;
  return gi >= 1 ? `${gi.toFixed(1)} Gi` : `${(bytes / 1024 ** 2).toFixed(1)} Mi`;
}

/** A job as the leader's events name it. */
export interface JobRef {
  id: string;
  name: string;
}

/**
 * Every event the leader reports, one method each, with its stable code (`WORKFLOW_*`),
 * level, message and data: the one place that says what a run tells its host.
 */
export class LeaderEvents {
  constructor(private readonly host: IoHost) {}

  private emit(
    level: Parameters<typeof report>[1],
    code: string,
    message: string,
    data?: Record<string, unknown>,
  ): void {
    report(this.host, level, code, message, data, SOURCE);
  }

  /** A restart found a checkpoint whose subtree did not complete. */
  checkpointResetOnRestart(job: JobRef): void {
    this.emit(
      'info',
      'WORKFLOW_CHECKPOINT_RESTARTED',
      `Restarting checkpoint job '${job.name}' ${job.id}: its subtree did not complete, so its successors are discarded and it runs again.`,
      { jobId: job.id },
    );
  }

  /** A restart rewrote a job's record (tries, state, successor lists). */
  jobRepaired(id: string): void {
    this.emit('debug', 'WORKFLOW_JOB_REPAIRED', `Repairing job: ${id}`, { jobId: id });
  }

  /** A restart kills the attempts the previous leader may have left running. */
  killingStale(batchIds: string[]): void {
    this.emit(
      'info',
      'WORKFLOW_KILLING_STALE',
      `Killing ${batchIds.length} job(s) the previous leader may have left running: ${batchIds.join(', ')}`,
      { batchIds },
    );
  }

  /** The batch system could not kill the previous leader's attempts. */
  staleNotKilled(batchIds: string[], error: unknown): void {
    this.emit(
      'warning',
      'WORKFLOW_STALE_NOT_KILLED',
      `Could not kill the previous leader's jobs ${batchIds.join(', ')}: ${error instanceof Error ? error.message : String(error)}; they may run twice.`,
      { batchIds },
    );
  }

  /** A job was handed to the batch system. */
  jobIssued(job: JobRef, batchId: string, r: Requirements): void {
    this.emit(
      'debug',
      'WORKFLOW_JOB_ISSUED',
      `Issued job '${job.name}' ${job.id} with job batch system ID: ${batchId} and cores: ${r.cores}, disk: ${formatBytes(r.disk)}, memory: ${formatBytes(r.memory)}`,
      { jobId: job.id, batchId },
    );
  }

  /** A job bigger than every current node was issued to a batch system that can grow. */
  jobWaitsForNode(job: JobRef, r: Requirements, largest: string): void {
    this.emit(
      'info',
      'WORKFLOW_JOB_WAITS_FOR_NODE',
      `Job '${job.name}' ${job.id} asks for ${r.cores} cores and ${formatBytes(r.memory)} of memory, more than any current node has (${largest}); it waits for the batch system to add a node that fits.`,
      { jobId: job.id, cores: r.cores, memory: r.memory, disk: r.disk },
    );
  }

  /** A job's worker failed after its completion was recorded. */
  reportLost(job: JobRef, reason: string): void {
    this.emit(
      'warning',
      'WORKFLOW_REPORT_LOST',
      `Job '${job.name}' ${job.id} completed, but its worker failed afterwards (${reason}); not running it again.`,
      { jobId: job.id },
    );
  }

  /** A job of a subtree being discarded failed; it is not retried. */
  jobDiscarded(job: JobRef, reason: string): void {
    this.emit(
      'debug',
      'WORKFLOW_JOB_DISCARDED',
      `Job '${job.name}' ${job.id} failed (${reason}); not retried: its checkpoint runs again.`,
      { jobId: job.id },
    );
  }

  /** An attempt failed. */
  jobFailed(job: JobRef, reason: string, exitCode: number): void {
    this.emit('warning', 'WORKFLOW_JOB_FAILED', `Job '${job.name}' ${job.id} failed: ${reason}`, {
      jobId: job.id,
      exitCode,
    });
  }

  /** A failed job runs again. */
  jobRetry(job: JobRef, remainingTryCount: number): void {
    this.emit(
      'warning',
      'WORKFLOW_JOB_RETRY',
      `Due to failure we are reducing the remaining try count of job '${job.name}' with ID ${job.id} to ${remainingTryCount}`,
      { jobId: job.id, remainingTryCount },
    );
  }

  /** A job has no tries left. */
  jobTotallyFailed(job: JobRef): void {
    this.emit(
      'warning',
      'WORKFLOW_JOB_TOTALLY_FAILED',
      `Job '${job.name}' ${job.id} is completely failed`,
      {
        jobId: job.id,
      },
    );
  }

  /** A checkpoint above a job that failed for good will run again. */
  checkpointRestarting(failed: JobRef, checkpoint: JobRef, remainingTryCount: number): void {
    this.emit(
      'warning',
      'WORKFLOW_CHECKPOINT_RESTARTING',
      `Job '${failed.name}' ${failed.id} failed for good: checkpoint job '${checkpoint.name}' ${checkpoint.id} will discard its subtree and run again (remaining try count ${remainingTryCount}).`,
      { jobId: checkpoint.id, failedJobId: failed.id, remainingTryCount },
    );
  }

  /** A checkpoint above a job that failed for good has no tries left. */
  checkpointExhausted(failed: JobRef, checkpoint: JobRef): void {
    this.emit(
      'warning',
      'WORKFLOW_CHECKPOINT_EXHAUSTED',
      `Job '${failed.name}' ${failed.id} failed for good and checkpoint job '${checkpoint.name}' ${checkpoint.id} has no tries left: it fails too.`,
      { jobId: checkpoint.id, failedJobId: failed.id },
    );
  }

  /** A checkpoint's subtree was discarded and it runs again. */
  checkpointRestarted(checkpoint: JobRef, causes: string, discarded: number): void {
    this.emit(
      'warning',
      'WORKFLOW_CHECKPOINT_RESTARTED',
      `Restarting checkpoint job '${checkpoint.name}' ${checkpoint.id} after the failure of ${causes}: discarded ${discarded} job(s) of its subtree.`,
      { jobId: checkpoint.id, discarded },
    );
  }

  /** A job sent a message with `logToLeader` (Toil's "Got message from job"). */
  jobMessage(
    level: Parameters<typeof report>[1],
    time: number,
    text: string,
    jobId: string | undefined,
  ): void {
    this.emit(
      level,
      'WORKFLOW_JOB_MESSAGE',
      `Got message from job at time ${new Date(time * 1000).toISOString()}: ${text}`,
      { jobId },
    );
  }

  /** The run stops (signal or kill flag). */
  stopping(reason: string): void {
    this.emit(
      'warning',
      'WORKFLOW_STOPPING',
      `Stopping the workflow: ${reason}; killing running jobs.`,
    );
  }

  /** Every job completed. */
  succeeded(): void {
    this.emit('info', 'WORKFLOW_SUCCEEDED', 'Finished toil run successfully.');
  }

  /** The last log lines of a job that failed for good. */
  jobLog(job: JobRef, logTail: string): void {
    this.emit(
      'error',
      'WORKFLOW_JOB_LOG',
      `Log from job "${job.name}" (${job.id}) follows:\n=========>\n${logTail.replace(/^/gm, '\t')}\n<=========`,
      { jobId: job.id },
    );
  }

  /** The run ended with failed jobs. */
  failed(count: number): void {
    this.emit('info', 'WORKFLOW_FAILED', `Finished toil run with ${count} failed jobs.`);
  }
}
