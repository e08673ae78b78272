import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import { acquireSlurm, describeWithSlurm, releaseSlurm } from '../../../tooling/test-env/slurm.js';
import {
  FIXTURE,
  notes,
  queued,
  scratch as scratchIn,
  startLeader,
  waitUntil,
} from './slurm-workflows.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'discoverfiles.ts');

function scratch() {
  return scratchIn('e2e-');
}

/** Starts a leader (in the background) that runs `count` sleepers of `seconds` each on Slurm. */
function startSleepers(count: number, seconds: number) {
  const { store, out, slurm } = scratch();
  const env = {
    TOIL_TEST_CASE: 'sleepers',
    TOIL_TEST_COUNT: String(count),
    TOIL_TEST_SECONDS: String(seconds),
    TOIL_TEST_OUT: out,
  };
  return { store, out, slurm, env, leader: startLeader(['run', FIXTURE, store, ...slurm], env) };
}

describeWithSlurm('workflows on Slurm, end to end through the CLI', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('runs the seed example with --stats, and toil stats shows its jobs on the slurm batch system', async () => {
    const { store, slurm } = scratch();
    const run = await runToil(['run', EXAMPLE, store, '--stats', ...slurm]);
    expect(run.stderr).toContain('with the slurm batch system');
    expect(run.code).toBe(0);
    const stats = await runToil(['stats', store]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain('Batch System: slurm');
    for (const name of ['sysFiles', 'userFiles', 'DiscoverFiles'])
      expect(stats.stdout).toContain(name);
  });

  it('runs a 100-job fan-out with --stats, and toil stats counts every job', async () => {
    const { dir, store, out, slurm } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--stats', ...slurm], {
      env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '100', TOIL_TEST_OUT: out },
    });
    expect(run.code).toBe(0);
    expect(new Set(notes(out)).size).toBe(100);
    const raw = JSON.parse((await runToil(['stats', store, '--raw'])).stdout) as {
      batchSystem: string;
      jobs: { count: number };
      jobTypes: Array<{ name: string; count: number }>;
    };
    expect(raw.batchSystem).toBe('slurm');
    expect(raw.jobs.count).toBe(101);
    expect(raw.jobTypes.find((t) => t.name === 'leaf')?.count).toBe(100);
    // Only this run's jobs: other runs' leaf jobs may share the cluster.
    expect(queued('leaf', dir)).toEqual([]);
    // The workers' directories (--workDir) are gone, the workflow's own with the last of them.
    expect(readdirSync(dir).filter((name) => name.startsWith('toil-'))).toEqual([]);
  }, 300_000);

  it('retries a failing job, then reports it totally failed with its log', async () => {
    const { store, out, slurm } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--retryCount', '1', ...slurm], {
      env: { ...process.env, TOIL_TEST_CASE: 'fail', TOIL_TEST_OUT: out },
    });
    expect(run.code).not.toBe(0);
    expect(notes(out)).toEqual(['alwaysFails attempt', 'alwaysFails attempt']);
    expect(run.stderr).toMatch(/alwaysFails/);
    expect(run.stderr).toContain('this job always fails on Slurm');
    const status = await runToil(['status', store, '--printLogs']);
    expect(status.stdout).toMatch(/alwaysFails/);
    expect(status.stdout).toContain('this job always fails on Slurm');
  });

  it("records Slurm's reason as the failure of a job killed for memory", async () => {
    const { store, out, slurm } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--retryCount', '0', ...slurm], {
      env: { ...process.env, TOIL_TEST_CASE: 'hog', TOIL_TEST_OUT: out },
    });
    expect(run.code).not.toBe(0);
    expect(notes(out)).toEqual(['hog attempt']);
    expect(run.stderr).toMatch(/'hog' .*OUT_OF_MEMORY: Slurm job \d+ ran out of memory/);
    // The leader records the reason as the job's last failure.
    const status = await runToil(['status', store, '--failed']);
    expect(status.stdout).toMatch(
      /'hog' .*totally failed.*LAST_FAILURE:OUT_OF_MEMORY: Slurm job \d+ ran out of memory/,
    );
  });

  it('completes with --restart after its leader was SIGKILLed mid-run', async () => {
    const { store, out, slurm, env, leader } = startSleepers(4, 3);
    await waitUntil('sleepers run on Slurm', () =>
      queued('sleeper').some((j) => j.state === 'RUNNING'),
    );
    // `toil run` runs the workflow as a child process: --force SIGKILLs that leader itself.
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await leader.exited).code).not.toBe(0);
    const restart = await runToil(['run', FIXTURE, store, '--restart', ...slurm], {
      env: { ...process.env, ...env },
    });
    expect(restart.stderr).toContain('attempt 1');
    expect(restart.code).toBe(0);
    expect(new Set(notes(out).filter((n) => n.startsWith('sleeper')))).toEqual(
      new Set(['sleeper 0', 'sleeper 1', 'sleeper 2', 'sleeper 3']),
    );
    await waitUntil("the killed leader's jobs have ended", () => queued('sleeper').length === 0);
  }, 180_000);

  it('--restart cancels the Slurm jobs its SIGKILLed predecessor left running, then runs them anew', async () => {
    const { store, out, slurm, env, leader: first } = startSleepers(2, 600);
    await waitUntil('both sleepers are in the queue', () => queued('sleeper').length === 2);
    const stale = queued('sleeper').map((j) => j.id);
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await first.exited).code).not.toBe(0);
    // A SIGKILLed leader cancels nothing: its jobs stay until the next leader deals with them.
    expect(queued('sleeper').map((j) => j.id)).toEqual(expect.arrayContaining(stale));
    const restarted = startLeader(['run', FIXTURE, store, '--restart', ...slurm], env);
    let stop;
    try {
      await waitUntil('the stale jobs are gone and the restarted leader runs its own', () => {
        const ids = queued('sleeper').map((j) => j.id);
        return ids.length === 2 && ids.every((id) => !stale.includes(id));
      });
    } finally {
      // Also when the wait failed: the restarted leader must not outlive the test.
      stop = await runToil(['kill', store]);
      await restarted.exited;
    }
    expect(stop.code).toBe(0);
    expect(queued('sleeper')).toEqual([]);
    expect(notes(out)).toEqual([]);
  }, 180_000);

  it('toil kill stops the leader, which cancels every Slurm job it submitted', async () => {
    const { store, out, leader } = startSleepers(4, 600);
    await waitUntil('all four sleepers are in the queue', () => queued('sleeper').length === 4);
    const submitted = queued('sleeper').map((j) => j.id);
    const kill = await runToil(['kill', store]);
    expect(kill.code).toBe(0);
    for (const id of submitted) expect(kill.stdout).toContain(id);
    await leader.exited;
    expect(queued('sleeper')).toEqual([]);
    expect(notes(out)).toEqual([]);
  });
});
