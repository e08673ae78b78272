import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { FileJobStore, type JobRecord } from '@toil/jobstore';
import { sampleConfig, sampleJob, sampleStats } from '@toil/jobstore/testing';
import {
  CONFIG_FIELDS,
  COST_BY_TYPE_FIELDS,
  COST_FIELDS,
  FAILED_JOB_FIELDS,
  JOB_RECORD_FIELDS,
  JOB_STATS_FIELDS,
  KILL_FLAG_FIELDS,
  LEADER_INFO_FIELDS,
  LEADER_MESSAGE_FIELDS,
  LEADER_STATS_FIELDS,
  NODE_COUNT_FIELDS,
  OUTCOME_FIELDS,
  REQUIREMENTS_FIELDS,
  RETURN_VALUE_FIELDS,
  ROOT_JOB_ID_FIELDS,
  SUMMARY_FIELDS,
  WORKER_FIELDS,
  WORKER_STATS_FIELDS,
  isPlainJobRecord,
  isPlainKillFlag,
  isPlainLeaderInfo,
  isPlainOutcome,
  isPlainReturnValue,
  isPlainRootJobId,
  isPlainStatsRecord,
  isPlainSummary,
  isPlainWorkerStats,
  isPlainWorkflowConfig,
} from '../src/record-checks.js';
import {
  JobRecordSchema,
  JobStatsSchema,
  JobStoreSummarySchema,
  KillFlagSchema,
  LeaderInfoSchema,
  LeaderMessageSchema,
  OutcomeSchema,
  RequirementsSchema,
  ReturnValueSchema,
  RootJobIdSchema,
  StatsRecordSchema,
  WorkflowConfigSchema,
} from '../src/schemas.js';

/** Odd values every field is tried with. */
const ODD: unknown[] = [
  undefined,
  null,
  -1,
  0,
  1,
  1.5,
  2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 60,
  '',
  'x',
  'always',
  'ready',
  'info',
  'worker',
  true,
  false,
  [],
  ['a'],
  [1],
  {},
];

type Value = Record<string, unknown>;

/** `base` with each field removed, and each field set to each odd value, and one extra key. */
function variants(base: Value): Value[] {
  const out: Value[] = [base, { ...base, extra: 1 }];
  for (const key of Object.keys(base)) {
    const { [key]: _removed, ...without } = base;
    out.push(without);
    for (const odd of ODD) out.push({ ...base, [key]: odd });
  }
  return out;
}

/** Each variant the hand check accepts, the schema accepts too and gives back equal. */
function expectAgreement(check: (v: unknown) => boolean, schema: z.ZodType, values: Value[]) {
  let accepted = 0;
  for (const value of values) {
    if (!check(value)) continue;
    accepted += 1;
    const parsed = schema.safeParse(value);
    expect({ value, issue: parsed.error?.issues[0] }).toEqual({ value, issue: undefined });
    expect(parsed.data).toEqual(value);
  }
  return accepted;
}

const fullJob = (): JobRecord =>
  sampleJob('job-1', {
    requirements: { cores: 2, memory: 1024, disk: 0, preemptible: true, runtime: 30 },
    children: ['a'],
    followOns: ['b'],
    predecessors: ['c'],
    logFileId: 'log',
    batchId: '42',
    lastFailure: 'exit 1',
  });

