import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runToil } from '../../../tooling/test-env/cli.js';
import { jobStats, leaderRecord, seedRecords, workerRecord } from '../../stats/test/fixtures.js';
import { buildStore, useScratchDir } from '../../stats/test/stores.js';

/** Every file under `dir` with its size, mtime and content hash. */
function snapshot(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const info = statSync(path);
    result[path] = entry.isDirectory()
      ? `dir ${info.mtimeMs}`
      : `${info.size} ${info.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  }
  return result;
}

describe('toil stats', () => {
  const scratch = useScratchDir();
  let seedStore: string;
  beforeAll(async () => {
    seedStore = await buildStore(`file:${scratch('seed')}`, { stats: seedRecords() });
  });

  it('prints the seed report with one row per job name, each with count 1', async () => {
    const result = await runToil(['stats', seedStore]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'Batch System: single_machine',
      'Default Cores: 1  Default Memory: 2097152K',
      'Max Cores: unlimited',
      'Total Clock: 0.56  Total Runtime: 1.01',
    ]);
    for (const name of ['sysFiles', 'userFiles', 'discoverFiles']) {
      const at = lines.indexOf(` ${name}`);
      expect(at).toBeGreaterThan(0);
      expect(lines[at + 4]).toMatch(/^ +1 \|/);
    }
  });

  it('prints versioned JSON with --raw and with --json', async () => {
    for (const flag of ['--raw', '--json']) {
      const result = await runToil(['stats', seedStore, flag]);
      expect(result.code).toBe(0);
      const json = JSON.parse(result.stdout) as Record<string, any>;
      expect(json.schema).toBe('toil-ts/stats');
      expect(json.version).toBe(1);
      expect(json.jobStore).toBe(seedStore);
      expect(json.jobTypes.map((t: { name: string }) => t.name).sort()).toEqual([
        'discoverFiles',
        'sysFiles',
        'userFiles',
      ]);
    }
  });

  it('writes --outputFile and still prints the report', async () => {
    const out = scratch('report.txt');
    const result = await runToil(['stats', seedStore, '--outputFile', out, '--pretty']);
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(result.stdout);
    expect(result.stdout).toContain('Default Memory: 2.0G');
  });

  it('fails in one line when --outputFile cannot be written, and prints nothing', async () => {
    const result = await runToil([
      'stats',
      seedStore,
      '--outputFile',
      scratch('no', 'such', 'dir', 'r.txt'),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('toil: error: Cannot write --outputFile');
    expect(result.stdout).toBe('');
  });

  it('rejects a bad option value in one line that lists the choices (exit 2)', async () => {
    const cases: Array<[string[], string]> = [
      [['--sortCategory', 'size'], 'time, clock, wait, memory, alpha, count'],
      [['--sortField', 'mean'], 'min, med, ave, max, total'],
      [['--categories', 'time,disk'], 'time, clock, wait, memory'],
    ];
    for (const [args, choices] of cases) {
      const result = await runToil(['stats', seedStore, ...args]);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^toil: error: Invalid --/);
      expect(lines[1]).toContain(choices);
    }
  });

  it('sorts with --sortCategory, --sortField and --sortReverse', async () => {
    const result = await runToil([
      'stats',
      seedStore,
      '--sortCategory',
      'alpha',
      '--sortReverse',
      '--categories',
      'time,memory',
    ]);
    expect(result.code).toBe(0);
    const names = result.stdout.split('\n').filter((l) => /^ [a-z]/.test(l));
    expect(names).toEqual([' userFiles', ' sysFiles', ' discoverFiles']);
    expect(result.stdout).not.toMatch(/\| +Clock/);
  });

  it('never changes the store it reads', async () => {
    const path = seedStore.slice('file:'.length);
    const before = snapshot(path);
    expect((await runToil(['stats', seedStore])).code).toBe(0);
    expect((await runToil(['stats', seedStore, '--raw'])).code).toBe(0);
    expect(snapshot(path)).toEqual(before);
  });

  it('says that no job stats were recorded on a run without --stats, and how to get them', async () => {
    const store = await buildStore(`file:${scratch('nostats')}`, {
      config: { stats: false },
      stats: [workerRecord('w1', [], { time: 1, clock: 1 }), leaderRecord(0, 2, 1)],
    });
    const result = await runToil(['stats', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'No job stats were recorded: this workflow ran without --stats.',
    );
    expect(result.stdout).toContain('--stats');
  });

  it('reports a running workflow whose leader has not written its totals', async () => {
    const store = await buildStore(`file:${scratch('running')}`, {
      stats: [workerRecord('w1', [jobStats('first', 0.5, 0.4)], { time: 0.5, clock: 0.4 })],
    });
    const result = await runToil(['stats', store]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(' first\n');
    expect(result.stdout).toContain('has not recorded its leader totals yet');
  });

  it('fails with one line and exit 1 on a missing store', async () => {
    const result = await runToil(['stats', `file:${scratch('nothing-here')}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('toil: error: There is no job store at file:');
    expect(result.stderr).toContain('hint:');
  });
});
