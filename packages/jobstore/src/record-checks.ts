// Hand-written checks of the records a one-shot worker reads and writes (the workflow config,
// a job record, a worker's stats record) and of the shared files and stats record a leader
// writes, so that the common case loads no zod: a process that runs one job would spend more
// CPU loading zod and building its schemas (~0.1-0.2 s) than on the job, and a leader of a
// small workflow ~60 ms of its start-up. Each check accepts only values its zod schema in schemas.ts accepts and
// gives back unchanged (no key the schema would strip, no default to fill in); anything else
// goes to zod, which decides and words the error. A test keeps the key lists equal to the
// schemas' shapes.
import type {
  JobRecord,
  JobStoreSummary,
  LeaderInfo,
  Outcome,
  StatsRecord,
  WorkflowConfig,
} from './records.js';

type Check = (value: unknown) => boolean;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const int: Check = (v) => Number.isSafeInteger(v);
const nonNegative: Check = (v) => num(v) && (v as number) >= 0;
const nonNegativeInt: Check = (v) => int(v) && (v as number) >= 0;
const positive: Check = (v) => num(v) && (v as number) > 0;
const str: Check = (v) => typeof v === 'string';
const nonEmpty: Check = (v) => typeof v === 'string' && v.length > 0;
const bool: Check = (v) => typeof v === 'boolean';
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const arrayOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);

/** Field checks of an object schema; `strict`: no other keys (the schema would strip them). */
function objectOf(fields: Record<string, Check>, strict: boolean): Check {
  const keys = Object.keys(fields);
  return (value) => {
    if (!isObject(value)) return false;
    if (strict) for (const key in value) if (!(key in fields)) return false;
    return keys.every((key) => fields[key]!(value[key]));
  };
}

const cleanPolicy = oneOf('always', 'onError', 'never', 'onSuccess');

/** The fields of `WorkflowConfigSchema` (it passes other keys through). @internal */
export const CONFIG_FIELDS: Record<string, Check> = {
  format: oneOf(1),
  workflowId: nonEmpty,
  attempt: nonNegativeInt,
  createdAt: num,
  toilVersion: str,
  workflowModule: optional(str),
  batchSystem: str,
  defaultCores: positive,
  defaultMemory: nonNegative,
  defaultDisk: nonNegative,
  maxCores: nullable(positive),
  maxMemory: nullable(nonNegative),
  maxDisk: nullable(nonNegative),
  retryCount: nonNegativeInt,
  stats: bool,
  clean: cleanPolicy,
  cleanWorkDir: cleanPolicy,
  workDir: optional(str),
  disableChaining: optional(bool),
};

/** The fields of `RequirementsSchema`. @internal */
export const REQUIREMENTS_FIELDS: Record<string, Check> = {
  cores: positive,
  memory: nonNegative,
  disk: nonNegative,
  preemptible: bool,
  runtime: optional(positive),
};

const strings = arrayOf(str);

/** The fields of `JobRecordSchema`. @internal */
export const JOB_RECORD_FIELDS: Record<string, Check> = {
  v: oneOf(1),
  id: nonEmpty,
  jobName: str,
  displayName: str,
  version: nonNegativeInt,
  state: oneOf('waiting', 'ready', 'running', 'completed', 'failed'),
  requirements: objectOf(REQUIREMENTS_FIELDS, true),
  checkpoint: bool,
  remainingTryCount: nonNegativeInt,
  children: strings,
  followOns: strings,
  services: strings,
  isService: bool,
  predecessors: strings,
  logFileId: optional(str),
  batchId: optional(str),
  lastFailure: optional(str),
  // z.unknown() as an object key still needs the key.
  body: (v) => v !== undefined,
};

/** The fields of `JobStatsSchema`. @internal */
export const JOB_STATS_FIELDS: Record<string, Check> = {
  jobId: str,
  name: str,
  time: nonNegative,
  clock: nonNegative,
  memory: nonNegative,
  requestedCores: nonNegative,
  start: num,
  succeeded: bool,
  workflowAttempt: optional(nonNegativeInt),
  predecessors: optional(strings),
};

/** The fields of `LeaderMessageSchema`. @internal */
export const LEADER_MESSAGE_FIELDS: Record<string, Check> = {
  level: oneOf('critical', 'error', 'warning', 'info', 'debug'),
  text: str,
  jobId: optional(str),
  time: optional(num),
};

/** The fields of the `worker` object of a worker's stats record. @internal */
export const WORKER_FIELDS: Record<string, Check> = {
  id: str,
  host: str,
  pid: int,
  time: nonNegative,
  clock: nonNegative,
  memory: nonNegative,
  requestedCores: nonNegative,
  jobsRun: nonNegativeInt,
};

/**
 * The fields of the `worker` kind of `StatsRecordSchema`; `messages` must be there (the schema
 * would fill in its default). @internal
 */
export const WORKER_STATS_FIELDS: Record<string, Check> = {
  v: oneOf(1),
  kind: oneOf('worker'),
  time: num,
  worker: objectOf(WORKER_FIELDS, true),
  jobs: arrayOf(objectOf(JOB_STATS_FIELDS, true)),
  messages: arrayOf(objectOf(LEADER_MESSAGE_FIELDS, true)),
};

/** The fields of the `leader` kind of `StatsRecordSchema`. @internal */
export const LEADER_STATS_FIELDS: Record<string, Check> = {
  v: oneOf(1),
  kind: oneOf('leader'),
  time: num,
  attempt: nonNegativeInt,
  totalTime: nonNegative,
  totalClock: nonNegative,
};

const positiveInt: Check = (v) => int(v) && (v as number) > 0;

