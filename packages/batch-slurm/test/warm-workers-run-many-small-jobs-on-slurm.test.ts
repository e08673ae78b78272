import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openJobStore } from '@toil/jobstore';
import { runToil } from '../../../tooling/test-env/cli.js';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';
import {
  FIXTURE,
  jobsWithComment as knownJobs,
  notes,
  queuedWithComment as queued,
  scratch as scratchIn,
  startLeader,
  waitUntil,
} from './slurm-workflows.js';

/** Options of every run here: two warm workers that end after 10 s without work. */
const WARM = ['--slurmWarmWorkers', '2', '--slurmWarmIdle', '10'];

/**
 * A test directory and the run's options. Warm workers start with srun, whose jobs Slurm lists
 * without their output file, so each run's jobs carry a comment naming its directory.
 */
function scratch(extraSlurmArgs = '') {
  const { slurm, ...rest } = scratchIn('warm-', WARM);
  const comment = basename(rest.dir);
  return {
    ...rest,
    comment,
    args: [...slurm, `--slurmArgs=--comment=${comment} ${extraSlurmArgs}`.trim()],
  };
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
  const { dir, store, out, args, comment } = scratch();
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
  return { dir, store, out, args, env, leader, comment };
}

describeWithSlurm('warm workers on Slurm (--slurmWarmWorkers)', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('run a 20-job fan-out in at most two Slurm jobs (started with srun), every job in toil stats, and leave none in the queue', async () => {
    const { dir, store, out, args, comment } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--stats', ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '20', TOIL_TEST_OUT: out },
    });
    expect(run.code).toBe(0);
    expect(new Set(notes(out)).size).toBe(20);
    const raw = JSON.parse((await runToil(['stats', store, '--raw'])).stdout) as {
      jobs: { count: number };
    };
    expect(raw.jobs.count).toBe(21);
    // The workers left the deletion of the jobs without successors to the leader: it did it.
    const kept = await openJobStore(store);
    const left: string[] = [];
    for await (const id of kept.listJobIds()) left.push(id);
    await kept.close();
    expect(left).toEqual([]);
    // Every Slurm job of the run (Slurm keeps finished ones for MinJobAge): at most two, all
    // warm workers. Every job's stats are in the store although workers store them only when
    // idle: shutdown lets idle workers end by themselves, and then deletes their output files.
    const jobs = knownJobs(comment);
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    expect(jobs.length).toBeLessThanOrEqual(2);
    for (const job of jobs) expect(job).toMatch(/ JobName=\S+_warm /);
    // Interactive allocations (srun), granted without waiting for the scheduler's next pass.
    for (const job of jobs) expect(job).toMatch(/ BatchFlag=0 /);
    // Told to stop, they ended by themselves (not cancelled) before the leader exited: the
    // leader took srun's exit as their end, without a look at the queue. Only a worker Slurm
    // never started (the cluster full with another test file's jobs) is cancelled at the end.
    const started = jobs.filter((job) => !/ NodeList= /.test(job));
    expect(started.length).toBeGreaterThanOrEqual(1);
    for (const job of started) expect(job).toMatch(/ JobState=COMPLETED /);
    for (const job of jobs.filter((j) => !started.includes(j)))
      expect(job).toMatch(/ JobState=CANCELLED .* RunTime=00:00:00 /);
    expect(readdirSync(dir).filter((f) => /\.(out|err|log)$/.test(f))).toEqual([]);
    expect(queued(comment, 'warm')).toEqual([]);
    // Nor the workers' directories: the workflow's own goes with the last of them.
    expect(readdirSync(dir).filter((f) => f.startsWith('toil-'))).toEqual([]);
  }, 180_000);

  it('toil run submits them before the workflow loads, and cancels them when the workflow never starts', async () => {
    const { dir, store, args, comment } = scratch();
    // The fixture throws for an unknown case after its options are parsed, before toil.start().
    const run = await runToil(['run', FIXTURE, store, ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'none' },
    });
    expect(run.stderr).toMatch(/^toil: error: .*unknown TOIL_TEST_CASE none/m);
    expect(run.code).toBe(1);
    // Both warm workers were submitted (Slurm keeps finished jobs a while), none is left.
    const jobs = knownJobs(comment);
    expect(jobs.length).toBe(2);
    for (const job of jobs) expect(job).toMatch(/ JobName=\S+_warm /);
    expect(queued(comment, 'warm')).toEqual([]);
    expect(readdirSync(dir).filter((name) => name.startsWith('warm-'))).toEqual([]);
    expect(existsSync(join(dir, 'store'))).toBe(false);
  }, 120_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'toil run cancels the warm workers it submitted when a %s comes before the workflow adopts them, and ends by the signal',
    async (sent) => {
      const { dir, store, args, comment } = scratch();
      const hold = join(dir, 'held');
      // The fixture holds its run before toil.start() (which would adopt the warm workers).
      const leader = startLeader(['run', FIXTURE, store, ...args], {
        TOIL_TEST_CASE: 'hold',
        TOIL_TEST_HOLD: hold,
      });
      try {
        await waitUntil(
          'the run holds before toil.start() with both warm workers in the queue',
          () => existsSync(hold) && queued(comment, 'warm').length === 2,
        );
      } catch (error) {
        leader.child.kill('SIGTERM');
        await leader.exited;
        throw error;
      }
      leader.child.kill(sent);
      const { code, signal, output } = await leader.exited;
      expect({ code, signal }).toEqual({ code: null, signal: sent });
      expect(output).not.toMatch(/error/i);
      // Cancelled before the signal ended the process: nothing of the run in the queue...
      expect(queued(comment, 'warm')).toEqual([]);
      expect(knownJobs(comment)).toHaveLength(2);
      // ...nor in its directory: no store, no Slurm output file, no warm or work directory.
      expect(readdirSync(dir).filter((name) => name !== 'held')).toEqual([]);
    },
    120_000,
  );

  it("fail the job with the workflow module's error, naming its file and line, when they cannot load it (no warm worker after warm worker)", async () => {
    const { dir, store, args, comment } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--retryCount', '1', ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'workerLoad', TOIL_TEST_COUNT: '2' },
    });
    expect(run.code).toBe(1);
    const line =
      readFileSync(FIXTURE, 'utf8')
        .split('\n')
        .findIndex((text) => text.includes("new Error('only the leader has this')")) + 1;
    expect(run.stderr).toMatch(
      new RegExp(
        `^toil: error: .*The workflow module ${FIXTURE} failed to load in a worker: Error: only the leader has this \\(${FIXTURE}:${line}:\\d+\\)`,
        'm',
      ),
    );
    // Both attempts of the root job (one retry) failed in the two warm workers submitted first.
    expect(knownJobs(comment).length).toBe(2);
    expect(queued(comment, 'warm')).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('toil-'))).toEqual([]);
  }, 120_000);

  it('are given up after three in a row fail before taking a job; the job then fails as one Slurm job, with Node’s error', async () => {
    // A worker command that cannot start on the node: before, the leader started warm workers
    // again and again, one a second, and the run never ended.
    const { store, args, comment } = scratch();
    const missing = join(SLURM_OUTPUT_DIR, 'no-such-dir', 'worker.js');
    const run = await runToil(
      [
        'run',
        FIXTURE,
        store,
        '--retryCount',
        '1',
        ...args,
        `--slurmWorkerCommand=${process.execPath} ${missing}`,
      ],
      { env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '2' } },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /3 warm workers in a row ended before they took a job, the last \(Slurm job \d+\) FAILED/,
    );
    expect(run.stderr).toMatch(/Jobs of this size run as one Slurm job each from now on/);
    // The retry ran as a one-shot job, which failed with Node's own message.
    expect(run.stderr).toMatch(/^toil: error: .*contains 1 failed job: 'fanout'/m);
    expect(run.stderr).toContain(`Cannot find module '${missing}'`);
    const warm = knownJobs(comment).filter((job) => / JobName=\S+_warm /.test(job));
    // Three (four when the root job came after the two started first had ended: it starts two).
    expect(warm.length).toBeGreaterThanOrEqual(3);
    expect(warm.length).toBeLessThanOrEqual(4);
    expect(queued(comment, 'warm')).toEqual([]);
  }, 60_000);

  it('are submitted with sbatch, after a warning, when srun refuses an option of --slurmArgs', async () => {
    // srun has no --no-requeue (sbatch has): the first srun fails and the run goes on with sbatch.
    const { store, out, args, comment } = scratch('--no-requeue');
    const run = await runToil(['run', FIXTURE, store, ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '4', TOIL_TEST_OUT: out },
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(
      /srun did not start a warm worker \(.*unrecognized option '--no-requeue'.*\); warm workers and jobs are submitted with sbatch instead/,
    );
    expect(new Set(notes(out)).size).toBe(4);
    const jobs = knownJobs(comment);
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    for (const job of jobs) expect(job).toMatch(/ BatchFlag=1 /);
    expect(queued(comment, 'warm')).toEqual([]);
  }, 120_000);

  it('toil kill stops the leader, which cancels its warm workers and the jobs they run', async () => {
    const { store, out, leader, comment } = await startWarmSleepers(600);
    expect(queued(comment, 'warm').length).toBeGreaterThan(0);
    // `toil run` is the leader itself (no child program), with Slurm as with the single machine.
    const status = JSON.parse((await runToil(['status', store, '--json'])).stdout) as {
      leader?: { pid: number };
    };
    expect(status.leader?.pid).toBe(leader.child.pid);
    const kill = await runToil(['kill', store]);
    await leader.exited;
    expect(kill.code).toBe(0);
    expect(queued(comment, 'warm')).toEqual([]);
    expect(notes(out)).toEqual([]);
  }, 180_000);

  it('after a SIGKILLed leader, --restart cancels its warm workers, completes, and leaves no worker in the queue', async () => {
    const { store, out, args, env, leader: first, comment } = await startWarmSleepers(10);
    const stale = queued(comment, 'warm').map((j) => j.id);
    expect(stale.length).toBeGreaterThan(0);
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await first.exited).code).not.toBe(0);
    // Its warm workers outlive it (they would end by themselves once its heartbeat is old).
    expect(queued(comment, 'warm').map((j) => j.id)).toEqual(expect.arrayContaining(stale));
    const restart = await runToil(['run', FIXTURE, store, '--restart', ...args], {
      env: { ...process.env, ...env },
    });
    expect(restart.stderr).toContain('attempt 1');
    expect(restart.code).toBe(0);
    expect(new Set(notes(out))).toEqual(new Set(['sleeper 0', 'sleeper 1', 'sleeper 2']));
    expect(queued(comment, 'warm')).toEqual([]);
  }, 240_000);
});
