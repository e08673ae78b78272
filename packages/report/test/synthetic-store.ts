// Writes a job store as a two-run workflow of N jobs would leave it, straight through the
// JobStore API (running N real jobs is what `pnpm bench workflow` measures, not the report):
// a tree of fan-out 4 whose levels are the job names, on 4 hosts with 2 workers each, a
// restart after 40 % of the jobs, a failed first try of every 400th job (retried on the
// spot), and 3 jobs of the last level that failed for good with logs. The benchmark writes
// its 100,000-job store with it too (bench/fixtures/report-store.ts).
import {
  openJobStore,
  type EpochSeconds,
  type JobRecord,
  type JobStats,
  type StatsRecord,
} from '@toil/jobstore';

/** A synthetic stored time (epoch seconds). */
const at = (seconds: number): EpochSeconds => seconds as EpochSeconds;
import { sampleConfig, sampleJob } from '@toil/jobstore/testing';

/** The names of the tree's levels, root first; deeper levels reuse the last name. */
export const LEVEL_NAMES = ['root', 'split', 'align', 'sort', 'merge', 'call', 'annotate'];
/** Jobs that fail for good in a synthetic store. */
export const FAILED_FOR_GOOD = 3;
/** Every this-many-th job has a failed first try. */
export const RETRY_EVERY = 400;
const HOSTS = ['node-1', 'node-2', 'node-3', 'node-4'];
const LANES = HOSTS.length * 2;
const T0 = 1_800_000_000;
const STEP = 0.05;

function levelOf(i: number): number {
  let level = 0;
  for (let first = 0, width = 1; i >= first + width; first += width, width *= 4) level++;
  return level;
}

function nameOf(i: number): string {
  return LEVEL_NAMES[Math.min(levelOf(i), LEVEL_NAMES.length - 1)]!;
}

/** What a synthetic store of `jobs` jobs holds, for tests to compare against. */
export interface SyntheticExpectations {
  attempts: number;
  failedAttempts: number;
  /** Jobs per name. */
  jobsByName: Map<string, number>;
  /** Failed first tries per name (jobs retried on the spot). */
  failedTriesByName: Map<string, number>;
  failedIds: string[];
}

/** The expected figures of {@link writeSyntheticStore} with `jobs` jobs. */
export function syntheticExpectations(jobs: number): SyntheticExpectations {
  const jobsByName = new Map<string, number>();
  const failedTriesByName = new Map<string, number>();
  for (let i = 0; i < jobs; i++) {
    const name = nameOf(i);
    jobsByName.set(name, (jobsByName.get(name) ?? 0) + 1);
    if (i > 0 && i % RETRY_EVERY === 0)
      failedTriesByName.set(name, (failedTriesByName.get(name) ?? 0) + 1);
  }
  const retried = Math.floor((jobs - 1) / RETRY_EVERY);
  const failedIds = Array.from({ length: FAILED_FOR_GOOD }, (_, k) => `job-${jobs - 1 - k}`);
  return {
    attempts: jobs + retried,
    failedAttempts: retried + FAILED_FOR_GOOD,
    jobsByName,
    failedTriesByName,
    failedIds,
  };
}

