import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { runToilInTerminal } from '../../../tooling/test-env/cli.js';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';

const FIXTURE = join(__dirname, 'fixtures', 'slurm-workflow.mjs');
const COUNT = 12;
/** One frame's totals line: `Jobs D done · R running · Q queued · F failed`. */
const FRAME = /Jobs (\d+) done · (\d+) running · (\d+) queued · (\d+) failed/g;

describeWithSlurm('the live progress display on Slurm', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('counts the jobs Slurm runs and ends with one summary line on a terminal', async () => {
    const dir = mkdtempSync(join(SLURM_OUTPUT_DIR, 'progress-'));
    const result = await runToilInTerminal(
      [
        'run',
        FIXTURE,
        `file:${join(dir, 'store')}`,
        '--batchSystem',
        'slurm',
        '--defaultMemory',
        '256M',
        '--workDir',
        dir,
      ],
      {
        TOIL_TEST_CASE: 'fanout',
        TOIL_TEST_COUNT: String(COUNT),
        TOIL_TEST_OUT: join(dir, 'notes.txt'),
      },
    );
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toContain('with the slurm batch system');
    const frames = [...out.matchAll(FRAME)].map((m) => m.slice(1).map(Number));
    // The leader waits for Slurm for seconds, so frames are drawn while jobs are under way.
    expect(frames.length).toBeGreaterThanOrEqual(1);
    for (const [done, running, queued, failed] of frames) {
      expect(done! + running! + queued!).toBeLessThanOrEqual(COUNT + 1);
      expect(failed).toBe(0);
    }
    expect(frames.some(([done]) => done! < COUNT + 1)).toBe(true);
    expect(out.split(`Jobs: ${COUNT + 1} done in `)).toHaveLength(2);
    expect(out.lastIndexOf(`Jobs: ${COUNT + 1} done in `)).toBeGreaterThan(
      out.lastIndexOf('Jobs '),
    );
  }, 180_000);
});
