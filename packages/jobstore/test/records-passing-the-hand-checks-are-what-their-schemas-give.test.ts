import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { FileJobStore, type JobRecord } from '@toil/jobstore';
import { sampleConfig, sampleJob, sampleStats } from '@toil/jobstore/testing';
import {
  CONFIG_FIELDS,
  JOB_RECORD_FIELDS,
  JOB_STATS_FIELDS,
  LEADER_MESSAGE_FIELDS,
  REQUIREMENTS_FIELDS,
  WORKER_FIELDS,
  WORKER_STATS_FIELDS,
  isPlainJobRecord,
  isPlainWorkerStats,
  isPlainWorkflowConfig,
} from '../src/record-checks.js';
import {
  JobRecordSchema,
  JobStatsSchema,
  LeaderMessageSchema,
  RequirementsSchema,
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
