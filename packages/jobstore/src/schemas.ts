import { z } from 'zod';
import { JOBSTORE_FORMAT_VERSION } from './records.js';

// The record schemas, with zod, loaded by `recordSchemas()` (validate.ts) when a store first
// reads or writes a record: importing @toil/jobstore does not load zod, which was most of its
// import time. Their types are in records.ts.

/**
 * A stored time: epoch seconds (not milliseconds), as every record holds it. Branded, so a
 * number of another unit does not type-check where a stored time goes (see `EpochSeconds`).
 */
export const EpochSecondsSchema = z.number().brand<'EpochSeconds'>();

/** How a workflow's job store and work directories are cleaned up (Toil's `--clean`). */
export const CleanPolicySchema = z.enum(['always', 'onError', 'never', 'onSuccess']);

/**
 * The persisted workflow configuration (Toil's `config.pickle`). Written at `create`,
 * rewritten on each restart (attempt number, overridden options). Sizes are bytes; a `max*`
 * of `null` means unlimited.
 */
export const WorkflowConfigSchema = z
  .object({
    format: z.literal(JOBSTORE_FORMAT_VERSION),
    workflowId: z.string().min(1),
    /** 0 for the first run, incremented by each `--restart`. */
    attempt: z.number().int().nonnegative(),
    /** Epoch seconds when the workflow was created. */
    createdAt: EpochSecondsSchema,
    toilVersion: z.string(),
    /** Absolute path (or URL) of the workflow module that defines the job classes. */
    workflowModule: z.string().optional(),
    batchSystem: z.string(),
    defaultCores: z.number().positive(),
    defaultMemory: z.number().nonnegative(),
    defaultDisk: z.number().nonnegative(),
    maxCores: z.number().positive().nullable(),
    maxMemory: z.number().nonnegative().nullable(),
    maxDisk: z.number().nonnegative().nullable(),
    retryCount: z.number().int().nonnegative(),
    stats: z.boolean(),
    clean: CleanPolicySchema,
    cleanWorkDir: CleanPolicySchema,
    workDir: z.string().optional(),
    /** `--disableChaining`: every job goes through the leader (no chaining in workers). */
    disableChaining: z.boolean().optional(),
  })
  // Options of batch systems and later releases travel along unvalidated.
  .passthrough();

/** A job's resource requirements; sizes in bytes. */
export const RequirementsSchema = z.object({
  cores: z.number().positive(),
  memory: z.number().nonnegative(),
  disk: z.number().nonnegative(),
  preemptible: z.boolean(),
  /** Wall-time limit in seconds, when the job declared one (used by batch systems). */
  runtime: z.number().positive().optional(),
});

/**
 * Where a job is in its life. `completed` jobs are normally deleted at once; a job whose
 * record still exists is unfinished.
 */
export const JobStateSchema = z.enum(['waiting', 'ready', 'running', 'completed', 'failed']);

/**
 * One job as stored (Toil's JobDescription). The fields `toil status` needs are typed; what
 * only the workflow engine reads lives in `body` (class reference, arguments, promises).
 */
export const JobRecordSchema = z.object({
  v: z.literal(1),
  /** Store-assigned id, unique within the store; also used in file paths. */
  id: z.string().min(1),
  /** Class name (class jobs) or function name (function jobs). */
  jobName: z.string(),
  /** The name shown in `toil stats`: displayName, else the class or function name. */
  displayName: z.string(),
  /** Incremented by every update. */
  version: z.number().int().nonnegative(),
  state: JobStateSchema,
  requirements: RequirementsSchema,
  checkpoint: z.boolean(),
  remainingTryCount: z.number().int().nonnegative(),
  /** Ids of children not yet finished. */
  children: z.array(z.string()),
  /** Ids of follow-ons not yet finished (run after this job and all its descendants). */
  followOns: z.array(z.string()),
  /** Ids of service jobs of this job. */
  services: z.array(z.string()),
  isService: z.boolean(),
  /** Ids of jobs that must finish before this one runs. */
  predecessors: z.array(z.string()),
  /** Log of the last failed attempt (a file id in the store). */
  logFileId: z.string().optional(),
  /** Batch-system id of the current attempt, while running. */
  batchId: z.string().optional(),
  /** Why the job last failed (exit code, signal, Slurm state), for reports. */
  lastFailure: z.string().optional(),
  /** Engine-private data: how to find and rebuild the job in a worker. */
  body: z.unknown(),
});

/** Resource use of one job attempt, as measured by the worker that ran it. */
export const JobStatsSchema = z.object({
  jobId: z.string(),
  /** The stats name: displayName, else class or function name. */
  name: z.string(),
  /** Wall seconds. */
  time: z.number().nonnegative(),
  /** CPU seconds, user + system, including child processes the job spawned. */
  clock: z.number().nonnegative(),
  /** Peak resident memory, bytes. */
  memory: z.number().nonnegative(),
  requestedCores: z.number().nonnegative(),
  /** Epoch seconds when the attempt started. */
  start: EpochSecondsSchema,
  succeeded: z.boolean(),
  /**
   * The workflow run this attempt belongs to (the config's `attempt`: 0, then one more per
   * `--restart`). Optional: records written before it was recorded lack it.
   */
  workflowAttempt: z.number().int().nonnegative().optional(),
  /**
   * Ids of the jobs this job ran after (its predecessors), so reports can draw the job graph
   * after the records are gone. Optional: records written before it was recorded lack it.
   */
  predecessors: z.array(z.string()).optional(),
});

