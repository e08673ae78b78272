// Workflow engine: whole-process wall time and leader peak RSS (median of RUNS runs) of
// fan-out (a root adds N children that do nothing), fan-out with ~10 ms of CPU per child, and a
// chain of N jobs, each with and without --stats, on a file: job store with the single-machine
// batch system. BENCH_WORKFLOW_MAX_N (default 100000) skips larger shapes; BENCH_RUNS sets runs.
// Toil 5.9 on this machine (toil-baseline.md): ~759 s for a 1,000-job fan-out (extrapolated),
// 80.6 s for 100 jobs, 14.2 s for a chained 1,000-job chain with --stats.
// Then the same engine run as users run it: `toil run` (the built CLI, by path) of a .ts file
// and of its .mjs twin (bench/fixtures/user-workflow.*): 1 job, fan-out 100, chain 1,000, each
// with and without --stats. BENCH_WORKFLOW_USER_ONLY=1 runs only these.
// Last, the cost of the live progress display: the 10,000-job fan-out at --logInfo in a
// pseudo-terminal (`script`, display drawn) against the same through a pipe (no display),
// runs interleaved. BENCH_WORKFLOW_PROGRESS_ONLY=1 runs only this.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, median, nodeStartRows, timeCommand } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MAX_N = Number(process.env.BENCH_WORKFLOW_MAX_N ?? 100000);
const SHAPES = join(ROOT, 'bench', 'fixtures', 'workflow-shapes.mjs');
const GNU_TIME = '/usr/bin/time';
const USER_ONLY = process.env.BENCH_WORKFLOW_USER_ONLY === '1';
const PROGRESS_ONLY = process.env.BENCH_WORKFLOW_PROGRESS_ONLY === '1';
const PROGRESS_N = 10000;
const PROGRESS_RUNS = Math.max(RUNS, 5);

