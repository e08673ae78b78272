import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { FIXTURE, REPO_ROOT_FOR_TESTS, lines, runWorkflow, scratch } from './helpers.js';

describe('the one-shot worker command and JavaScript workflows', () => {
  it('runs jobs through the worker command and the invocation arguments for a registered batch system (what Slurm runs), failures recorded and retried', async () => {
    const dir = scratch();
    const out = join(dir, 'out');
    const markers = join(dir, 'markers');
    mkdirSync(markers);
    const profile = join(dir, 'profile.ndjson');
    const result = await runWorkflow(
      FIXTURE,
      [`file:${join(dir, 'store')}`, '--batchSystem', 'oneshot'],
      {
        TOIL_TEST_CASE: 'retry',
        TOIL_TEST_OUT: out,
        TOIL_TEST_MARKER: join(dir, 'marker'),
        TOIL_TEST_MARKERS: markers,
        TOIL_WORKER_PROFILE: profile,
      },
    );
    expect(result.stderr).toContain('with the oneshot batch system');
    expect(result.stderr).toContain('Error: first attempt fails');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ROOT RETURNED "ok"');
    const written = lines(out);
    expect(written).toEqual([
      expect.stringMatching(
        /^argv --jobStore \S+ --jobId failsOnce-\S+ --workflow \S*workflows\.ts --compiled \S+\.mjs --hash [0-9a-f]{64}$/,
      ),
      'failsOnce first attempt',
      expect.stringMatching(/^argv /),
      'failsOnce second attempt',
    ]);
    // The success marker: created by the attempt that succeeded, not by the one that failed.
    expect(readdirSync(markers)).toEqual(['2']);
    // Each attempt's profile line: wall and CPU milliseconds of every phase.
    const phases = ['entry', 'imports', 'open', 'module', 'read', 'run', 'commit', 'stats'];
    const profiled = readFileSync(profile, 'utf8').trim().split('\n');
    expect(profiled).toHaveLength(2);
    for (const line of profiled) {
      const entry = JSON.parse(line) as Record<string, unknown> & {
        cpuPhases: Record<string, number>;
      };
      for (const phase of phases) {
        expect(entry[phase]).toEqual(expect.any(Number));
        expect(entry.cpuPhases[phase]).toEqual(expect.any(Number));
      }
      expect(entry.cpu).toBeGreaterThan(0);
      expect(entry.rss).toBeGreaterThan(0);
    }
  });

  it("names the user's workflow file and line when a one-shot worker cannot find a job's class or load the module", async () => {
    const dir = scratch();
    const source = readFileSync(FIXTURE, 'utf8').split('\n');
    const lineOf = (text: string) => source.findIndex((line) => line.includes(text)) + 1;
    const run = (testCase: string) =>
      runWorkflow(
        FIXTURE,
        [`file:${join(dir, testCase)}`, '--batchSystem', 'oneshot', '--retryCount', '0'],
        { TOIL_TEST_CASE: testCase },
      );
    const [unregistered, load] = await Promise.all([run('registeredInMain'), run('workerLoad')]);
    expect(unregistered.code).toBe(1);
    expect(unregistered.stderr).toContain(
      `Job 'hidden': class NotExported was not found in the workflow module ${FIXTURE} (it is defined at line ${lineOf('class NotExported')}).`,
    );
    expect(load.code).toBe(1);
    expect(load.stderr).toContain(
      `The workflow module ${FIXTURE} failed to load in a worker: Error: only the leader has this (${FIXTURE}:${lineOf("new Error('only the leader")}:`,
    );
    for (const result of [unregistered, load]) expect(result.stderr).not.toMatch(/\.mjs\b/);
  });

  it('runs a JavaScript workflow as is through `toil run`', async () => {
    const dir = scratch();
    const result = await runToil(
      [
        'run',
        join(REPO_ROOT_FOR_TESTS, 'bench', 'fixtures', 'workflow-shapes.mjs'),
        `file:${join(dir, 'store')}`,
      ],
      { env: { ...process.env, BENCH_SHAPE: 'chain', BENCH_N: '5' } },
    );
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
  });
});
