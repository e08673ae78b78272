import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FIXTURE, lines, runWorkflow, scratch } from './helpers.js';

describe('the file store and the clean policies', () => {
  it('shares global files between jobs, imports and exports file:// URLs, relays logToLeader', async () => {
    const dir = scratch();
    const source = join(dir, 'input.txt');
    writeFileSync(source, 'imported text');
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`], {
      TOIL_TEST_CASE: 'files',
      TOIL_TEST_OUT: join(dir, 'out'),
      TOIL_TEST_IMPORT: pathToFileURL(source).href,
      TOIL_TEST_EXPORT: pathToFileURL(join(dir, 'exported.txt')).href,
    });
    expect(result.code).toBe(0);
    const out = lines(join(dir, 'out'));
    expect(out).toContain('read hello file store');
    expect(out.some((l) => l.startsWith('imported '))).toBe(true);
    expect(readFileSync(join(dir, 'exported.txt'), 'utf8')).toBe('hello file store');
    expect(result.stderr).toMatch(/Got message from job at time .*: wrote /);
  });

  it.each([
    ['never', 'failed', true],
    ['onError', 'failed', false],
    ['onError', 'successful', true],
    ['always', 'successful', false],
  ])('--clean %s after a %s run keeps the store: %s', async (clean, outcome, kept) => {
    const dir = scratch();
    const marker = join(dir, 'marker');
    // failsOnce succeeds at once when its marker exists, and fails (no retries) otherwise.
    if (outcome === 'successful') writeFileSync(marker, 'x');
    const result = await runWorkflow(
      FIXTURE,
      [`file:${join(dir, 'store')}`, '--clean', clean, '--retryCount', '0'],
      {
        TOIL_TEST_CASE: 'retry',
        TOIL_TEST_OUT: join(dir, 'out'),
        TOIL_TEST_MARKER: marker,
      },
    );
    expect(result.code).toBe(outcome === 'failed' ? 1 : 0);
    expect(existsSync(join(dir, 'store'))).toBe(kept);
  });

  it("--cleanWorkDir never keeps the workers' directories and logs; always leaves the work dir empty", async () => {
    const dir = scratch();
    const keep = join(dir, 'keep');
    const result = await runWorkflow(
      FIXTURE,
      [`file:${join(dir, 's1')}`, '--workDir', keep, '--cleanWorkDir', 'never'],
      {
        TOIL_TEST_CASE: 'rv',
        TOIL_TEST_OUT: join(dir, 'out1'),
      },
    );
    expect(result.code).toBe(0);
    const [runDir] = readdirSync(keep);
    expect(runDir).toMatch(/^toil-/);
    const attemptDir = join(keep, runDir!, readdirSync(join(keep, runDir!))[0]!);
    const workers = readdirSync(attemptDir);
    expect(workers.length).toBeGreaterThan(0);
    expect(existsSync(join(attemptDir, workers[0]!, 'worker_log.txt'))).toBe(true);

    const clean = join(dir, 'clean');
    const second = await runWorkflow(FIXTURE, [`file:${join(dir, 's2')}`, '--workDir', clean], {
      TOIL_TEST_CASE: 'rv',
      TOIL_TEST_OUT: join(dir, 'out2'),
    });
    expect(second.code).toBe(0);
    expect(existsSync(clean) ? readdirSync(clean) : []).toEqual([]);
  });
});
