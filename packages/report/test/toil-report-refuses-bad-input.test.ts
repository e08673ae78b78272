import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { writeSyntheticStore } from './synthetic-store.js';

describe('toil report with bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'toil-report-bad-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says in one line that there is no job store, and writes nothing', async () => {
    const result = await runToil(
      ['report', `file:${join(dir, 'missing')}`, '-o', join(dir, 'r.html')],
      { cwd: dir },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^toil: error: There is no job store at file:.*missing\.\n/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an output path it cannot write with exit 2, leaving no temporary file', async () => {
    const locator = `file:${join(dir, 'store')}`;
    await writeSyntheticStore(locator, 20);
    const result = await runToil(['report', locator, '-o', join(dir, 'no-such-dir', 'r.html')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `toil: error: Cannot write the report to ${join(dir, 'no-such-dir', 'r.html')}: ENOENT.`,
    );
    expect(readdirSync(dir)).toEqual(['store']);
  });

  it('with --json prints the data document and writes no file unless -o is given', async () => {
    const locator = `file:${join(dir, 'store')}`;
    const result = await runToil(['report', locator, '--json'], { cwd: dir });
    expect(result.code).toBe(0);
    const data = JSON.parse(result.stdout) as {
      schema: string;
      version: number;
      stats: { schema: string };
    };
    expect([data.schema, data.version, data.stats.schema]).toEqual([
      'toil-ts/report',
      1,
      'toil-ts/stats',
    ]);
    expect(readdirSync(dir)).toEqual(['store']);
  });
});
