import { basename } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { acquireSlurm, describeWithSlurm, releaseSlurm } from '../../../tooling/test-env/slurm.js';
import { FIXTURE, jobsWithComment, queuedWithComment, scratch } from './slurm-workflows.js';

// Slurm's smallest time limit is one minute and slurmctld checks limits every 30 s, so this
// test takes 60-90 s; it has a file of its own so that it runs alongside the others.
describeWithSlurm('a warm worker over its time limit', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('is stopped by Slurm, and the job it ran fails as TIMEOUT with the reason', async () => {
    const { dir, store, slurm } = scratch('warm-timeout-', [
      '--slurmWarmWorkers',
      '1',
      '--slurmTime',
      '1m',
      '--retryCount',
      '0',
    ]);
    const comment = basename(dir);
    const run = await runToil(
      ['run', FIXTURE, store, ...slurm, `--slurmArgs=--comment=${comment}`],
      {
        env: {
          ...process.env,
          TOIL_TEST_CASE: 'sleepers',
          TOIL_TEST_COUNT: '1',
          TOIL_TEST_SECONDS: '600',
        },
      },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /'sleeper' .*TIMEOUT: Slurm job \d+ reached its time limit.*\(warm worker running it\)/,
    );
    const status = await runToil(['status', store, '--failed']);
    expect(status.stdout).toMatch(/'sleeper' .*LAST_FAILURE:TIMEOUT: Slurm job \d+/);
    expect(jobsWithComment(comment).length).toBe(1);
    expect(queuedWithComment(comment, 'warm')).toEqual([]);
  }, 240_000);
});
