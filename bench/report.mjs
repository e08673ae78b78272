// `toil report` on synthetic stores (bench/fixtures/report-store.ts, the report tests' writer:
// two runs, 4 hosts x 2 workers, retried and failed jobs): build time (whole command, median of
// 3) and the HTML file's size, for 10,000 and 100,000 jobs.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, median, timeCommand } from './lib.mjs';

const RUNS = 3;
const GNU_TIME = '/usr/bin/time';

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
      const cpu = [];
      const cpuFile = join(dir, 'cpu');
      const timeArgs = existsSync(GNU_TIME) ? [GNU_TIME, '-f', '%U %S', '-o', cpuFile] : [];
      for (let i = 0; i < RUNS; i++) {
        const argv = [...timeArgs, process.execPath, CLI, 'report', store, '-o', html];
        const result = await timeCommand(argv);
        if (result.code !== 0)
          throw new Error(`toil report exited ${result.code}: ${result.stderr}`);
        times.push(result.seconds);
        if (timeArgs.length > 0) {
          const [user, system] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ');
          cpu.push(Number(user) + Number(system));
        }
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
        ...(cpu.length > 0
          ? [
              {
                name: `toil report of a ${label}-job store: CPU seconds, user + system (median of ${RUNS})`,
                value: median(cpu),
                unit: 's',
                note: 'its wall time on an idle machine; the wall time above also waits for busy cores',
              },
            ]
          : []),
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
