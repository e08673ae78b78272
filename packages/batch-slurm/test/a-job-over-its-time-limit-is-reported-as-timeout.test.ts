import { createBatchSystem } from '@toil/batch-slurm';
import { acquireSlurm, describeWithSlurm, releaseSlurm } from '../../../tooling/test-env/slurm.js';
import { commandJob, slurmContext, waitForAll } from './slurm-context.js';

// Slurm's smallest time limit is one minute and slurmctld checks limits every 30 s, so this
// test takes 60-90 s; it has a file of its own so that it runs alongside the others.
describeWithSlurm('a Slurm job over its time limit', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('ends TIMEOUT, with the reason in its outcome', async () => {
    const batch = await createBatchSystem(slurmContext({ slurmPollInterval: 1 }));
    const id = await batch.submit(
      commandJob(['sleep', '600'], {
        name: 'Sluggish',
        requirements: { cores: 1, memory: 64 * 2 ** 20, disk: 0, preemptible: false, runtime: 1 },
      }),
    );
    const done = await waitForAll(batch, [id], 170_000);
    expect(done.get(id)).toMatchObject({
      exitCode: 143,
      failure: 'timeout',
      reason: expect.stringMatching(
        /^TIMEOUT: Slurm job \d+ reached its time limit[\s\S]*DUE TO TIME LIMIT/,
      ),
    });
    expect(done.get(id)?.wallTime).toBeGreaterThanOrEqual(60);
    await batch.shutdown();
  }, 180_000);
});
