import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import { scratch, withStore } from './helpers.js';

const SORT = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'sort.ts');

function sortedLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();
}

function sortEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...process.env, ...extra } as Record<string, string>;
}

/** sort.py's own options, given on the command line beside Toil's. */
function sortArgs(dir: string): string[] {
  return [
    '--fileToSort',
    join(dir, 'input.txt'),
    '--outputFile',
    join(dir, 'sorted.txt'),
    '--N',
    '600',
  ];
}

describe("a port of Toil's sort example", () => {
  it('sorts through recursive split/merge jobs that return their successors’ rv()', async () => {
    const dir = scratch();
    const result = await runToil(['run', SORT, `file:${join(dir, 'store')}`, ...sortArgs(dir)]);
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    const output = readFileSync(join(dir, 'sorted.txt'), 'utf8').split('\n').filter(Boolean);
    expect(output).toEqual(sortedLines(join(dir, 'input.txt')));
    expect(output.length).toBe(300);
    // The default --clean onSuccess removed the store after the export.
    expect(existsSync(join(dir, 'store'))).toBe(false);
  });

  it('delivers the chained promise to toil.restart() after a failed final merge', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = sortEnv({ SORT_FAIL_ONCE: join(dir, 'failed-once') });
    const first = await runToil(['run', SORT, locator, ...sortArgs(dir), '--retryCount', '0'], {
      env,
    });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('the final merge fails once');
    expect(existsSync(join(dir, 'sorted.txt'))).toBe(false);

    const restarted = await runToil(['run', SORT, locator, ...sortArgs(dir), '--restart'], {
      env,
    });
    expect(restarted.stderr).toContain('Finished toil run successfully.');
    expect(restarted.code).toBe(0);
    expect(readFileSync(join(dir, 'sorted.txt'), 'utf8').split('\n').filter(Boolean)).toEqual(
      sortedLines(join(dir, 'input.txt')),
    );
  });

  it('keeps the store and refuses --restart when the leader died after importFile and before start()', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const died = await runToil(['run', SORT, locator, ...sortArgs(dir)], {
      env: sortEnv({ SORT_DIE_BEFORE_START: '1' }),
    });
    expect(died.code).not.toBe(0);
    expect(existsSync(join(dir, 'store'))).toBe(true);

    for (const clean of ['onSuccess', 'always']) {
      const restarted = await runToil([
        'run',
        SORT,
        locator,
        ...sortArgs(dir),
        '--restart',
        '--clean',
        clean,
      ]);
      expect(restarted.stderr).toContain('never started');
      expect(restarted.stderr).not.toContain('already been completed');
      expect(restarted.code).toBe(1);
      expect(existsSync(join(dir, 'store'))).toBe(true);
    }
    await withStore(locator, async (store) => {
      expect(await store.getOutcome()).toBeUndefined();
      expect((await store.resume()).attempt).toBe(0);
    });
    const status = await runToil(['status', locator]);
    expect(status.stdout).toContain('has not started');
    expect(status.stdout).not.toContain('completed');
    const stats = await runToil(['stats', locator]);
    expect(stats.stdout).toContain(
      'never started (its leader stopped before toil.start() saved the root job)',
    );
    expect(stats.stdout).not.toContain('ran without --stats');
    expect(stats.stdout).not.toContain('has not recorded its leader totals');
  });
});
