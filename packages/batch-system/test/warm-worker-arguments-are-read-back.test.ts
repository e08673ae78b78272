import {
  parseWarmClaimName,
  parseWarmWorkerArguments,
  warmClaimName,
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

  it('name a claimed attempt by attempt and worker', () => {
    expect(parseWarmClaimName(warmClaimName('wabc-0000001', '4242'))).toEqual({
      attempt: 'wabc-0000001',
      worker: '4242',
    });
    expect(parseWarmClaimName('no-worker')).toBeUndefined();
  });
});
