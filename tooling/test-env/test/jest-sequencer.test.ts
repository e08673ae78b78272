import { createRequire } from 'node:module';

const require_ = createRequire(__filename);
const SlowFirstSequencer = require_('../jest-sequencer.cjs');

const context = {
  config: { cacheDirectory: '/nonexistent', id: 'sequencer-test' },
  hasteFS: { getSize: (path: string) => path.length },
};
const test = (path: string) => ({ path, context });

describe('the test sequencer', () => {
  it('starts the simulated-cloud files first, slowest first, and keeps jest order for the rest', async () => {
    const sequencer = new SlowFirstSequencer({ contexts: [], globalConfig: {} });
    const sorted = await sequencer.sort([
      test('/repo/packages/core/test/a.test.ts'),
      test('/repo/tooling/test-env/test/release-rehearsal.test.ts'),
      test('/repo/packages/workflow/test/a-much-longer-file-name.test.ts'),
      test('/repo/tooling/test-env/test/autoscale-on-simcloud-gce.test.ts'),
      test('/repo/tooling/test-env/test/autoscale-on-simcloud.test.ts'),
    ]);
    expect(sorted.map((t: { path: string }) => t.path)).toEqual([
      '/repo/tooling/test-env/test/autoscale-on-simcloud.test.ts',
      '/repo/tooling/test-env/test/autoscale-on-simcloud-gce.test.ts',
      '/repo/tooling/test-env/test/release-rehearsal.test.ts',
      // jest's own order without timings: larger files first
      '/repo/packages/workflow/test/a-much-longer-file-name.test.ts',
      '/repo/packages/core/test/a.test.ts',
    ]);
  });
});