/** Writes the store (see the file comment); `locator` must not exist yet. */
export async function writeSyntheticStore(locator: string, jobs: number): Promise<void> {
  const store = await openJobStore(locator);
  const restartAt = Math.floor(jobs * 0.4);
  const restartGap = 5;
  const failedIds = new Set(syntheticExpectations(jobs).failedIds);
  try {
    await store.create(
      sampleConfig({
        workflowId: `synthetic-${jobs}`,
        attempt: 1,
        createdAt: at(T0 - 1),
        batchSystem: 'slurm',
        clean: 'never',
      }),
    );
    const byLane: JobStats[][] = Array.from({ length: LANES }, () => []);
    let end = T0;
    let runEnd0 = T0;
    let restartShift = 0;
    for (let i = 0; i < jobs; i++) {
      const lane = i % LANES;
      const workflowAttempt = i < restartAt ? 0 : 1;
      if (i === restartAt) restartShift = restartGap;
      let start = T0 + Math.floor(i / LANES) * STEP + restartShift;
      const name = nameOf(i);
      const base = {
        jobId: `job-${i}`,
        name,
        clock: 0.01,
        memory: 50e6 + (i % 17) * 1e6,
        requestedCores: 1,
        workflowAttempt,
        predecessors: i === 0 ? [] : [`job-${Math.floor((i - 1) / 4)}`],
      };
      const retried = i > 0 && i % RETRY_EVERY === 0;
      if (retried) {
        byLane[lane]!.push({ ...base, time: STEP * 0.4, start: at(start), succeeded: false });
        start += STEP * 0.45;
      }
      const failed = failedIds.has(base.jobId);
      const time = retried ? STEP * 0.4 : STEP * 0.9;
      byLane[lane]!.push({ ...base, time, start: at(start), succeeded: !failed });
      end = Math.max(end, start + time);
      if (workflowAttempt === 0) runEnd0 = end;
    }
    const records: StatsRecord[] = [];
    byLane.forEach((list, lane) => {
      for (let k = 0; k < list.length; k += 250) {
        const chunk = list.slice(k, k + 250);
        records.push({
          v: 1,
          kind: 'worker',
          time: at(chunk[chunk.length - 1]!.start + 1),
          worker: {
            id: `worker-${lane}`,
            host: HOSTS[lane % HOSTS.length]!,
            pid: 2000 + lane,
            time: chunk.reduce((s, j) => s + j.time, 0),
            clock: chunk.reduce((s, j) => s + j.clock, 0),
            memory: 70e6,
            requestedCores: 1,
            jobsRun: chunk.length,
          },
          jobs: chunk,
          messages: [],
        });
      }
    });
    records.push(
      {
        v: 1,
        kind: 'leader',
        time: at(runEnd0 + 0.5),
        attempt: 0,
        totalTime: runEnd0 - T0 + 1.5,
        totalClock: 3,
      },
      {
        v: 1,
        kind: 'leader',
        time: at(end + 0.5),
        attempt: 1,
        totalTime: end - (runEnd0 + restartGap - 1) + 0.5,
        totalClock: 4,
      },
    );
    for (let i = 0; i < records.length; i += 500)
      await Promise.all(records.slice(i, i + 500).map((r) => store.appendStats(r)));

    const jobRecords: JobRecord[] = [];
    for (const id of failedIds) {
      const logFileId = await store.writeFileFromStream(
        (async function* () {
          yield Buffer.from(`starting ${id}\nreading input\n${id}: out of disk space\n`);
        })(),
        { jobId: id, cleanup: true, basename: 'worker_log.txt' },
      );
      jobRecords.push(
        jobRecord(id, LEVEL_NAMES[LEVEL_NAMES.length - 1]!, {
          state: 'failed',
          remainingTryCount: 0,
          logFileId,
          lastFailure: 'worker exited with code 1',
        }),
      );
    }
    jobRecords.push(jobRecord('job-0', 'root', { state: 'waiting', children: [...failedIds] }));
    await store.commit(jobRecords.map((record) => ({ op: 'put' as const, record })));
    await store.setRootJobId('job-0');
    await store.setLeader({
      pid: 999_999,
      nodeId: 'synthetic-node',
      hostname: 'node-1',
      startedAt: at(runEnd0 + restartGap - 1),
      attempt: 1,
    });
    await store.setOutcome({
      result: 'failed',
      attempt: 1,
      time: at(end + 0.5),
      failedJobs: [...failedIds].map((id) => ({ id, name: 'annotate' })),
    });
    await store.writeSummary({
      v: 1,
      updatedAt: at(end + 0.5),
      attempt: 1,
      unfinished: failedIds.size + 1,
      withChildren: 1,
      withServices: 0,
      services: 0,
      totallyFailed: failedIds.size,
      running: 0,
      ready: 0,
      completed: jobs - failedIds.size - 1,
    });
  } finally {
    await store.close();
  }
}

function jobRecord(id: string, name: string, overrides: Partial<JobRecord>): JobRecord {
  return sampleJob(id, { jobName: name, displayName: name, version: 3, body: {}, ...overrides });
}
