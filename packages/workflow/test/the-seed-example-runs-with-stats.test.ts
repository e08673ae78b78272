import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { EXAMPLE, FIXTURE, runWorkflow, scratch, snapshot, withStore } from './helpers.js';

async function expectSeedStats(locator: string): Promise<void> {
  const { jobs, stats } = await snapshot(locator);
  // A finished workflow has no job records left (no root job: `toil status` says it completed).
  expect(jobs).toEqual([]);
  const jobStats = stats.flatMap((r) => (r.kind === 'worker' ? r.jobs : []));
  expect(jobStats.map((j) => j.name).sort()).toEqual(['DiscoverFiles', 'sysFiles', 'userFiles']);
  for (const j of jobStats) {
    expect(j.succeeded).toBe(true);
    expect(j.memory).toBeGreaterThan(0);
    expect(j.requestedCores).toBe(1);
    expect(j.clock).toBeGreaterThanOrEqual(0);
  }
  const leader = stats.filter((r) => r.kind === 'leader');
  expect(leader).toHaveLength(1);
  await withStore(locator, async (store) => {
    expect(await store.getOutcome()).toMatchObject({
      result: 'succeeded',
      attempt: 0,
      failedJobs: [],
    });
    expect(await store.readSummary()).toMatchObject({ unfinished: 0, completed: 3 });
    const info = await store.getLeader();
    expect(info?.pid).toBeGreaterThan(0);
  });
}

describe('the seed example', () => {
  it('runs through `toil run` with --stats and keeps its stats records', async () => {
    const locator = `file:${join(scratch(), 'my-jobstore')}`;
    const result = await runToil(['run', EXAMPLE, locator, '--stats']);
    expect(result.stderr).toContain("Setting clean to 'never'");
    expect(result.code).toBe(0);
    await expectSeedStats(locator);
  });

  it('runs as its own program with --stats', async () => {
    const locator = `file:${join(scratch(), 'my-jobstore')}`;
    const result = await runWorkflow(EXAMPLE, [locator, '--stats']);
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    await expectSeedStats(locator);
  });

  it("counts the CPU of the processes a job starts in the job's clock", async () => {
    const locator = `file:${join(scratch(), 'store')}`;
    const result = await runWorkflow(FIXTURE, [locator, '--stats'], { TOIL_TEST_CASE: 'childCpu' });
    expect(result.code).toBe(0);
    const { stats } = await snapshot(locator);
    const burner = stats
      .flatMap((r) => (r.kind === 'worker' ? r.jobs : []))
      .find((j) => j.name === 'burner');
    // The child burns 0.5 s of CPU; a worker that missed its children would report ~0.
    expect(burner?.clock).toBeGreaterThanOrEqual(0.45);
  });

  it('deletes the job store after success by default (--clean onSuccess)', async () => {
    const dir = join(scratch(), 'store');
    const result = await runWorkflow(EXAMPLE, [`file:${dir}`]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Successfully deleted the job store');
    const { existsSync } = await import('node:fs');
    expect(existsSync(dir)).toBe(false);
  });
});
