import { basename } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { acquireSlurm, describeWithSlurm, releaseSlurm } from '../../../tooling/test-env/slurm.js';
import { FIXTURE, jobsWithComment, notes, scratch, waitUntil } from './slurm-workflows.js';

/**
 * Slurm starts a batch job (sbatch) only at its next scheduling pass, an interactive one
 * (srun) at once when the resources are free: a one-shot job the workflow waits on alone (its
 * first job here) starts with srun, the fan-out's jobs after it with sbatch.
 */
describeWithSlurm('one Slurm job per job (--slurmLaunch)', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  /** Runs a fan-out of 6 and returns its Slurm jobs (`scontrol -o show job` lines) by job name. */
  async function fanOut(extra: string[]) {
    const { dir, store, out, slurm } = scratch('launch-', extra);
    const comment = basename(dir);
    const run = await runToil(
      ['run', FIXTURE, store, ...slurm, `--slurmArgs=--comment=${comment}`],
      {
        env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '6', TOIL_TEST_OUT: out },
      },
    );
    expect(run.code).toBe(0);
    expect(new Set(notes(out)).size).toBe(6);
    // A success is reported from the worker's marker, before Slurm has tidied the job up.
    await waitUntil('its jobs are no longer completing', () =>
      jobsWithComment(comment).every((job) => !/ JobState=COMPLETING /.test(job)),
    );
    const jobs = jobsWithComment(comment);
    expect(jobs).toHaveLength(7);
    for (const job of jobs) expect(job).toMatch(/ JobState=COMPLETED /);
    return {
      root: jobs.filter((job) => / JobName=\S+_fanout /.test(job)),
      leaves: jobs.filter((job) => / JobName=\S+_leaf /.test(job)),
    };
  }

  it('auto (default): the first job starts with srun, and most of the fan-out with sbatch', async () => {
    const { root, leaves } = await fanOut([]);
    expect(root).toHaveLength(1);
    expect(root[0]).toMatch(/ BatchFlag=0 /);
    expect(leaves).toHaveLength(6);
    // At most the first leaf found no other job of the workflow in Slurm.
    expect(leaves.filter((job) => / BatchFlag=0 /.test(job)).length).toBeLessThanOrEqual(1);
  }, 120_000);

  it('sbatch: every job is a batch job', async () => {
    const { root, leaves } = await fanOut(['--slurmLaunch', 'sbatch']);
    for (const job of [...root, ...leaves]) expect(job).toMatch(/ BatchFlag=1 /);
  }, 120_000);
});
