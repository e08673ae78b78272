import { ToilError } from '@toil/core';
import {
  collateStats,
  formatDuration,
  formatMemoryPretty,
  parseCategories,
  parseSortCategory,
  parseSortField,
  renderStatsText,
} from '@toil/stats';
import { jobStats, leaderRecord, seedConfig, seedRecords, workerRecord } from './fixtures.js';

const STORE = 'file:/tmp/my-jobstore';

describe('the toil stats report', () => {
  it('reproduces the seed page layout for the seed workflow', () => {
    const text = renderStatsText(collateStats(seedRecords(), seedConfig(), { jobStore: STORE }));
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'Batch System: single_machine',
      'Default Cores: 1  Default Memory: 2097152K',
      'Max Cores: unlimited',
      'Total Clock: 0.56  Total Runtime: 1.01',
    ]);
    expect(lines[4]).toBe('Worker');
    expect(lines[5]).toBe(
      '    Count |                                    Time* |                                    Clock |                                     Wait |                                   Memory',
    );
    expect(lines[6]).toBe(
      '        n |      min    med*     ave     max   total |      min     med     ave     max   total |      min     med     ave     max   total |      min     med     ave     max   total',
    );
    expect(lines[7]).toBe(
      '        1 |     0.14    0.14    0.14    0.14    0.14 |     0.13    0.13    0.13    0.13    0.13 |     0.01    0.01    0.01    0.01    0.01 |      76K     76K     76K     76K     76K',
    );
    expect(lines.slice(8, 11)).toEqual([
      'Job',
      ' Worker Jobs  |     min    med    ave    max',
      '              |       3      3      3      3',
    ]);
    expect(lines[13]).toMatch(/^ {8}3 \| {5}0\.01 {4}0\.06 {4}0\.05 {4}0\.07 {4}0\.14 \|/);
    // One table per job name, ascending by median time as Toil 5.9 sorts by default.
    const names = lines.filter((l) => /^ \S/.test(l) && !l.startsWith(' Worker Jobs'));
    expect(names).toEqual([' sysFiles', ' userFiles', ' discoverFiles']);
    for (const name of ['sysFiles', 'userFiles', 'discoverFiles']) {
      const at = lines.indexOf(` ${name}`);
      expect(lines[at + 1]).toBe('    Total Cores: 1');
      expect(lines[at + 4]).toMatch(/^ {8}1 \|/);
    }
    expect(text.endsWith('76K\n')).toBe(true);
  });

  it('gives the raw JSON a versioned schema with counts per job name', () => {
    const report = collateStats(seedRecords(), seedConfig(), { jobStore: STORE });
    const json = JSON.parse(JSON.stringify(report)) as Record<string, any>;
    expect(json.schema).toBe('toil-ts/stats');
    expect(json.version).toBe(1);
    expect(json.maxCores).toBeNull();
    expect(json.defaultMemory).toBe(2 * 1024 ** 3);
    expect(json.worker.count).toBe(1);
    expect(json.jobs.count).toBe(3);
    expect(json.jobs.perWorker).toEqual({ min: 3, med: 3, ave: 3, max: 3 });
    const counts = Object.fromEntries(
      (json.jobTypes as Array<{ name: string; count: number }>).map((t) => [t.name, t.count]),
    );
    expect(counts).toEqual({ sysFiles: 1, userFiles: 1, discoverFiles: 1 });
    expect(Object.keys(json.jobTypes[0].time)).toEqual(['min', 'med', 'ave', 'max', 'total']);
    expect(json.jobTypes[0].wait.total).toBeCloseTo(0.006);
  });

  it('keeps columns apart however large the memory figures get', () => {
    const records = [
      workerRecord(
        'w1',
        Array.from({ length: 8 }, (_, i) => jobStats('child', 0.02, 0.02, 127_880 + i)),
        { time: 0.2, clock: 0.14, memoryKiB: 127_880 },
      ),
    ];
    const text = renderStatsText(collateStats(records, seedConfig(), { jobStore: STORE }));
    expect(text).not.toMatch(/K\d/);
    const jobRow = text.split('\n').find((l) => l.startsWith('        8 |'))!;
    expect(jobRow).toContain(' 1023068K');
    // Every row of every table has its separators at the same columns as its header.
    const rows = text
      .split('\n')
      .filter((l) => l.includes('|') && !l.includes('Worker Jobs') && !/^ {14}\|/.test(l));
    const bars = (l: string) => [...l].flatMap((c, i) => (c === '|' ? [i] : []));
    for (const row of rows) expect(bars(row)).toEqual(bars(rows[0]!));
  });

  it('counts jobs per worker instead of the total number of jobs', () => {
    const records = [
      workerRecord('a', [jobStats('x', 1, 1)], { time: 1, clock: 1 }),
      workerRecord('b', [jobStats('x', 1, 1), jobStats('y', 2, 1)], { time: 3, clock: 2 }),
      workerRecord(
        'c',
        Array.from({ length: 5 }, () => jobStats('z', 1, 1)),
        { time: 5, clock: 5 },
      ),
    ];
    const report = collateStats(records, seedConfig(), { jobStore: STORE });
    expect(report.jobs.perWorker).toEqual({ min: 1, med: 2, ave: 8 / 3, max: 5 });
    const text = renderStatsText(report);
    expect(text).toContain(' Worker Jobs  |      min     med     ave     max\n');
    expect(text).toContain('              |        1       2 2.66667       5\n');
  });

  it('treats records of one pooled worker as one worker', () => {
    const records = [
      workerRecord('pool-1', [jobStats('x', 1, 1)], { time: 1, clock: 0.5, memoryKiB: 100 }),
      workerRecord('pool-1', [jobStats('x', 2, 1)], { time: 2, clock: 1, memoryKiB: 300 }),
    ];
    const report = collateStats(records, seedConfig(), { jobStore: STORE });
    expect(report.worker.count).toBe(1);
    expect(report.worker.time.total).toBe(3);
    expect(report.worker.memory.max).toBe(300 * 1024);
    expect(report.jobs.perWorker.max).toBe(2);
  });

  it('prints a numeric core limit and "unlimited" for none', () => {
    const limited = collateStats(seedRecords(), seedConfig({ maxCores: 4 }), { jobStore: STORE });
    expect(renderStatsText(limited)).toContain('\nMax Cores: 4\n');
  });

  it('sums restarts and labels each attempt', () => {
    const records = [...seedRecords(), leaderRecord(1, 2.5, 1.25)];
    const report = collateStats(records, seedConfig({ attempt: 1 }), { jobStore: STORE });
    expect(report.totalRuntime).toBeCloseTo(3.51);
    expect(report.attempts.map((a) => a.attempt)).toEqual([0, 1]);
    const lines = renderStatsText(report).split('\n');
    expect(lines[3]).toBe('Total Clock: 1.81  Total Runtime: 3.51');
    expect(lines[4]).toBe('    Attempt 0: Clock 0.56  Runtime 1.01');
    expect(lines[5]).toBe('    Attempt 1: Clock 1.25  Runtime 2.50');
    expect(report.leaderTotalsPending).toBe(false);
  });

  it('says when the running attempt has not recorded its totals', () => {
    const report = collateStats(seedRecords(), seedConfig({ attempt: 1 }), { jobStore: STORE });
    expect(report.leaderTotalsPending).toBe(true);
    expect(renderStatsText(report)).toContain(
      'the latest run attempt has not recorded its leader totals yet',
    );
  });

  it('sorts job tables by the chosen category and field and marks them', () => {
    const records = [
      workerRecord(
        'w',
        [
          jobStats('b', 3, 1, 10),
          jobStats('a', 1, 1, 30),
          jobStats('c', 2, 1, 20),
          jobStats('c', 2, 1, 20),
        ],
        { time: 8, clock: 4 },
      ),
    ];
    const order = (sort: Parameters<typeof collateStats>[2]['sort']) =>
      collateStats(records, seedConfig(), { jobStore: STORE, sort }).jobTypes.map((t) => t.name);
    expect(order({})).toEqual(['a', 'c', 'b']);
    expect(order({ reverse: true })).toEqual(['b', 'c', 'a']);
    expect(order({ category: 'memory', field: 'max' })).toEqual(['b', 'c', 'a']);
    expect(order({ category: 'alpha' })).toEqual(['a', 'b', 'c']);
    expect(order({ category: 'count', reverse: true })).toEqual(['c', 'b', 'a']);

    const memory = renderStatsText(
      collateStats(records, seedConfig(), {
        jobStore: STORE,
        sort: { category: 'memory', field: 'total' },
      }),
    );
    expect(memory).toContain('Memory*');
    expect(memory).toMatch(/ total\*\n/);
    expect(memory).not.toContain('Time*');
    const alpha = renderStatsText(
      collateStats(records, seedConfig(), { jobStore: STORE, sort: { category: 'alpha' } }),
    );
    expect(alpha).not.toContain('*');
    const count = renderStatsText(
      collateStats(records, seedConfig(), { jobStore: STORE, sort: { category: 'count' } }),
    );
    expect(count).toContain('   Count* |');
  });

  it('shows only the chosen categories, in the order given', () => {
    const report = collateStats(seedRecords(), seedConfig(), { jobStore: STORE });
    const header = renderStatsText(report, { categories: ['memory', 'time'] }).split('\n')[5]!;
    expect(header.replace(/ +/g, ' ')).toBe(' Count | Memory | Time*');
  });

  it('never prints -0.00 for a tiny negative wait', () => {
    const records = [
      workerRecord('w', [jobStats('x', 0.0139, 0.0141)], { time: 0.02, clock: 0.02 }),
    ];
    const text = renderStatsText(collateStats(records, seedConfig(), { jobStore: STORE }));
    expect(text).not.toContain('-0.00');
  });

  it('explains how to record stats when the run had no --stats', () => {
    const report = collateStats([leaderRecord(0, 3, 1)], seedConfig({ stats: false }), {
      jobStore: STORE,
    });
    const text = renderStatsText(report);
    expect(text).toContain('No job stats were recorded: this workflow ran without --stats.');
    expect(text).toContain('--stats');
    expect(text).not.toContain('Worker Jobs');
    expect(text.split('\n')[0]).toBe('Batch System: single_machine');
  });

  it('says no job has finished yet on a fresh --stats run', () => {
    const report = collateStats([], seedConfig(), { jobStore: STORE });
    expect(renderStatsText(report)).toContain('no job of this workflow has finished');
  });

  it('counts failed attempts per job name', () => {
    const records = [
      workerRecord(
        'w',
        [jobStats('boom', 1, 1, 76, { succeeded: false }), jobStats('boom', 1, 1)],
        { time: 2, clock: 2 },
      ),
    ];
    const report = collateStats(records, seedConfig(), { jobStore: STORE });
    expect(report.jobTypes[0]!.failedAttempts).toBe(1);
    expect(renderStatsText(report)).toContain('    Total Cores: 2  Failed attempts: 1');
  });

  it('prints human units with --pretty', () => {
    const text = renderStatsText(collateStats(seedRecords(), seedConfig(), { jobStore: STORE }), {
      pretty: true,
    });
    expect(text).toContain('Default Memory: 2.0G');
    expect(text).toContain('Total Clock: 0.56s  Total Runtime: 1.01s');
    expect(formatDuration(95)).toBe('95.0s');
    expect(formatDuration(150)).toBe('2m30s');
    expect(formatDuration(3 * 3600 + 61)).toBe('3h1m1s');
    expect(formatDuration(2 * 86400 + 3600)).toBe('2days1h0m0s');
    expect(formatDuration(8 * 86400)).toBe('1week1day0h0m0s');
    expect(formatMemoryPretty(127_400 * 1024)).toBe('124.4M');
    expect(formatMemoryPretty(76 * 1024)).toBe('76K');
  });
});

describe('stats option values', () => {
  it('accepts categories in any case and order', () => {
    expect(parseCategories('Memory, time')).toEqual(['memory', 'time']);
  });

  it('rejects a bad value with one line listing the choices', () => {
    const bad = [
      () => parseCategories('time,disk'),
      () => parseSortCategory('size'),
      () => parseSortField('mean'),
    ];
    const hints = [
      'time, clock, wait, memory',
      'time, clock, wait, memory, alpha, count',
      'min, med, ave, max, total',
    ];
    bad.forEach((fn, i) => {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(ToilError.is(error)).toBe(true);
      expect((error as ToilError).code).toBe('INVALID_ARGUMENT');
      expect((error as ToilError).message).not.toContain('\n');
      expect((error as ToilError).hint).toContain(hints[i]);
    });
  });
});
