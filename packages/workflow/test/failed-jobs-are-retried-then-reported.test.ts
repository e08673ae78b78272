import { join } from 'node:path';
import { FIXTURE, lines, runWorkflow, scratch, snapshot, withStore } from './helpers.js';

describe('retries and totally failed jobs', () => {
  it('retries a failed job and succeeds when a retry works', async () => {
    const dir = scratch();
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`], {
      TOIL_TEST_CASE: 'retry',
      TOIL_TEST_OUT: join(dir, 'out'),
      TOIL_TEST_MARKER: join(dir, 'marker'),
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('reducing the remaining try count');
    expect(lines(join(dir, 'out'))).toEqual([
      'failsOnce first attempt',
      'failsOnce second attempt',
    ]);
  });

  it('fails only the jobs that throw or exit, stops their successors and reports each with its log', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const result = await runWorkflow(FIXTURE, [locator, '--retryCount', '2'], {
      TOIL_TEST_CASE: 'fail',
      TOIL_TEST_OUT: join(dir, 'out'),
    });
    expect(result.code).toBe(1);
    const out = lines(join(dir, 'out'));
    // --retryCount 2: three attempts each; the sibling still ran; the follow-on never did.
    expect(out.filter((l) => l === 'alwaysFails attempt')).toHaveLength(3);
    expect(out.filter((l) => l === 'exitsWorker attempt')).toHaveLength(3);
    expect(out).toContain('sibling');
    expect(out).not.toContain('never-runs');
    expect(result.stderr).toContain("contains 3 failed jobs: 'alwaysFails'");
    expect(result.stderr).toContain("'exitsWorker'");
    expect(result.stderr).toContain('worker exited with code 3');
    expect(result.stderr).toContain('Log from job "alwaysFails"');
    expect(result.stderr).toContain('output line before the failure');
    expect(result.stderr).toContain('about to exit the worker');
    expect(result.stderr.split('\n').filter((l) => l.startsWith('toil: error:'))).toHaveLength(1);
    // The store is kept (default --clean onSuccess) with the failed jobs and their logs.
    const { jobs } = await snapshot(locator);
    const failed = jobs.filter((j) => j.state === 'failed');
    expect(failed.map((j) => j.displayName).sort()).toEqual([
      'Recorder',
      'alwaysFails',
      'exitsWorker',
    ]);
    expect(jobs.find((j) => j.displayName === 'alwaysFails')?.logFileId).toBeDefined();
    await withStore(locator, async (store) => {
      const outcome = await store.getOutcome();
      expect(outcome?.result).toBe('failed');
      expect(outcome?.failedJobs).toHaveLength(3);
    });
  });
});

describe('a worker that dies after recording a completion', () => {
  it('does not make the leader rerun the job: its successors run', async () => {
    const dir = scratch();
    // Without chaining the child goes through the leader, after the lost report.
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`, '--disableChaining'], {
      TOIL_TEST_CASE: 'lostReport',
      TOIL_TEST_OUT: join(dir, 'out'),
    });
    expect(result.stderr).toContain(
      'completed, but its worker failed afterwards (worker exited with code 7); not running it again.',
    );
    expect(result.code).toBe(0);
    expect(lines(join(dir, 'out'))).toEqual(['diesBeforeReporting ran', 'child-after-lost-report']);
  });

  it('after a chain, reruns nothing: the last job of the chain recorded its own completion', async () => {
    const dir = scratch();
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`], {
      TOIL_TEST_CASE: 'lostReport',
      TOIL_TEST_OUT: join(dir, 'out'),
    });
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.stderr).not.toContain('reducing the remaining try count');
    expect(result.code).toBe(0);
    expect(lines(join(dir, 'out'))).toEqual(['diesBeforeReporting ran', 'child-after-lost-report']);
  });
});

describe('restarting a failed workflow', () => {
  it('resets try counts and reruns only the jobs that did not complete', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = { TOIL_TEST_CASE: 'fail', TOIL_TEST_OUT: join(dir, 'out') };
    const first = await runWorkflow(FIXTURE, [locator, '--retryCount', '0'], env);
    expect(first.code).toBe(1);
    const before = lines(join(dir, 'out'));
    expect(before.filter((l) => l === 'alwaysFails attempt')).toHaveLength(1);
    const second = await runWorkflow(FIXTURE, [locator, '--restart', '--retryCount', '1'], env);
    expect(second.code).toBe(1);
    const after = lines(join(dir, 'out')).slice(before.length);
    // Two tries each again (--retryCount 1 on restart); completed jobs did not rerun.
    expect(after.filter((l) => l === 'alwaysFails attempt')).toHaveLength(2);
    expect(after.filter((l) => l === 'exitsWorker attempt')).toHaveLength(2);
    expect(after).not.toContain('sibling');
    expect(after).not.toContain('root');
    await withStore(locator, async (store) => {
      expect((await store.resume()).attempt).toBe(1);
      expect(await store.getOutcome()).toMatchObject({ result: 'failed', attempt: 1 });
    });
  });
});
