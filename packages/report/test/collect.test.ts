import type { EpochSeconds, JobStats, StatsRecord } from '@toil/jobstore';
import { DETAIL_LIMIT, ReportCollector, type RunContext } from '../src/index.js';

function attempt(
  jobId: string,
  name: string,
  start: number,
  time: number,
  extra: Partial<JobStats> = {},
): JobStats {
  return {
    jobId,
    name,
    time,
    clock: time / 2,
    memory: 1e6,
    requestedCores: 1,
    start: start as EpochSeconds,
    succeeded: true,
    workflowAttempt: 0,
    predecessors: [],
    ...extra,
  };
}

function worker(host: string, pid: number, jobs: JobStats[]): StatsRecord {
  return {
    v: 1,
    kind: 'worker',
    time: 0 as EpochSeconds,
    worker: {
      id: `${host}-${pid}`,
      host,
      pid,
      time: 1,
      clock: 1,
      memory: 1e6,
      requestedCores: 1,
      jobsRun: jobs.length,
    },
    jobs,
    messages: [],
  };
}

const context = (overrides: Partial<RunContext> = {}): RunContext => ({
  latestAttempt: 0,
  latestResult: 'succeeded',
  latestEnd: null,
  latestStart: null,
  failedJobs: [],
  ...overrides,
});

describe('the report collector', () => {
  it('packs the attempts of a host into the fewest lanes that do not overlap', () => {
    const c = new ReportCollector();
    c.add(worker('a', 1, [attempt('j1', 'x', 100, 2), attempt('j3', 'x', 102, 1)]));
    c.add(worker('a', 2, [attempt('j2', 'x', 101, 2)]));
    c.add(worker('b', 3, [attempt('j4', 'x', 100, 5)]));
    const { timeline } = c.finish(context());
    expect(timeline.lanes).toEqual([
      { host: 'a', slot: 0, attempts: 2 },
      { host: 'a', slot: 1, attempts: 1 },
      { host: 'b', slot: 0, attempts: 1 },
    ]);
    expect(timeline.attempts.map((a) => [a.jobId, a.lane, a.start])).toEqual([
      ['j1', 0, 0],
      ['j4', 2, 0],
      ['j2', 1, 1],
      ['j3', 0, 2],
    ]);
    expect([timeline.start, timeline.end]).toEqual([100, 105]);
  });

  it('numbers the tries of a job and counts runs, retried jobs and failed attempts', () => {
    const c = new ReportCollector();
    c.add(
      worker('a', 1, [
        attempt('j1', 'x', 10, 1, { succeeded: false }),
        attempt('j1', 'x', 12, 1, { succeeded: false }),
        attempt('j2', 'y', 10, 1),
      ]),
    );
    c.add(worker('a', 2, [attempt('j1', 'x', 30, 1, { workflowAttempt: 1 })]));
    c.add({
      v: 1,
      kind: 'leader',
      time: 20 as EpochSeconds,
      attempt: 0,
      totalTime: 11,
      totalClock: 2,
    });
    const collected = c.finish(
      context({ latestAttempt: 1, latestEnd: 32, latestResult: 'succeeded' }),
    );
    expect(collected.timeline.attempts.filter((a) => a.jobId === 'j1').map((a) => a.retry)).toEqual(
      [0, 1, 2],
    );
    expect(collected).toMatchObject({ jobs: 2, jobAttempts: 4, failedAttempts: 2, retriedJobs: 1 });
    expect(collected.runs).toEqual([
      {
        attempt: 0,
        start: 9,
        end: 20,
        runtime: 11,
        clock: 2,
        jobAttempts: 3,
        failedAttempts: 2,
        result: 'incomplete',
      },
      {
        attempt: 1,
        start: 30,
        end: 32,
        runtime: null,
        clock: null,
        jobAttempts: 1,
        failedAttempts: 0,
        result: 'succeeded',
      },
    ]);
    expect(collected.timeline.runs).toEqual([
      { attempt: 0, start: 0, end: 11 },
      { attempt: 1, start: 21, end: 23 },
    ]);
  });

  it('groups jobs by name with edges from their predecessors and depths for the drawing', () => {
    const c = new ReportCollector();
    c.add(
      worker('a', 1, [
        attempt('r', 'root', 0, 1),
        attempt('c1', 'child', 1, 1, { predecessors: ['r'] }),
        attempt('c2', 'child', 1, 1, { predecessors: ['r'] }),
        attempt('f', 'final', 2, 1, { predecessors: ['c1', 'c2', 'r'] }),
        attempt('f', 'final', 3, 1, { predecessors: ['c1', 'c2', 'r'] }),
      ]),
    );
    const { graph } = c.finish(context({ failedJobs: [{ id: 'f', name: 'final' }] }));
    expect(graph.groups.map((g) => [g.name, g.depth, g.jobs, g.attempts, g.failedJobs])).toEqual([
      ['root', 0, 1, 1, 0],
      ['child', 1, 2, 2, 0],
      ['final', 2, 1, 2, 1],
    ]);
    expect(graph.edges).toEqual([
      { from: 'child', to: 'final', count: 2 },
      { from: 'root', to: 'child', count: 2 },
      { from: 'root', to: 'final', count: 1 },
    ]);
    expect(graph.edgesKnown).toBe(true);
  });

  it('reads records of older releases (no run, no predecessors) and says what is missing', () => {
    const c = new ReportCollector();
    const old = attempt('j', 'x', 5, 1);
    delete old.workflowAttempt;
    delete old.predecessors;
    c.add(worker('a', 1, [old]));
    const collected = c.finish(context());
    expect(collected.complete).toEqual({ workflowAttempt: false, predecessors: false });
    expect(collected.timeline.attempts[0]?.workflowAttempt).toBeNull();
    expect(collected.graph.edgesKnown).toBe(false);
  });

  it('aggregates a large run into busy bins per lane and lists only the failed attempts', () => {
    const c = new ReportCollector();
    const jobs: JobStats[] = [];
    for (let i = 0; i <= DETAIL_LIMIT; i++)
      jobs.push(attempt(`j${i}`, 'x', i, 1, { succeeded: i !== 7 }));
    c.add(worker('a', 1, jobs));
    const { timeline } = c.finish(context());
    expect(timeline.mode).toBe('aggregated');
    expect(timeline.lanes).toHaveLength(1);
    expect(timeline.attempts.map((a) => a.jobId)).toEqual(['j7']);
    expect(timeline.omittedAttempts).toBe(DETAIL_LIMIT);
    // Back-to-back attempts keep the one lane fully busy.
    expect(new Set(timeline.bins!.busy[0])).toEqual(new Set([1]));
  });
});