/** A message a job sent to the leader (`fileStore.logToLeader`). */
export const LeaderMessageSchema = z.object({
  level: z.enum(['critical', 'error', 'warning', 'info', 'debug']),
  text: z.string(),
  jobId: z.string().optional(),
  /** When the job sent it (epoch seconds); older records have only the record's time. */
  time: EpochSecondsSchema.optional(),
});

/**
 * One stats-and-logging record (Toil's `stats<hex>` files). Workers append one per batch of
 * jobs they ran; the leader appends one per run attempt with its own totals.
 */
export const StatsRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    v: z.literal(1),
    kind: z.literal('worker'),
    /** Epoch seconds when the record was appended. */
    time: EpochSecondsSchema,
    worker: z.object({
      id: z.string(),
      host: z.string(),
      pid: z.number().int(),
      /** Wall seconds the worker spent on these jobs. */
      time: z.number().nonnegative(),
      clock: z.number().nonnegative(),
      memory: z.number().nonnegative(),
      requestedCores: z.number().nonnegative(),
      jobsRun: z.number().int().nonnegative(),
    }),
    jobs: z.array(JobStatsSchema),
    messages: z.array(LeaderMessageSchema).default([]),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('leader'),
    /** Epoch seconds when the record was appended. */
    time: EpochSecondsSchema,
    /** The run attempt (config.attempt) these totals belong to. */
    attempt: z.number().int().nonnegative(),
    /** Wall seconds of this leader run. */
    totalTime: z.number().nonnegative(),
    /** Leader CPU seconds (self + children). */
    totalClock: z.number().nonnegative(),
  }),
]);

/** Who leads the workflow (Toil's `pid.log` + `leader_node_id.log`). */
export const LeaderInfoSchema = z.object({
  pid: z.number().int().positive(),
  /** Stable id of the machine (boot id / machine id), compared by `toil kill`. */
  nodeId: z.string(),
  hostname: z.string(),
  /** Epoch seconds when this leader started. */
  startedAt: EpochSecondsSchema,
  attempt: z.number().int().nonnegative(),
  /** Pids of the leader's local worker processes (single machine), rewritten as the pool changes. */
  workerPids: z.array(z.number().int().positive()).optional(),
});

/** How a finished leader run ended (Toil's `succeeded.log` / `failed.log`). */
export const OutcomeSchema = z.object({
  result: z.enum(['succeeded', 'failed', 'killed']),
  attempt: z.number().int().nonnegative(),
  /** Epoch seconds when the run ended. */
  time: EpochSecondsSchema,
  failedJobs: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
  /** Batch-system ids the leader killed while stopping (e.g. Slurm job ids on `toil kill`). */
  killedBatchIds: z.array(z.string()).optional(),
});

/**
 * The cheap summary `toil status` reads instead of walking every job. The leader rewrites it
 * whenever the counts change (coalesced) and at the end of a run.
 */
export const JobStoreSummarySchema = z.object({
  v: z.literal(1),
  /** Epoch seconds (not milliseconds) of this summary. */
  updatedAt: EpochSecondsSchema,
  attempt: z.number().int().nonnegative(),
  /** Jobs whose records still exist. */
  unfinished: z.number().int().nonnegative(),
  withChildren: z.number().int().nonnegative(),
  withServices: z.number().int().nonnegative(),
  services: z.number().int().nonnegative(),
  totallyFailed: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  ready: z.number().int().nonnegative(),
  /** Jobs completed over all attempts. */
  completed: z.number().int().nonnegative(),
  /**
   * The batch system's nodes by type and state, when it has several or can grow (a cluster);
   * absent otherwise.
   */
  nodes: z
    .array(
      z.object({
        type: z.string(),
        state: z.enum([
          'powered-down',
          'booting',
          'idle',
          'busy',
          'draining',
          'powering-down',
          'down',
        ]),
        count: z.number().int().nonnegative(),
      }),
    )
    .optional(),
  /**
   * What a launched cluster's elastic nodes cost since the run started, at the hourly prices
   * the cloud's API gave (from the leader's node ledger); absent elsewhere.
   */
  cost: z
    .object({
      usd: z.number().nonnegative(),
      byType: z.array(
        z.object({
          type: z.string(),
          spot: z.boolean(),
          hours: z.number().nonnegative(),
          usd: z.number().nonnegative().optional(),
          noPrice: z.string().optional(),
        }),
      ),
    })
    .optional(),
});

/** The shared file `root-job-id`. */
export const RootJobIdSchema = z.object({ id: z.string().min(1) });
/** The shared file `kill-flag`. */
export const KillFlagSchema = z.object({ kill: z.boolean() });
/** The shared file `root-return-value`. */
export const ReturnValueSchema = z.object({ value: z.unknown() });
