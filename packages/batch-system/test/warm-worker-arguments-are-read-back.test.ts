import {
  parseWarmClaimName,
  parseWarmInboxName,
  parseWarmWorkerArguments,
  warmClaimName,
  warmInboxName,
  warmWorkerArguments,
} from '@toil/batch-system';

describe('warm worker arguments', () => {
  it('are read back as they were written, with the workflow code and the class directory', () => {
    const spec = {
      invocation: {
        jobStore: 'file:/shared/store with space',
        workflow: { source: '/w/wf.ts', compiled: '/c/abc.mjs', hash: 'ab'.repeat(32) },
      },
      dir: '/shared/logs/warm-x/c1-m256-d0',
      heartbeat: '/shared/logs/warm-x/heartbeat',
      idle: 30,
      leaderTimeout: 45,
    };
    const argv = warmWorkerArguments(spec);
    expect(argv[0]).toBe('warm');
    expect(parseWarmWorkerArguments(argv)).toEqual(spec);
  });

  it('are refused when a value is missing or not a positive number', () => {
    const argv = warmWorkerArguments({
      invocation: { jobStore: 'file:/s', workflow: { source: '/w.mjs' } },
      dir: '/d',
      heartbeat: '/h',
      idle: 30,
      leaderTimeout: 30,
    });
    expect(parseWarmWorkerArguments(argv.map((a) => (a === '30' ? '0' : a)))).toBeUndefined();
    expect(parseWarmWorkerArguments(['run', ...argv.slice(1)])).toBeUndefined();
    expect(
      parseWarmWorkerArguments(argv.filter((a) => a !== '--dir' && a !== '/d')),
    ).toBeUndefined();
  });

  it('name an attempt in the inbox by attempt and job, and a claimed one by worker too', () => {
    const jobId = 'align_reads.sample-1-9c570a7083c9';
    expect(warmInboxName('wabc-0000001', jobId)).toBe(`wabc-0000001+${jobId}`);
    expect(parseWarmInboxName(warmInboxName('wabc-0000001', jobId))).toEqual({
      attempt: 'wabc-0000001',
      jobId,
    });
    expect(parseWarmClaimName(warmClaimName('wabc-0000001', jobId, '4242'))).toEqual({
      attempt: 'wabc-0000001',
      jobId,
      worker: '4242',
    });
    // A result being written in place of a claim, a stray file, half a name: none is an attempt.
    for (const name of ['wabc-0000001', 'wabc-0000001+', '+job', 'x.tmp'])
      expect(parseWarmInboxName(name)).toBeUndefined();
    for (const name of ['no-worker', `wabc-0000001+${jobId}@`, 'wabc-0000001@4242'])
      expect(parseWarmClaimName(name)).toBeUndefined();
  });
});
