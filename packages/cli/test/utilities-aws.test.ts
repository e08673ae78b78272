import { randomBytes } from 'node:crypto';
import { isRunning } from '@toil/stats';
import { runToil } from '../../../tooling/test-env/cli.js';
import { useMotoStoreEnv } from '../../../tooling/test-env/moto.js';
import { seedRecords } from '../../stats/test/fixtures.js';
import {
  buildStore,
  jobRecord,
  localLeader,
  readStore,
  summary,
  withFakeLeader,
} from '../../stats/test/stores.js';
import { epochSecondsNow } from '@toil/jobstore';

const REGION = 'us-west-2';
const run = randomBytes(3).toString('hex');
let counter = 0;
const moto = useMotoStoreEnv('the toil stats/status/clean/kill tests on aws: stores');

function newLocator(): string {
  return `aws:${REGION}:util-${run}-${++counter}`;
}

moto.describe('the job-store utilities on an aws: store (moto)', () => {
  it('toil stats reports the seed run with one row per job name', async () => {
    const locator = await buildStore(newLocator(), { stats: seedRecords() });
    const result = await runToil(['stats', locator, '--raw']);
    expect(result.code).toBe(0);
    // The SDK's own stderr notices (Node 20: "NodeVersionSupportWarning") go through the host.
    expect(result.stderr).toBe('');
    const json = JSON.parse(result.stdout) as { jobTypes: Array<{ name: string; count: number }> };
    expect(Object.fromEntries(json.jobTypes.map((t) => [t.name, t.count]))).toEqual({
      sysFiles: 1,
      userFiles: 1,
      discoverFiles: 1,
    });
  });

  it('toil status tells completed and failed stores apart', async () => {
    const done = await buildStore(newLocator(), {
      rootId: 'gone',
      outcome: { result: 'succeeded', attempt: 0, time: epochSecondsNow(), failedJobs: [] },
    });
    const doneResult = await runToil(['status', done, '--failIfNotComplete']);
    expect(doneResult.code).toBe(0);
    expect(doneResult.stdout).toContain('the workflow completed successfully');

    const failed = await buildStore(newLocator(), {
      rootId: 'root',
      jobs: [jobRecord('root', 'root', { remainingTryCount: 0, state: 'failed' })],
      outcome: {
        result: 'failed',
        attempt: 0,
        time: epochSecondsNow(),
        failedJobs: [{ id: 'root', name: 'root' }],
      },
      summary: summary({ unfinished: 1, totallyFailed: 1 }),
    });
    const failedResult = await runToil(['status', failed, '--failIfNotComplete']);
    expect(failedResult.code).toBe(1);
    expect(failedResult.stdout).toContain('1 totally failed jobs currently in');
    expect(failedResult.stdout).toContain('The workflow failed');
  });

  it('toil kill stops a local leader of an aws: store, and toil clean then deletes the bucket', async () => {
    const locator = newLocator();
    await withFakeLeader(
      {
        locator,
        workers: 1,
        killedBatchIds: ['42'],
      },
      async ({ child, workerPids }) => {
        await buildStore(locator, {
          rootId: 'root',
          jobs: [jobRecord('root', 'root', { state: 'running' })],
          leader: localLeader(child.pid!, { workerPids }),
        });
        const refused = await runToil(['clean', locator]);
        expect(refused.code).toBe(1);
        const kill = await runToil(['kill', locator]);
        expect(kill.code).toBe(0);
        expect(kill.stdout).toContain('The leader killed 1 batch job: 42.');
        expect(isRunning(child.pid!)).toBe(false);
      },
    );
    const clean = await runToil(['clean', locator]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(`Deleted the job store ${locator} and everything in it`);
    const again = await runToil(['clean', locator]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`Nothing to delete: there is no job store at ${locator}.\n`);
    expect(await readStore(locator, (store) => store.exists())).toBe(false);
  });
});
