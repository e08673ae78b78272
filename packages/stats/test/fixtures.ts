import type { EpochSeconds, JobStats, StatsRecord, WorkflowConfig } from '@toil/jobstore';

/** A stored workflow config like the seed run's (`--stats`, single machine, defaults). */
export function seedConfig(overrides: Partial<WorkflowConfig> = {}): WorkflowConfig {
  return {
    format: 1,
    workflowId: 'wf-seed',
    attempt: 0,
    createdAt: 1_700_000_000 as EpochSeconds,
    toilVersion: '0.1.0',
    batchSystem: 'single_machine',
    defaultCores: 1,
    defaultMemory: 2 * 1024 ** 3,
    defaultDisk: 2 * 1024 ** 3,
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    retryCount: 1,
    stats: true,
    clean: 'never',
    cleanWorkDir: 'always',
    ...overrides,
  };
}

/** One job's stats. */
export function jobStats(
  name: string,
  time: number,
  clock: number,
  memoryKiB = 76,
  extra: Partial<JobStats> = {},
): JobStats {
  return {
    jobId: `${name}-${time}`,
    name,
    time,
    clock,
    memory: memoryKiB * 1024,
    requestedCores: 1,
    start: 1_700_000_000 as EpochSeconds,
    succeeded: true,
    ...extra,
  };
}

/** A worker record holding `jobs`. */
export function workerRecord(
  id: string,
  jobs: JobStats[],
  totals: { time: number; clock: number; memoryKiB?: number },
): StatsRecord {
  return {
    v: 1,
    kind: 'worker',
    time: 1_700_000_001 as EpochSeconds,
    worker: {
      id,
      host: 'vm',
      pid: 4242,
      time: totals.time,
      clock: totals.clock,
      memory: (totals.memoryKiB ?? 76) * 1024,
      requestedCores: 1,
      jobsRun: jobs.length,
    },
    jobs,
    messages: [],
  };
}

/** A leader record for one attempt. */
export function leaderRecord(attempt: number, totalTime: number, totalClock: number): StatsRecord {
  return {
    v: 1,
    kind: 'leader',
    time: 1_700_000_002 as EpochSeconds,
    attempt,
    totalTime,
    totalClock,
  };
}

/** The seed page's run: three jobs chained in one worker, then the leader's totals. */
export function seedRecords(): StatsRecord[] {
  return [
    workerRecord(
      'w1',
      [
        jobStats('sysFiles', 0.01, 0.004),
        jobStats('userFiles', 0.06, 0.058),
        jobStats('discoverFiles', 0.07, 0.068),
      ],
      { time: 0.14, clock: 0.13 },
    ),
    leaderRecord(0, 1.01, 0.56),
  ];
}
