// `toil report` on synthetic stores (bench/fixtures/report-store.ts, the report tests' writer:
// two runs, 4 hosts x 2 workers, retried and failed jobs): build time (whole command, median of
// 3) and the HTML file's size, for 10,000 and 100,000 jobs.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, median, timeCommand } from './lib.mjs';

const RUNS = 3;

export default async function run({ log }) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-report-'));
  const rows = [];
  try {
    for (const [jobs, label] of [
      [10_000, '10,000'],
      [100_000, '100,000'],
    ]) {
      const store = `file:${join(dir, `s${jobs}`)}`;
      const made = await timeCommand(
        [
          process.execPath,
          '--import',
          'tsx',
          'bench/fixtures/report-store.ts',
          store,
          String(jobs),
        ],
        { cwd: ROOT },
      );
      if (made.code !== 0) throw new Error(`writing the ${label}-job store failed: ${made.stderr}`);
      const html = join(dir, `s${jobs}.html`);
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const result = await timeCommand([process.execPath, CLI, 'report', store, '-o', html]);
        if (result.code !== 0)
          throw new Error(`toil report exited ${result.code}: ${result.stderr}`);
        times.push(result.seconds);
      }
      log(`toil report [${label} jobs]: ${times.map((t) => t.toFixed(3)).join(' ')}`);
      const statsTimes = [];
      for (let i = 0; i < RUNS; i++)
        statsTimes.push((await timeCommand([process.execPath, CLI, 'stats', store])).seconds);
      rows.push(
        {
          name: `toil report of a ${label}-job store (median of ${RUNS})`,
          value: median(times),
          unit: 's',
          ...(jobs === 100_000 ? { target: 3 } : {}),
          note: 'whole command: read status, stats records and failed logs, render, write',
        },
        {
          name: `(context) toil stats of the same store (median of ${RUNS})`,
          value: median(statsTimes),
          unit: 's',
          note: 'reads the same stats records: the floor under toil report',
        },
        {
          name: `report.html size [${label} jobs]`,
          value: Math.round(statSync(html).size / 1024),
          unit: 'KB',
        },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
