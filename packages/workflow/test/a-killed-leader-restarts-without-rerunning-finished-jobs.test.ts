import { join } from 'node:path';
import type { LeaderInfo } from '@toil/jobstore';
import {
  FIXTURE,
  alive,
  lines,
  runWorkflow,
  scratch,
  snapshot,
  startWorkflow,
  waitFor,
  withStore,
} from './helpers.js';

async function leaderWithWorkers(locator: string, count = 1): Promise<LeaderInfo> {
  return waitFor(`the leader to record ${count} workers`, () =>
    withStore(locator, async (store) => {
      const info = await store.getLeader();
      return info && (info.workerPids?.length ?? 0) >= count ? info : undefined;
    }).catch(() => undefined),
  );
}

describe('kill and restart', () => {
  it('restarts after a SIGKILL of the leader without rerunning jobs whose completion was recorded', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const out = join(dir, 'out');
    const env = {
      TOIL_TEST_CASE: 'sleepers',
      TOIL_TEST_COUNT: '8',
      TOIL_TEST_SECONDS: '0.5',
      TOIL_TEST_OUT: out,
    };
    const run = startWorkflow(FIXTURE, [locator], env);
    const info = await leaderWithWorkers(locator);
    await waitFor('three sleepers to finish', () => lines(out).length >= 3);
    run.child.kill('SIGKILL');
    await run.done;
    // Workers never outlive the leader, even a SIGKILLed one.
    for (const pid of info.workerPids ?? [])
      await waitFor(`worker ${pid} to exit`, () => !alive(pid));
    const { jobs } = await snapshot(locator);
    const unfinished = new Set(jobs.map((j) => j.displayName));
    const recordedDone = Array.from({ length: 8 }, (_, i) => `sleeper-${i}`).filter(
      (n) => !unfinished.has(n),
    );
    expect(recordedDone.length).toBeGreaterThan(0);
    const before = lines(out);

    const restarted = await runWorkflow(FIXTURE, [locator, '--restart', '--clean', 'never'], env);
    expect(restarted.stderr).toContain('Finished toil run successfully.');
    expect(restarted.code).toBe(0);
    const after = lines(out).slice(before.length);
    for (const name of recordedDone) expect(after).not.toContain(name);
    const all = lines(out);
    for (let i = 0; i < 8; i++) expect(all).toContain(`sleeper-${i}`);
    await withStore(locator, async (store) => {
      expect((await store.resume()).attempt).toBe(1);
      expect(await store.getOutcome()).toMatchObject({ result: 'succeeded', attempt: 1 });
    });
    // Restarting a completed workflow does nothing and succeeds.
    const again = await runWorkflow(FIXTURE, [locator, '--restart'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already been completed');
  });

  it('stops on the kill flag, kills its workers and records the outcome; the store stays restartable', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = {
      TOIL_TEST_CASE: 'sleepers',
      TOIL_TEST_COUNT: '4',
      TOIL_TEST_SECONDS: '60',
      TOIL_TEST_OUT: join(dir, 'out'),
    };
    // Four sleepers on two cores: two warm workers run at once.
    const run = startWorkflow(
      FIXTURE,
      [locator, '--stats', '--maxCores', '2', '--maxLocalJobs', '2'],
      env,
    );
    const info = await leaderWithWorkers(locator, 2);
    await withStore(locator, (store) => store.setKillFlag(true));
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('kill flag');
    for (const pid of info.workerPids ?? []) expect(alive(pid)).toBe(false);
    await withStore(locator, async (store) => {
      const outcome = await store.getOutcome();
      expect(outcome?.result).toBe('killed');
      expect(outcome?.killedBatchIds?.length).toBeGreaterThan(0);
    });
    const { jobs, stats } = await snapshot(locator);
    expect(jobs.length).toBeGreaterThan(0);
    expect(stats.some((r) => r.kind === 'leader')).toBe(true);
    // --restart clears the flag; a SIGTERM stops that run the same way.
    const second = startWorkflow(FIXTURE, [locator, '--restart'], env);
    const secondInfo = await waitFor('the restarted leader', () =>
      withStore(locator, async (store) => {
        const leader = await store.getLeader();
        return leader && leader.attempt === 1 && (leader.workerPids?.length ?? 0) > 0
          ? leader
          : undefined;
      }).catch(() => undefined),
    );
    second.child.kill('SIGTERM');
    const stopped = await second.done;
    expect(stopped.code).toBe(143);
    for (const pid of secondInfo.workerPids ?? []) expect(alive(pid)).toBe(false);
    await withStore(locator, async (store) =>
      expect((await store.getOutcome())?.result).toBe('killed'),
    );
  });

  it('on SIGINT counts only the jobs that were running, and a --restart --clean always meanwhile deletes nothing', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const out = join(dir, 'out');
    const env = {
      TOIL_TEST_CASE: 'sleepers',
      TOIL_TEST_COUNT: '40',
      TOIL_TEST_SECONDS: '60',
      TOIL_TEST_NOTE_START: '1',
      TOIL_TEST_OUT: out,
    };
    // 40 sleepers queued on two cores: two run, 38 wait in the batch system.
    const run = startWorkflow(FIXTURE, [locator, '--maxCores', '2', '--maxLocalJobs', '2'], env);
    await waitFor('two sleepers to start', () => lines(out).length >= 2);
    // The leader is alive: a restart is refused, and its clean policy must not apply.
    const refused = await runWorkflow(FIXTURE, [locator, '--restart', '--clean', 'always'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is still running');
    await withStore(locator, async (store) => expect(await store.getRootJobId()).toBeDefined());
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(
      '2 running job(s) were killed and 38 queued job(s) were not started',
    );
    expect(lines(out)).toHaveLength(2);
    await withStore(locator, async (store) =>
      expect((await store.getOutcome())?.killedBatchIds).toHaveLength(2),
    );
  });
});
