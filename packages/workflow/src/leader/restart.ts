import type { BatchSystem } from '@toil/batch-system';
import type { JobRecord, JobStore } from '@toil/jobstore';
import type { LeaderEvents } from './events.js';
import type { JobGraph } from './job-graph.js';

/** What {@link restoreForRestart} needs. */
export interface RestartContext {
  store: JobStore;
  batchSystem: BatchSystem;
  events: LeaderEvents;
  rootId: string;
  /** `--retryCount` + 1: every job's tries on a restart. */
  tries: number;
  /** The batch system the previous attempt used (its stale attempts are killed only if the same). */
  previousBatchSystem?: string;
}

/**
 * Rebuilds `graph` from the store after a crash or kill (see {@link JobGraph.restore}) and
 * commits the repairs. Attempts the previous leader may have left running are killed first.
 * Jobs whose completion was recorded are not run again.
 */
export async function restoreForRestart(graph: JobGraph, c: RestartContext): Promise<void> {
  const records = new Map<string, JobRecord>();
  for await (const record of c.store.listJobs()) records.set(record.id, record);
  await killStaleAttempts(records.values(), c);
  const restored = graph.restore(records, c.rootId, c.tries);
  for (const record of restored.resetCheckpoints) {
    c.events.checkpointResetOnRestart({ id: record.id, name: record.displayName });
  }
  for (const id of restored.repaired) c.events.jobRepaired(id);
  if (restored.writes.length > 0) await c.store.commit(restored.writes);
}

/**
 * Asks the batch system to kill attempts of the previous leader that may still run (records
 * left `running` with a batch id), so that rerunning them does not duplicate work. Only for
 * the batch system that issued them; one without `killStale` (single machine: workers die
 * with their leader) ignores them.
 */
async function killStaleAttempts(records: Iterable<JobRecord>, c: RestartContext): Promise<void> {
  const { batchSystem, events } = c;
  if (!batchSystem.killStale) return;
  if (c.previousBatchSystem !== batchSystem.name) return;
  const stale: string[] = [];
  for (const record of records) {
    if (record.state === 'running' && record.batchId !== undefined) stale.push(record.batchId);
  }
  if (stale.length === 0) return;
  events.killingStale(stale);
  try {
    await batchSystem.killStale(stale);
  } catch (error) {
    events.staleNotKilled(stale, error);
  }
}
