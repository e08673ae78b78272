import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { runToil, REPO_ROOT } from '../../../tooling/test-env/cli.js';
import { useMotoStoreEnv } from '../../../tooling/test-env/moto.js';

const SEED = join(REPO_ROOT, 'examples', 'discoverfiles.ts');
// Sets the AWS environment in process.env, which runToil passes on to the CLI.
const moto = useMotoStoreEnv('toil stats/status/clean on an aws: store made by a real run');

moto.describe('the utilities on an aws: store made by a real run (moto)', () => {
  it('reports the seed run, says it completed, and cleans the bucket away', async () => {
    const store = `aws:us-west-2:seed-${randomBytes(3).toString('hex')}`;
    const run = await runToil(['run', SEED, store, '--stats']);
    expect(run.stderr).not.toContain('toil: error');
    expect(run.code).toBe(0);

    const stats = await runToil(['stats', store, '--raw']);
    expect(stats.code).toBe(0);
    const raw = JSON.parse(stats.stdout) as {
      jobStore: string;
      jobTypes: Array<{ name: string; count: number }>;
    };
    expect(raw.jobStore).toBe(store);
    expect(Object.fromEntries(raw.jobTypes.map((t) => [t.name, t.count]))).toEqual({
      sysFiles: 1,
      userFiles: 1,
      DiscoverFiles: 1,
    });

    const status = await runToil(['status', store]);
    expect(status.stdout).toBe(
      'The root job of the job store is absent, the workflow completed successfully.\n',
    );

    const clean = await runToil(['clean', store]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(
      /^Deleted the job store .* \(bucket .*: \d+ files or objects\)\.\n$/,
    );
    expect((await runToil(['status', store])).code).toBe(1);
    expect((await runToil(['clean', store])).stdout).toContain('Nothing to delete');
  });
});