/** The fields of `LeaderInfoSchema`. @internal */
export const LEADER_INFO_FIELDS: Record<string, Check> = {
  pid: positiveInt,
  nodeId: str,
  hostname: str,
  startedAt: num,
  attempt: nonNegativeInt,
  workerPids: optional(arrayOf(positiveInt)),
};

/** The fields of an entry of `OutcomeSchema`'s `failedJobs`. @internal */
export const FAILED_JOB_FIELDS: Record<string, Check> = { id: str, name: str };

/** The fields of `OutcomeSchema`; `failedJobs` must be there (the schema would fill it in). @internal */
export const OUTCOME_FIELDS: Record<string, Check> = {
  result: oneOf('succeeded', 'failed', 'killed'),
  attempt: nonNegativeInt,
  time: num,
  failedJobs: arrayOf(objectOf(FAILED_JOB_FIELDS, true)),
  killedBatchIds: optional(strings),
};

/** The fields of an entry of `JobStoreSummarySchema`'s `nodes`. @internal */
export const NODE_COUNT_FIELDS: Record<string, Check> = {
  type: str,
  state: oneOf('powered-down', 'booting', 'idle', 'busy', 'draining', 'powering-down', 'down'),
  count: nonNegativeInt,
};

/** The fields of an entry of `JobStoreSummarySchema`'s `cost.byType`. @internal */
export const COST_BY_TYPE_FIELDS: Record<string, Check> = {
  type: str,
  spot: bool,
  hours: nonNegative,
  usd: optional(nonNegative),
  noPrice: optional(str),
};

/** The fields of `JobStoreSummarySchema`'s `cost`. @internal */
export const COST_FIELDS: Record<string, Check> = {
  usd: nonNegative,
  byType: arrayOf(objectOf(COST_BY_TYPE_FIELDS, true)),
};

/** The fields of `JobStoreSummarySchema`. @internal */
export const SUMMARY_FIELDS: Record<string, Check> = {
  v: oneOf(1),
  updatedAt: num,
  attempt: nonNegativeInt,
  unfinished: nonNegativeInt,
  withChildren: nonNegativeInt,
  withServices: nonNegativeInt,
  services: nonNegativeInt,
  totallyFailed: nonNegativeInt,
  running: nonNegativeInt,
  ready: nonNegativeInt,
  completed: nonNegativeInt,
  nodes: optional(arrayOf(objectOf(NODE_COUNT_FIELDS, true))),
  cost: optional(objectOf(COST_FIELDS, true)),
};

/** The fields of `RootJobIdSchema`. @internal */
export const ROOT_JOB_ID_FIELDS: Record<string, Check> = { id: nonEmpty };

/** The fields of `KillFlagSchema`. @internal */
export const KILL_FLAG_FIELDS: Record<string, Check> = { kill: bool };

/** The fields of `ReturnValueSchema` (the key is needed, as for a job's `body`). @internal */
export const RETURN_VALUE_FIELDS: Record<string, Check> = { value: (v) => v !== undefined };

const configCheck = objectOf(CONFIG_FIELDS, false);
const jobRecordCheck = objectOf(JOB_RECORD_FIELDS, true);
const workerStatsCheck = objectOf(WORKER_STATS_FIELDS, true);
const leaderStatsCheck = objectOf(LEADER_STATS_FIELDS, true);
const leaderInfoCheck = objectOf(LEADER_INFO_FIELDS, true);
const outcomeCheck = objectOf(OUTCOME_FIELDS, true);
const summaryCheck = objectOf(SUMMARY_FIELDS, true);
const rootJobIdCheck = objectOf(ROOT_JOB_ID_FIELDS, true);
const returnValueCheck = objectOf(RETURN_VALUE_FIELDS, true);
const killFlagCheck = objectOf(KILL_FLAG_FIELDS, true);

/** True when `value` is a workflow config its schema gives back as it is. @internal */
export function isPlainWorkflowConfig(value: unknown): value is WorkflowConfig {
  return configCheck(value);
}

/** True when `value` is a job record its schema gives back as it is. @internal */
export function isPlainJobRecord(value: unknown): value is JobRecord {
  return jobRecordCheck(value);
}

/** True when `value` is a worker's stats record its schema gives back as it is. @internal */
export function isPlainWorkerStats(value: unknown): value is StatsRecord {
  return workerStatsCheck(value);
}

/** True when `value` is a stats record (a worker's or a leader's) its schema gives back as it is. @internal */
export function isPlainStatsRecord(value: unknown): value is StatsRecord {
  return workerStatsCheck(value) || leaderStatsCheck(value);
}

/** True when `value` is leader info its schema gives back as it is. @internal */
export function isPlainLeaderInfo(value: unknown): value is LeaderInfo {
  return leaderInfoCheck(value);
}

/** True when `value` is an outcome its schema gives back as it is. @internal */
export function isPlainOutcome(value: unknown): value is Outcome {
  return outcomeCheck(value);
}

/** True when `value` is a summary its schema gives back as it is. @internal */
export function isPlainSummary(value: unknown): value is JobStoreSummary {
  return summaryCheck(value);
}

/** True when `value` is the shared file `root-job-id` as its schema gives it back. @internal */
export function isPlainRootJobId(value: unknown): value is { id: string } {
  return rootJobIdCheck(value);
}

/** True when `value` is the shared file `root-return-value` as its schema gives it back. @internal */
export function isPlainReturnValue(value: unknown): value is { value: unknown } {
  return returnValueCheck(value);
}

/** True when `value` is the shared file `kill-flag` as its schema gives it back. @internal */
export function isPlainKillFlag(value: unknown): value is { kill: boolean } {
  return killFlagCheck(value);
}
