import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  slurmCommand,
} from '../../../tooling/test-env/slurm.js';
import {
  FIXTURE,
  notes,
  queued as queuedAll,
  scratch as scratchIn,
  startLeader,
  waitUntil,
} from './slurm-workflows.js';

/** Options of every run here: two warm workers that end after 10 s without work. */
const WARM = ['--slurmWarmWorkers', '2', '--slurmWarmIdle', '10'];

function scratch() {
  const { slurm, ...rest } = scratchIn('warm-', WARM);
  return { ...rest, args: slurm };
}

/** This run's Slurm jobs in the queue whose name ends with `_<jobName>`. */
function queued(dir: string, jobName: string): Array<{ id: string; state: string }> {
  return queuedAll(jobName, dir);
}

/** How many attempts the run's warm workers have claimed and not finished. */
function claimed(dir: string): number {
  // Slurm's output files and the warm workers' directories are in the work directory.
  const logs = dir;
  const list = (path: string): string[] => (existsSync(path) ? readdirSync(path) : []);
  let count = 0;
  for (const root of list(logs).filter((name) => name.startsWith('warm-')))
    for (const warmClass of list(join(logs, root)))
      count += list(join(logs, root, warmClass, 'running')).length;
  return count;
}

/**
 * Starts a leader with three sleepers of `seconds` on warm workers and resolves once a warm
 * worker runs one of its jobs (the leader is killed if that does not come).
 */
async function startWarmSleepers(seconds: number) {
  const { dir, store, out, args } = scratch();
  const env = {
    TOIL_TEST_CASE: 'sleepers',
    TOIL_TEST_COUNT: '3',
    TOIL_TEST_SECONDS: String(seconds),
    TOIL_TEST_OUT: out,
  };
  const leader = startLeader(['run', FIXTURE, store, ...args], env);
  try {
    await waitUntil('a warm worker runs a job', () => claimed(dir) > 0);
  } catch (error) {
    await runToil(['kill', store]);
    await leader.exited;
    throw error;
  }
  return { dir, store, out, args, env, leader };
}

describeWithSlurm('warm workers on Slurm (--slurmWarmWorkers)', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('run a 20-job fan-out in at most two Slurm jobs, every job in toil stats, and leave none in the queue', async () => {
    const { dir, store, out, args } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--stats', ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '20', TOIL_TEST_OUT: out },
    });
    expect(run.code).toBe(0);
    expect(new Set(notes(out)).size).toBe(20);
    const raw = JSON.parse((await runToil(['stats', store, '--raw'])).stdout) as {
      jobs: { count: number };
    };
    expect(raw.jobs.count).toBe(21);
    // Every Slurm job of the run (Slurm keeps finished ones for MinJobAge): at most two, all
    // warm workers. Every job's stats are in the store although workers store them only when
    // idle: shutdown lets idle workers end by themselves, and then deletes their output files.
    const jobs = slurmCommand(['scontrol', '-o', 'show', 'job'])
      .split('\n')
      .filter((line) => line.includes(` StdOut=${dir}/`));
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    expect(jobs.length).toBeLessThanOrEqual(2);
    for (const job of jobs) expect(job).toMatch(/ JobName=\S+_warm /);
    expect(readdirSync(dir).filter((f) => /\.(out|err)$/.test(f))).toEqual([]);
    expect(queued(dir, 'warm')).toEqual([]);
    // Nor the workers' directories: the workflow's own goes with the last of them.
    expect(readdirSync(dir).filter((f) => f.startsWith('toil-'))).toEqual([]);
  }, 180_000);

  it('toil run submits them before the workflow loads, and cancels them when the workflow never starts', async () => {
    const { dir, store, args } = scratch();
    // The fixture throws for an unknown case after its options are parsed, before toil.start().
    const run = await runToil(['run', FIXTURE, store, ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'none' },
    });
    expect(run.stderr).toMatch(/^toil: error: .*unknown TOIL_TEST_CASE none/m);
    expect(run.code).toBe(1);
    // Both warm workers were submitted (Slurm keeps finished jobs a while), none is left.
    const jobs = slurmCommand(['scontrol', '-o', 'show', 'job'])
      .split('\n')
      .filter((line) => line.includes(` StdOut=${dir}/`));
    expect(jobs.length).toBe(2);
    for (const job of jobs) expect(job).toMatch(/ JobName=\S+_warm /);
    expect(queued(dir, 'warm')).toEqual([]);
    expect(readdirSync(dir).filter((name) => name.startsWith('warm-'))).toEqual([]);
    expect(existsSync(join(dir, 'store'))).toBe(false);
  }, 120_000);

  it('toil kill stops the leader, which cancels its warm workers and the jobs they run', async () => {
    const { dir, store, out, leader } = await startWarmSleepers(600);
    // `toil run` is the leader itself (no child program), with Slurm as with the single machine.
    const status = JSON.parse((await runToil(['status', store, '--json'])).stdout) as {
      leader?: { pid: number };
    };
    expect(status.leader?.pid).toBe(leader.child.pid);
    const kill = await runToil(['kill', store]);
    await leader.exited;
    expect(kill.code).toBe(0);
    expect(queued(dir, 'warm')).toEqual([]);
    expect(notes(out)).toEqual([]);
  }, 180_000);

  it('after a SIGKILLed leader, --restart cancels its warm workers, completes, and leaves no worker in the queue', async () => {
    const { dir, store, out, args, env, leader: first } = await startWarmSleepers(10);
    const stale = queued(dir, 'warm').map((j) => j.id);
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await first.exited).code).not.toBe(0);
    // Its warm workers outlive it (they would end by themselves once its heartbeat is old).
    expect(queued(dir, 'warm').map((j) => j.id)).toEqual(expect.arrayContaining(stale));
    const restart = await runToil(['run', FIXTURE, store, '--restart', ...args], {
      env: { ...process.env, ...env },
    });
    expect(restart.stderr).toContain('attempt 1');
    expect(restart.code).toBe(0);
    expect(new Set(notes(out))).toEqual(new Set(['sleeper 0', 'sleeper 1', 'sleeper 2']));
    expect(queued(dir, 'warm')).toEqual([]);
  }, 240_000);
});
