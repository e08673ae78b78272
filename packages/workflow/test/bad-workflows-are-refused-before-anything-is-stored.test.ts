import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import { EXAMPLE, FIXTURE, runWorkflow, scratch, snapshot } from './helpers.js';

const SORT = join(REPO_ROOT, 'packages', 'workflow', 'test', 'fixtures', 'sort.ts');

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('toil: error:'));
}

describe('bad workflows and bad usage', () => {
  it('rejects an unknown option with a one-line usage error (exit 2)', async () => {
    const dir = join(scratch(), 'store');
    const result = await runToil(['run', EXAMPLE, `file:${dir}`, '--statz']);
    expect(result.code).toBe(2);
    expect(errorLines(result.stderr)).toEqual(['toil: error: Unknown argument: statz']);
    expect(result.stderr).toContain('hint:');
    expect(existsSync(dir)).toBe(false);
  });

  it('checks --batchSystem and --workDir before it makes the store, also when importFile makes it', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const sortArgs = [
      '--fileToSort',
      join(dir, 'input.txt'),
      '--outputFile',
      join(dir, 'sorted.txt'),
    ];
    const bad = await runToil(['run', SORT, locator, ...sortArgs, '--batchSystem', 'mesos']);
    expect(bad.code).toBe(2);
    expect(errorLines(bad.stderr)).toEqual([
      "toil: error: Unknown batch system 'mesos': no @toil/batch-mesos is installed.",
    ]);
    expect(existsSync(join(dir, 'store'))).toBe(false);
    writeFileSync(join(dir, 'a-file'), '');
    const badDir = await runWorkflow(FIXTURE, [locator, '--workDir', join(dir, 'a-file')], {
      TOIL_TEST_CASE: 'rv',
    });
    expect(badDir.code).toBe(2);
    expect(errorLines(badDir.stderr)[0]).toContain('is not a directory');
    expect(existsSync(join(dir, 'store'))).toBe(false);
    // Corrected, the same command runs: nothing was left behind.
    const good = await runToil(['run', SORT, locator, ...sortArgs, '--N', '100000']);
    expect(good.code).toBe(0);
  });

  it('says "missing await?" for a Promise passed to a job', async () => {
    const dir = join(scratch(), 'store');
    const result = await runWorkflow(FIXTURE, [`file:${dir}`], { TOIL_TEST_CASE: 'unawaited' });
    expect(result.code).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      "toil: error: Job 'useId' cannot be stored: argument 1 is a Promise (missing await?).",
    ]);
    expect(result.stderr).toContain('hint: Missing await?');
    expect(existsSync(dir)).toBe(false);
  });

  it('names the job and the field that JSON cannot hold, at start()', async () => {
    const dir = join(scratch(), 'store');
    const result = await runWorkflow(FIXTURE, [`file:${dir}`], { TOIL_TEST_CASE: 'badField' });
    expect(result.code).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      "toil: error: Job 'dated' (WithDate) cannot be stored: field 'when' is an instance of Date (not plain data).",
    ]);
    expect(existsSync(dir)).toBe(false);
  });

  it('names a job whose class workers could not find, at start()', async () => {
    const dir = join(scratch(), 'store');
    const result = await runWorkflow(FIXTURE, [`file:${dir}`], { TOIL_TEST_CASE: 'notExported' });
    expect(result.code).toBe(1);
    // Run under tsx, the module is the .ts file itself: the line is found in its own text.
    const line =
      readFileSync(FIXTURE, 'utf8').split('\n').indexOf('class NotExported extends Job {}') + 1;
    expect(errorLines(result.stderr)[0]).toBe(
      `toil: error: Job 'hidden' (NotExported): class NotExported is not exported from the workflow module ${FIXTURE} (it is defined at line ${line}), so workers could not find it.`,
    );
    expect(result.stderr).toContain('Job.register(NotExported)');
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a job larger than the maximum when it is issued, naming it; the store stays', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const result = await runWorkflow(FIXTURE, [locator, '--maxCores', '2'], {
      TOIL_TEST_CASE: 'tooBig',
      TOIL_TEST_OUT: join(dir, 'out'),
    });
    expect(result.code).toBe(1);
    expect(errorLines(result.stderr)[0]).toMatch(
      /^toil: error: Job 'tooBig' \(.+\) asks for 64 cores \(max 2\)/,
    );
    const { jobs } = await snapshot(locator);
    expect(jobs.map((j) => j.displayName)).toContain('tooBig');
  });

  it('refuses to start on an existing store and to restart a missing one, saying what to do', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const first = await runWorkflow(EXAMPLE, [locator, '--clean', 'never']);
    expect(first.code).toBe(0);
    const workDir = join(dir, 'work');
    mkdirSync(workDir);
    const again = await runWorkflow(EXAMPLE, [locator, '--workDir', workDir]);
    expect(again.code).toBe(1);
    expect(errorLines(again.stderr)).toEqual([
      `toil: error: The job store ${locator} already exists.`,
    ]);
    expect(again.stderr).toContain('--restart');
    // The worker started while the store was being made is gone, and so is its directory.
    expect(readdirSync(workDir)).toEqual([]);
    const missing = `file:${join(dir, 'missing')}`;
    const restart = await runWorkflow(EXAMPLE, [missing, '--restart']);
    expect(restart.code).toBe(1);
    expect(errorLines(restart.stderr)[0]).toContain('nothing to restart');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
