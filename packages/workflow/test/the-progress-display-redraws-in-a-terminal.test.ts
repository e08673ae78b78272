import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createColors } from 'picocolors';
import { fitLine, progressFrame } from '../src/progress-display.js';
import { runToil, runToilInTerminal } from '../../../tooling/test-env/cli.js';

const NAPS = join(__dirname, 'fixtures', 'naps.ts');
const JOBS = 150;
const ESC = '\x1b';
// A frame's first line; the summary line is `Jobs: N done ...`.
const FRAME = /Jobs \d+ done · \d+ running · \d+ queued · \d+ failed/g;

/** Runs `toil run` in a pseudo-terminal, returning everything it drew. */
async function runInTerminal(args: string[], env: Record<string, string>): Promise<string> {
  const result = await runToilInTerminal(args, { TOIL_TEST_JOBS: String(JOBS), ...env });
  expect(result.code).toBe(0);
  return result.stdout;
}

describe('the live progress display of toil run', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'toil-progress-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('redraws in place on a terminal, logs above it, and ends with one summary line', async () => {
    const out = await runInTerminal(
      ['run', NAPS, `file:${join(dir, 'tty')}`, '--maxCores', '2'],
      {},
    );
    const frames = out.match(FRAME) ?? [];
    expect(frames.length).toBeGreaterThanOrEqual(2);
    // Each redraw moves the cursor up over the previous frame's rows and erases them first.
    expect(out).toMatch(new RegExp(`\r${ESC}\\[\\d+A${ESC}\\[J`));
    const summary = out.lastIndexOf(`Jobs: ${JOBS + 1} done in `);
    expect(summary).toBeGreaterThan(out.lastIndexOf('Jobs ' /* last frame */));
    expect(out.split(`Jobs: ${JOBS + 1} done in `)).toHaveLength(2);
    // Log lines are printed whole, above the display.
    expect(out).toMatch(/\n\[[^\]]+\] \[I\] \[toil.leader\] Finished toil run successfully\./);
    // NO_COLOR: no colour codes, only cursor movement.
    expect(out).not.toMatch(new RegExp(`${ESC}\\[3\\dm`));
    // Few names: one line per name under the totals.
    expect(out).toMatch(/\n {2}nap +\d+ done/);
  });

  it('prints nothing of it when stderr is piped', async () => {
    const result = await runToil(['run', NAPS, `file:${join(dir, 'piped')}`, '--maxCores', '2'], {
      env: { TOIL_TEST_JOBS: '20' },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('\x1b');
    expect(result.stderr).not.toContain('Jobs');
    expect(result.stdout).toBe('');
  });

  it('stays off on a terminal with --logLevel warning and in CI', async () => {
    const quiet = await runInTerminal(
      ['run', NAPS, `file:${join(dir, 'quiet')}`, '--logLevel', 'warning'],
      { TOIL_TEST_JOBS: '20' },
    );
    expect(quiet).not.toContain('Jobs');
    const ci = await runInTerminal(['run', NAPS, `file:${join(dir, 'ci')}`], {
      CI: 'true',
      TOIL_TEST_JOBS: '20',
    });
    expect(ci).not.toContain('Jobs');
    expect(ci).toContain('Finished toil run successfully');
  });
});

describe('a frame of the progress display', () => {
  it('takes one row per line: lines longer than the terminal are cut, colour codes and wide characters counted as drawn', () => {
    expect(fitLine('Jobs 12 done', 12)).toBe('Jobs 12 done');
    expect(fitLine('  a-very-long-job-name  3 done', 12)).toBe('  a-very-lo…');
    // Colour codes take no cells; a cut line ends its colour.
    const { green } = createColors(true);
    expect(fitLine(`${green('1,204')} done · 8 running`, 10)).toBe(`${green('1,204')} don…\x1b[0m`);
    // A wide (CJK) character takes two cells.
    expect(fitLine('  処理処理処理  5 done', 8)).toBe('  処理…');
  });

  it("shows a cluster's nodes by type and state under the job totals", () => {
    const frame = progressFrame(
      {
        done: 3,
        running: 2,
        queued: 0,
        failed: 0,
        failedJobs: 0,
        elapsed: 2,
        nodes: [
          { type: 'c5.large', state: 'idle', count: 1 },
          { type: 't3.medium', state: 'busy', count: 2 },
          { type: 't3.medium', state: 'booting', count: 1 },
        ],
      },
      createColors(false),
    );
    expect(frame.split('\n')).toEqual([
      'Jobs 3 done · 2 running · 0 queued · 0 failed · 1.5/s · 0:02',
      'Nodes c5.large 1 idle; t3.medium 2 busy, 1 booting',
    ]);
  });

  it("shows what a launched cluster's elastic nodes cost so far under the nodes", () => {
    const frame = progressFrame(
      {
        done: 3,
        running: 2,
        queued: 0,
        failed: 0,
        failedJobs: 0,
        elapsed: 2,
        nodes: [{ type: 't2.medium', state: 'busy', count: 2 }],
        cost: {
          usd: 0.0000125,
          byType: [{ type: 't2.medium', spot: true, hours: 1.25, usd: 0.0000125 }],
        },
      },
      createColors(false),
    );
    expect(frame.split('\n').slice(1)).toEqual([
      'Nodes t2.medium 2 busy',
      'Cost $0.000013 (t2.medium spot 1.25 h at $0.00001/h)',
    ]);
  });
});
