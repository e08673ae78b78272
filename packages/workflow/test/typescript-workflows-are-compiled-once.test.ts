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
    expect(result.stderr).toMatch(/at FunctionJob\.fail \(\S*fixtures\/compiled\.ts:18:9\)/);
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
