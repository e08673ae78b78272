import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  slurmCommand,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';

const FIXTURE = join(__dirname, 'fixtures', 'slurm-workflow.mjs');

// Slurm's smallest time limit is one minute and slurmctld checks limits every 30 s, so this
// test takes 60-90 s; it has a file of its own so that it runs alongside the others.
describeWithSlurm('a warm worker over its time limit', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('is stopped by Slurm, and the job it ran fails as TIMEOUT with the reason', async () => {
    const dir = mkdtempSync(join(SLURM_OUTPUT_DIR, 'warm-timeout-'));
    const args = ['--batchSystem', 'slurm', '--defaultMemory', '256M', '--workDir', dir];
    const run = await runToil(
      [
        'run',
        FIXTURE,
        `file:${join(dir, 'store')}`,
        ...args,
        '--slurmWarmWorkers',
        '1',
        '--slurmTime',
        '1m',
        '--retryCount',
        '0',
      ],
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
    const status = await runToil(['status', `file:${join(dir, 'store')}`, '--failed']);
    expect(status.stdout).toMatch(/'sleeper' .*LAST_FAILURE:TIMEOUT: Slurm job \d+/);
    const left = slurmCommand(['squeue', '-h', '-o', '%o'])
      .split('\n')
      .filter((path) => path.startsWith(dir));
    expect(left).toEqual([]);
  }, 240_000);
});