/** Single quotes for the shell `script` runs the command in. */
const shellWord = (word) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The fan-out at --logInfo, on a 40x120 pseudo-terminal (`tty`) or a pipe; wall seconds. */
async function runProgressOnce(tty) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-progress-'));
  const workflow = [process.execPath, SHAPES, `file:${join(dir, 'store')}`, '--logInfo'];
  const argv = tty
    ? [
        'script',
        '-qfec',
        `stty rows 40 cols 120; exec ${workflow.map(shellWord).join(' ')}`,
        '/dev/null',
      ]
    : workflow;
  try {
    const result = await timeCommand(argv, {
      cwd: ROOT,
      env: {
        ...process.env,
        CI: '',
        BENCH_SHAPE: 'fanout',
        BENCH_N: String(PROGRESS_N),
        BENCH_RSS_FILE: join(dir, 'rss'),
      },
    });
    if (result.code !== 0) throw new Error(`progress run exited ${result.code}: ${result.stderr}`);
    // eslint-disable-next-line no-control-regex
    const plain = result.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    if (tty && !plain.includes(`Jobs: ${(PROGRESS_N + 1).toLocaleString('en-US')} done`))
      throw new Error('the progress display did not draw in the pseudo-terminal');
    return result.seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function progressRows(log) {
  const shown = [];
  const hidden = [];
  for (let i = 0; i < PROGRESS_RUNS; i++) {
    hidden.push(await runProgressOnce(false));
    shown.push(await runProgressOnce(true));
  }
  log(`fan-out N=${PROGRESS_N}, progress shown: ${shown.map((s) => s.toFixed(2)).join(' ')} s`);
  log(`fan-out N=${PROGRESS_N}, no display: ${hidden.map((s) => s.toFixed(2)).join(' ')} s`);
  const cost = ((median(shown) - median(hidden)) / median(hidden)) * 100;
  return [
    {
      name: `fan-out N=${PROGRESS_N}, progress display on a terminal: wall (median of ${PROGRESS_RUNS})`,
      value: median(shown),
      unit: 's',
    },
    {
      name: `fan-out N=${PROGRESS_N}, piped (no display): wall (median of ${PROGRESS_RUNS})`,
      value: median(hidden),
      unit: 's',
    },
    {
      name: `fan-out N=${PROGRESS_N}: cost of the progress display`,
      value: cost,
      unit: '%',
      target: 3,
      note: 'median shown vs median piped, interleaved runs; includes the pseudo-terminal',
    },
  ];
}

const USER_CASES = [
  { shape: 'one', n: 1, label: '1 job', target: { ts: 0.45 } },
  { shape: 'fanout', n: 100, label: 'fan-out 100' },
  { shape: 'chain', n: 1000, label: 'chain 1,000', target: { ts: 1.2, mjs: 1.2 } },
];

const CASES = [
  { shape: 'fanout', n: 1000, target: 2 },
  { shape: 'fanout', n: 10000 },
  { shape: 'fanout', n: 100000, target: 60, rssTarget: 500 },
  { shape: 'fanoutWork', n: 1000 },
  { shape: 'chain', n: 1000, target: 3 },
];

async function runOnce(shape, n, stats) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-wf-'));
  const rssFile = join(dir, 'rss');
  const leaderRssFile = join(dir, 'leader-rss');
  const workflow = [process.execPath, SHAPES, `file:${join(dir, 'store')}`, '--logWarning'];
  if (stats) workflow.push('--stats');
  const argv = existsSync(GNU_TIME) ? [GNU_TIME, '-f', '%M', '-o', rssFile, ...workflow] : workflow;
  try {
    const result = await timeCommand(argv, {
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_SHAPE: shape,
        BENCH_N: String(n),
        BENCH_RSS_FILE: leaderRssFile,
      },
    });
    if (result.code !== 0) {
      throw new Error(`${shape} N=${n} exited ${result.code}: ${result.stderr.slice(-2000)}`);
    }
    // GNU time's %M covers the leader and the workers it waited for (the largest process);
    // the leader writes its own peak (getrusage RUSAGE_SELF) to BENCH_RSS_FILE.
    const treeKb = existsSync(rssFile)
      ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop())
      : NaN;
    const leaderKb = Number(readFileSync(leaderRssFile, 'utf8'));
    return { seconds: result.seconds, rssMb: leaderKb / 1024, largestMb: treeKb / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One `toil run FILE STORE` as a user types it; resolves to its wall seconds. */
async function runUserOnce(file, shape, n, stats) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-user-'));
  const argv = [process.execPath, CLI, 'run', file, `file:${join(dir, 'store')}`, '--logWarning'];
  if (stats) argv.push('--stats');
  try {
    const result = await timeCommand(argv, {
      cwd: ROOT,
      env: { ...process.env, BENCH_SHAPE: shape, BENCH_N: String(n) },
    });
    if (result.code !== 0) {
      throw new Error(
        `toil run ${file} ${shape} exited ${result.code}: ${result.stderr.slice(-2000)}`,
      );
    }
    return result.seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function userRows(log) {
  const rows = [];
  for (const c of USER_CASES) {
    for (const stats of [false, true]) {
      const medians = {};
      for (const ext of ['ts', 'mjs']) {
        const file = join(ROOT, 'bench', 'fixtures', `user-workflow.${ext}`);
        const label = `toil run .${ext}, ${c.label}${stats ? ' --stats' : ''}`;
        const runs = [];
        for (let i = 0; i < RUNS; i++) runs.push(await runUserOnce(file, c.shape, c.n, stats));
        medians[ext] = median(runs);
        log(`${label}: ${runs.map((s) => s.toFixed(2)).join(' ')} s`);
        rows.push({
          name: `${label}: wall (median of ${RUNS})`,
          value: medians[ext],
          unit: 's',
          target: c.target?.[ext],
        });
      }
      rows.push({
        name: `toil run, ${c.label}${stats ? ' --stats' : ''}: .ts minus .mjs`,
        value: medians.ts - medians.mjs,
        unit: 's',
        target: c.shape === 'one' ? 0.1 : undefined,
      });
    }
  }
  return rows;
}

export default async function run({ log }) {
  if (PROGRESS_ONLY) return progressRows(log);
  const rows = [];
  for (const c of USER_ONLY ? [] : CASES) {
    if (c.n > MAX_N) continue;
    for (const stats of [false, true]) {
      const label = `${c.shape === 'fanoutWork' ? 'fan-out, 10 ms CPU each' : c.shape === 'fanout' ? 'fan-out' : 'chain'} N=${c.n}${stats ? ' --stats' : ''}`;
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await runOnce(c.shape, c.n, stats));
      const seconds = median(runs.map((r) => r.seconds));
      const rss = median(runs.map((r) => r.rssMb));
      const largest = median(runs.map((r) => r.largestMb));
      log(
        `${label}: ${runs.map((r) => r.seconds.toFixed(2)).join(' ')} s; leader RSS ${runs.map((r) => r.rssMb.toFixed(0)).join(' ')} MiB; largest process ${runs.map((r) => r.largestMb.toFixed(0)).join(' ')} MiB`,
      );
      rows.push({
        name: `${label}: wall (median of ${RUNS})`,
        value: seconds,
        unit: 's',
        target: c.target,
        note: `${((seconds / c.n) * 1000).toFixed(2)} ms/job`,
      });
      rows.push({
        name: `${label}: leader peak RSS`,
        value: rss,
        unit: 'MiB',
        target: c.rssTarget,
      });
      rows.push({
        name: `${label}: largest process peak RSS (leader or a worker)`,
        value: largest,
        unit: 'MiB',
      });
    }
  }
  rows.push(...(await userRows(log)));
  rows.push(...(await nodeStartRows()));
  if (!USER_ONLY) rows.push(...(await progressRows(log)));
  return rows;
}
