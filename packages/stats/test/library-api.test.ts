import { RecordingHost, ToilError } from '@toil/core';
import { cleanJobStore, gatherStats, getStatus, killWorkflow } from '@toil/stats';
import { jobStats, seedRecords, workerRecord } from './fixtures.js';
import { epochSecondsNow } from '@toil/jobstore';
import {
  buildStore,
  buildStoreWithRootJob,
  deadPid,
  jobRecord,
  localLeader,
  readStore,
  remoteLeader,
  useScratchDir,
} from './stores.js';

describe('the library functions behind the commands', () => {
  const scratch = useScratchDir();

  it('report progress as spans while reading many stats records and deleting a store', async () => {
    const many = Array.from({ length: 25_000 }, (_, i) =>
      workerRecord(`w${i % 2}`, [jobStats('Leaf', 0.01, 0.01)], { time: 0.01, clock: 0.01 }),
    );
    const locator = await buildStore(`file:${scratch('many')}`, {
      stats: [...seedRecords(), ...many],
      rootId: 'root',
      jobs: [jobRecord('root', 'root')],
    });
    const host = new RecordingHost();
    const report = await gatherStats(locator, { host });
    expect(report.jobs.count).toBe(25_003);
    const read = host.withCode('STATS_READ');
    expect(read[0]!.span?.phase).toBe('start');
    expect(read.filter((e) => e.span?.phase === 'progress').map((e) => e.span?.done)).toEqual([
      10_000, 20_000,
    ]);
    expect(read.at(-1)!.span).toMatchObject({ phase: 'end', ok: true });

    const cleanHost = new RecordingHost();
    const result = await cleanJobStore(locator, { host: cleanHost });
    expect(result).toMatchObject({ existed: true, jobStore: locator });
    const destroy = cleanHost.events.filter((e) => e.span !== undefined);
    expect(destroy[0]!.span?.phase).toBe('start');
    expect(destroy.at(-1)!.span?.phase).toBe('end');
    expect((await cleanJobStore(locator)).existed).toBe(false);
  });

  it('kill nothing, and set no kill flag, once a leader here or elsewhere recorded how its run ended', async () => {
    const outcome = {
      result: 'failed' as const,
      attempt: 0,
      time: epochSecondsNow(),
      failedJobs: [],
    };
    for (const [name, leader] of [
      ['ended-remote', remoteLeader(4321)],
      ['ended-local', localLeader(deadPid())],
    ] as const) {
      const locator = await buildStoreWithRootJob(`file:${scratch(name)}`, {
        leader,
        outcome,
      });
      const result = await killWorkflow(locator);
      expect(result).toMatchObject({ action: 'finished', leader, outcome });
      expect(result.message).toContain('already ended (failed, attempt 0');
      expect(await readStore(locator, (store) => store.getKillFlag())).toBe(false);
    }
  });

  it('throw ToilErrors with hints for a missing store, and never print', async () => {
    const missing = `file:${scratch('absent')}`;
    const write = jest.spyOn(process.stdout, 'write');
    for (const call of [
      () => gatherStats(missing),
      () => getStatus(missing),
      () => killWorkflow(missing),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ToilError.is(error)).toBe(true);
      expect((error as ToilError).code).toBe('JOBSTORE_NOT_FOUND');
      expect((error as ToilError).hint).toBeDefined();
    }
    expect(write).not.toHaveBeenCalled();
    write.mockRestore();
  });
});