describe('the hand checks that spare a worker zod', () => {
  it('know exactly the fields of the schemas they stand for', () => {
    const keys = (fields: Record<string, unknown>) => Object.keys(fields).sort();
    const shape = (schema: { shape: Record<string, unknown> }) => Object.keys(schema.shape).sort();
    const workerKind = StatsRecordSchema.options[0];
    expect(keys(CONFIG_FIELDS)).toEqual(shape(WorkflowConfigSchema));
    expect(keys(JOB_RECORD_FIELDS)).toEqual(shape(JobRecordSchema));
    expect(keys(REQUIREMENTS_FIELDS)).toEqual(shape(RequirementsSchema));
    expect(keys(JOB_STATS_FIELDS)).toEqual(shape(JobStatsSchema));
    expect(keys(LEADER_MESSAGE_FIELDS)).toEqual(shape(LeaderMessageSchema));
    expect(keys(WORKER_FIELDS)).toEqual(shape(workerKind.shape.worker));
    expect(keys(WORKER_STATS_FIELDS)).toEqual(shape(workerKind));
    expect(keys(LEADER_STATS_FIELDS)).toEqual(shape(StatsRecordSchema.options[1]));
    expect(keys(LEADER_INFO_FIELDS)).toEqual(shape(LeaderInfoSchema));
    expect(keys(OUTCOME_FIELDS)).toEqual(shape(OutcomeSchema));
    expect(keys(FAILED_JOB_FIELDS)).toEqual(shape(OutcomeSchema.shape.failedJobs.unwrap().element));
    expect(keys(SUMMARY_FIELDS)).toEqual(shape(JobStoreSummarySchema));
    expect(keys(NODE_COUNT_FIELDS)).toEqual(
      shape(JobStoreSummarySchema.shape.nodes.unwrap().element),
    );
    expect(keys(COST_FIELDS)).toEqual(shape(JobStoreSummarySchema.shape.cost.unwrap()));
    expect(keys(COST_BY_TYPE_FIELDS)).toEqual(
      shape(JobStoreSummarySchema.shape.cost.unwrap().shape.byType.element),
    );
    expect(keys(ROOT_JOB_ID_FIELDS)).toEqual(shape(RootJobIdSchema));
    expect(keys(KILL_FLAG_FIELDS)).toEqual(shape(KillFlagSchema));
    expect(keys(RETURN_VALUE_FIELDS)).toEqual(shape(ReturnValueSchema));
  });

  it('accept only configs, job records and worker stats records that their schemas give back unchanged', () => {
    const config = { ...sampleConfig(), workflowModule: '/wf.mjs', workDir: '/w' } as Value;
    const configs = variants(config);
    expect(expectAgreement(isPlainWorkflowConfig, WorkflowConfigSchema, configs)).toBeGreaterThan(
      10,
    );
    // The config passes other keys through: a config with one more key needs no zod.
    expect(isPlainWorkflowConfig({ ...config, slurmPartition: 'batch' })).toBe(true);

    const job = fullJob() as Value;
    const jobs = [
      ...variants(job),
      ...variants(job.requirements as Value).map((requirements) => ({ ...job, requirements })),
    ];
    expect(expectAgreement(isPlainJobRecord, JobRecordSchema, jobs)).toBeGreaterThan(10);

    const stats = sampleStats(3);
    const statsJob = {
      jobId: 'j',
      name: 'n',
      time: 1,
      clock: 0.5,
      memory: 10,
      requestedCores: 1,
      start: 5,
      succeeded: true,
      workflowAttempt: 0,
      predecessors: ['p'],
    };
    const message = { level: 'info', text: 't', jobId: 'j', time: 5 };
    const full: Value = { ...stats, jobs: [statsJob], messages: [message] };
    const records = [
      ...variants(full),
      ...variants(full.worker as Value).map((worker) => ({ ...full, worker })),
      ...variants(statsJob).map((j) => ({ ...full, jobs: [j] })),
      ...variants(message).map((m) => ({ ...full, messages: [m] })),
    ];
    expect(expectAgreement(isPlainWorkerStats, StatsRecordSchema, records)).toBeGreaterThan(10);
    expect(expectAgreement(isPlainStatsRecord, StatsRecordSchema, records)).toBeGreaterThan(10);
  });

  it('accept only the shared files and stats a leader writes that their schemas give back unchanged', () => {
    const leaderStats = {
      v: 1,
      kind: 'leader',
      time: 5,
      attempt: 0,
      totalTime: 1,
      totalClock: 0.5,
    };
    expect(
      expectAgreement(isPlainStatsRecord, StatsRecordSchema, variants(leaderStats)),
    ).toBeGreaterThan(5);
    const info = {
      pid: 42,
      nodeId: 'n',
      hostname: 'h',
      startedAt: 5,
      attempt: 0,
      workerPids: [43],
    };
    expect(expectAgreement(isPlainLeaderInfo, LeaderInfoSchema, variants(info))).toBeGreaterThan(5);
    const failedJob = { id: 'j', name: 'n' };
    const outcome = {
      result: 'failed',
      attempt: 1,
      time: 5,
      failedJobs: [failedJob],
      killedBatchIds: ['7'],
    };
    const outcomes = [
      ...variants(outcome),
      ...variants(failedJob).map((j) => ({ ...outcome, failedJobs: [j] })),
    ];
    expect(expectAgreement(isPlainOutcome, OutcomeSchema, outcomes)).toBeGreaterThan(5);
    // Without failedJobs the schema fills in its default: zod decides.
    expect(isPlainOutcome({ result: 'succeeded', attempt: 0, time: 5 })).toBe(false);
    const node = { type: 't2.medium', state: 'busy', count: 2 };
    const summary = {
      v: 1,
      updatedAt: 5,
      attempt: 0,
      unfinished: 1,
      withChildren: 0,
      withServices: 0,
      services: 0,
      totallyFailed: 0,
      running: 1,
      ready: 0,
      completed: 3,
      nodes: [node],
    };
    const priced = { type: 't2.medium', spot: true, hours: 0.5, usd: 0.01 };
    const unpriced = { type: 't3.medium', spot: false, hours: 1, noPrice: 'no Price List API' };
    const cost = { usd: 0.01, byType: [priced, unpriced] };
    const summaries = [
      ...variants(summary),
      ...variants(node).map((n) => ({ ...summary, nodes: [n] })),
      ...variants({ ...summary, cost }),
      ...variants(cost).map((c) => ({ ...summary, cost: c })),
      ...variants(priced).map((t) => ({ ...summary, cost: { ...cost, byType: [t] } })),
      ...variants(unpriced).map((t) => ({ ...summary, cost: { ...cost, byType: [t] } })),
    ];
    // A summary with a cost passes the hand check: a cluster run's leader loads no zod for it.
    expect(isPlainSummary({ ...summary, cost })).toBe(true);
    expect(expectAgreement(isPlainSummary, JobStoreSummarySchema, summaries)).toBeGreaterThan(5);
    expect(
      expectAgreement(isPlainRootJobId, RootJobIdSchema, variants({ id: 'root' })),
    ).toBeGreaterThan(1);
    expect(
      expectAgreement(isPlainKillFlag, KillFlagSchema, variants({ kill: true })),
    ).toBeGreaterThan(1);
    expect(
      expectAgreement(isPlainReturnValue, ReturnValueSchema, [
        ...variants({ value: { a: [1] } }),
        { value: null },
        {},
      ]),
    ).toBeGreaterThan(5);
  });

  it('leave what they refuse to the schemas, so a bad record is still refused with its reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-hand-checks-'));
    try {
      const store = new FileJobStore({ kind: 'file', path: join(dir, 'store') } as never);
      await store.create(sampleConfig());
      const bad = { ...sampleJob('job-2'), version: -1 } as JobRecord;
      expect(isPlainJobRecord(bad)).toBe(false);
      await expect(store.commit([{ op: 'put', record: bad }])).rejects.toMatchObject({
        code: 'JOBSTORE_CORRUPT',
      });
      const good = fullJob();
      await store.commit([{ op: 'put', record: good }]);
      expect(await store.loadJob('job-1')).toEqual(good);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
