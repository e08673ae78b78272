import type { z } from 'zod';
import type * as schemas from './schemas.js';

// The record types. Their zod schemas are in schemas.ts (exported by `@toil/jobstore/backend`),
// loaded only when a store reads or writes records.

/**
 * The on-store format version. A store whose `format` differs is refused with
 * `JOBSTORE_INCOMPATIBLE`; bump it only with a migration.
 */
export const JOBSTORE_FORMAT_VERSION = 1;

/**
 * A stored time: epoch seconds, as every record holds it (`createdAt`, `startedAt`,
 * `updatedAt`, `time`, `start`). Branded: a plain number (e.g. `Date.now()`, milliseconds)
 * does not type-check where a stored time goes, and a stored time becomes a `Date` only
 * through {@link dateOfEpochSeconds}, so seconds and milliseconds cannot be mixed up (the year
 * 58882 that `toil status` once printed).
 */
export type EpochSeconds = z.infer<typeof schemas.EpochSecondsSchema>;

/** The time now as a stored time (epoch seconds, fractional). */
export function epochSecondsNow(): EpochSeconds {
  return (Date.now() / 1000) as EpochSeconds;
}

/** `date` as a stored time (epoch seconds). */
export function epochSecondsOf(date: Date): EpochSeconds {
  return (date.getTime() / 1000) as EpochSeconds;
}

/** The `Date` of a stored time. */
export function dateOfEpochSeconds(time: EpochSeconds): Date {
  return new Date(time * 1000);
}

/** How a workflow's job store and work directories are cleaned up (Toil's `--clean`). */
export type CleanPolicy = z.infer<typeof schemas.CleanPolicySchema>;

/**
 * The persisted workflow configuration (Toil's `config.pickle`). Written at `create`,
 * rewritten on each restart (attempt number, overridden options). Sizes are bytes; a `max*`
 * of `null` means unlimited.
 */
export type WorkflowConfig = z.infer<typeof schemas.WorkflowConfigSchema>;

/** A job's resource requirements; sizes in bytes. */
export type Requirements = z.infer<typeof schemas.RequirementsSchema>;

/**
 * Where a job is in its life. `completed` jobs are normally deleted at once; a job whose
 * record still exists is unfinished.
 */
export type JobState = z.infer<typeof schemas.JobStateSchema>;

/**
 * One job as stored (Toil's JobDescription). The fields `toil status` needs are typed; what
 * only the workflow engine reads lives in `body` (class reference, arguments, promises).
 */
export type JobRecord = z.infer<typeof schemas.JobRecordSchema>;

/** Resource use of one job attempt, as measured by the worker that ran it. */
export type JobStats = z.infer<typeof schemas.JobStatsSchema>;

/** A message a job sent to the leader (`fileStore.logToLeader`). */
export type LeaderMessage = z.infer<typeof schemas.LeaderMessageSchema>;

/**
 * One stats-and-logging record (Toil's `stats<hex>` files). Workers append one per batch of
 * jobs they ran; the leader appends one per run attempt with its own totals.
 */
export type StatsRecord = z.infer<typeof schemas.StatsRecordSchema>;

/** Who leads the workflow (Toil's `pid.log` + `leader_node_id.log`). */
export type LeaderInfo = z.infer<typeof schemas.LeaderInfoSchema>;

/** How a finished leader run ended (Toil's `succeeded.log` / `failed.log`). */
export type Outcome = z.infer<typeof schemas.OutcomeSchema>;

/**
 * The cheap summary `toil status` reads instead of walking every job. The leader rewrites it
 * whenever the counts change (coalesced) and at the end of a run.
 */
export type JobStoreSummary = z.infer<typeof schemas.JobStoreSummarySchema>;
