import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { REPO_ROOT_FOR_TESTS, scratch } from './helpers.js';

const COMPILED = join(
  REPO_ROOT_FOR_TESTS,
  'packages',
  'workflow',
  'test',
  'fixtures',
  'compiled.ts',
);

/** The 1-based line of the fixture that contains `text`. */
function lineOf(text: string): number {
  return (
    readFileSync(COMPILED, 'utf8')
      .split('\n')
      .findIndex((line) => line.includes(text)) + 1
  );
}

function env(dir: string, extra: Record<string, string>): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    TOIL_TS_CACHE_DIR: join(dir, 'cache'),
    ...extra,
  };
}

describe('TypeScript workflows under toil run', () => {
  it('are compiled once into the content-addressed cache; leader and workers load JavaScript, and --restart reuses it', async () => {
    const dir = scratch();
    const out = join(dir, 'out.json');
    const store = `file:${join(dir, 'store')}`;
    const first = await runToil(['run', COMPILED, store, '--clean', 'never'], {
      env: env(dir, { TOIL_TEST_OUT: out }),
    });
    expect(first.stderr).toContain('Finished toil run successfully.');
    expect(first.code).toBe(0);
    const cached = readdirSync(join(dir, 'cache')).filter((f) => f.endsWith('.mjs'));
    expect(cached).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.mjs$/)]);
    type Report = { execArgv: string[]; argv: string[]; module: string };
    const worker = JSON.parse(readFileSync(out, 'utf8')) as Report;
    // The worker imported the compiled file, with no TypeScript loader.
    expect(worker.module).toBe(`file://${join(dir, 'cache', cached[0]!)}`);
    expect(worker.execArgv.join(' ')).not.toMatch(/tsx/);
    // It is the pool worker toil run started before it knew the module (told it by message).
    expect(worker.argv[0]).toBe('pool');
    expect(worker.argv).not.toContain('--module');
    const again = await runToil(['run', COMPILED, store, '--restart'], {
      env: env(dir, { TOIL_TEST_OUT: out }),
    });
    expect(again.code).toBe(0);
    expect(readdirSync(join(dir, 'cache')).filter((f) => f.endsWith('.mjs'))).toEqual(cached);
  });

  it("show the user's .ts file and line in the log of a job that throws", async () => {
    const dir = scratch();
    const result = await runToil(
      ['run', COMPILED, `file:${join(dir, 'store')}`, '--retryCount', '0'],
      { env: env(dir, { TOIL_TEST_CASE: 'fail' }) },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: failing on purpose');
    const line = lineOf("throw new Error('failing on purpose')");
    expect(result.stderr).toContain(`at FunctionJob.fail (${COMPILED}:${line}:9)`);
  });

  it("name the user's .ts file and the line, never the compiled JavaScript, in every error about the workflow module", async () => {
    const dir = scratch();
    const cache = join(dir, 'cache');
    const run = (testCase: string) =>
      runToil(['run', COMPILED, `file:${join(dir, testCase)}`, '--retryCount', '0'], {
        env: env(dir, { TOIL_TEST_CASE: testCase, TOIL_TEST_OUT: join(dir, 'out.json') }),
      });
    // The leader refuses a function workers could not find, before anything is stored.
    const hidden = await run('hidden');
    expect(hidden.code).toBe(1);
    expect(hidden.stderr.split('\n')[0]).toBe(
      `toil: error: Job 'hidden': function hidden is not exported from the workflow module ${COMPILED} (it is defined at line ${lineOf('function hidden(')}), so workers could not find it.`,
    );
    // Workers: a job adds a child of a function they cannot find; a class only the leader
    // registered cannot be rebuilt.
    const workers = await run('workers');
    expect(workers.code).toBe(1);
    expect(workers.stderr).toContain(
      `function hidden is not exported from the workflow module ${COMPILED} (it is defined at line ${lineOf('function hidden(')}), so workers could not find it.`,
    );
    expect(workers.stderr).toContain(
      `Job 'Unregistered': class Unregistered was not found in the workflow module ${COMPILED} (it is defined at line ${lineOf('class Unregistered')}).`,
    );
    // A worker whose import of the module fails: the file and the line that threw.
    const load = await run('workerLoad');
    expect(load.code).toBe(1);
    expect(load.stderr).toContain(
      `failed: The workflow module ${COMPILED} failed to load in a worker: Error: only the leader has this (${COMPILED}:${lineOf("throw new Error('only the leader")}:9)\n`,
    );
    for (const result of [hidden, workers, load]) expect(result.stderr).not.toContain(cache);
  });

  it('refuse a syntax error in one line naming the file, line and column, storing nothing', async () => {
    const dir = scratch();
    const file = join(dir, 'broken.ts');
    writeFileSync(file, "import { Job } from '@toil/workflow';\nconst x: number = ;\n");
    const result = await runToil(['run', file, `file:${join(dir, 'store')}`], {
      env: env(dir, {}),
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `toil: error: ${file}:2:19: Unexpected ";"`,
      expect.stringMatching(/^ {2}hint: Fix the TypeScript at that line/),
    ]);
    expect(existsSync(join(dir, 'store'))).toBe(false);
  });
});
