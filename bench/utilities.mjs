// The job-store utilities on big stores.
//
// 1. Stores made by real workflow runs: a fan-out of 1,000 and of 100,000 no-op jobs run with
//    `toil run ... --stats` (the built @toil/workflow); `toil stats`, `toil status`, `toil clean`.
// 2. A store written through the built @toil/jobstore API the way the leader and its workers
//    write one, holding 100,000 finished jobs' stats records plus 145,000 unfinished jobs (the
//    size at which Toil users report 83 minutes for `toil status`): `toil status` (and a
//    `--printJobs` walk), `toil stats`, `toil clean`. A real run cannot leave 145,000 jobs
//    pending on purpose, so this one is built.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, createBenchStore, median, timeCommand } from './lib.mjs';

// Toil 5.9 on this machine (../shared/reference/toil-baseline.md, sections 0 and 3.3).
const TOIL = {
  stats1000: 'Toil 5.9: 1.50 s (1000-job chain store)',
  status1000: 'Toil 5.9: 1.58 s (999 pending jobs)',
  status145k: 'Toil users report 83 min for 145,000 jobs; Toil 5.9 walks ~0.6 ms/job',
  clean: 'Toil 5.9: 1.67 s (1000-job chain store), 2.34 s (999 pending jobs)',
};

const NAMES = ['Leaf', 'Merge', 'Split', 'sysFiles', 'userFiles'];

function jobRecord(id, i) {
  return {
    v: 1,
    id,
    jobName: NAMES[i % NAMES.length],
    displayName: NAMES[i % NAMES.length],
    version: 1,
    state: i % 50 === 0 ? 'running' : 'ready',
    requirements: { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptible: false },
    checkpoint: false,
    remainingTryCount: i % 1000 === 7 ? 0 : 2,
    children: i % 10 === 0 ? [`job-${i + 1}`] : [],
    followOns: [],
    services: [],
    isService: false,
    predecessors: [],
    body: { module: 'bench', args: [i] },
  };
}

function workerRecord(batch, jobsPerBatch, firstJob) {
  const jobs = [];
  for (let k = 0; k < jobsPerBatch; k++) {
    const i = firstJob + k;
    const time = 0.01 + (i % 97) / 1000;
    jobs.push({
      jobId: `done-${i}`,
      name: NAMES[i % NAMES.length],
      time,
      clock: time * 0.8,
      memory: 90e6 + (i % 13) * 1e6,
      requestedCores: 1,
      start: 1.7e9 + i,
      succeeded: true,
    });
  }
  return {
    v: 1,
    kind: 'worker',
    time: Date.now() / 1000,
    worker: {
      id: `worker-${batch % 2}`,
      host: 'vm',
      pid: 1000 + (batch % 2),
      time: jobs.reduce((s, j) => s + j.time, 0),
      clock: jobs.reduce((s, j) => s + j.clock, 0),
      memory: 120e6,
      requestedCores: 1,
      jobsRun: jobs.length,
    },
    jobs,
    messages: [],
  };
}

async function buildStore(path, { finished, unfinished }) {
  const store = await createBenchStore(path);
  // One stats record per finished job, as a worker that runs one job per batch writes them.
  const pending = [];
  for (let i = 0; i < finished; i++) {
    pending.push(store.appendStats(workerRecord(i, 1, i)));
    if (pending.length >= 5000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await store.appendStats({
    v: 1,
    kind: 'leader',
    time: Date.now() / 1000,
    attempt: 0,
    totalTime: 4200,
    totalClock: 900,
  });
  for (let start = 0; start < unfinished; start += 1000) {
    const writes = [];
    for (let i = start; i < Math.min(unfinished, start + 1000); i++)
      writes.push({ op: 'put', record: jobRecord(`job-${i}`, i) });
    await store.commit(writes);
  }
  await store.setRootJobId('job-0');
  await store.setLeader({
    pid: 999_999,
    nodeId: 'bench-node',
    hostname: hostname(),
    startedAt: Date.now() / 1000,
    attempt: 0,
  });
  await store.writeSummary({
    v: 1,
    updatedAt: Date.now() / 1000,
    attempt: 0,
    unfinished,
    withChildren: Math.ceil(unfinished / 10),
    withServices: 0,
    services: 0,
    totallyFailed: Math.floor(unfinished / 1000),
    running: Math.ceil(unfinished / 50),
    ready: unfinished - Math.ceil(unfinished / 50),
    completed: finished,
  });
  await store.close();
}

async function timeToil(args, runs, log) {
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    last = await timeCommand([process.execPath, CLI, ...args]);
    if (last.code !== 0)
      throw new Error(`toil ${args.join(' ')} exited ${last.code}: ${last.stderr}`);
    times.push(last.seconds);
  }
  log(`toil ${args.join(' ')}: ${times.map((t) => t.toFixed(3)).join(' ')}`);
  return { seconds: median(times), result: last };
}

// A fan-out workflow (Toil's fanout.py): Root adds FANOUT children that return at once.
const FANOUT_WORKFLOW = `
import { Job, Toil } from ${JSON.stringify(pathToFileURL(join(ROOT, 'packages/workflow/dist/index.js')).href)};
export class Leaf extends Job { run() {} }
export class Root extends Job {
  run() { for (let i = 0; i < Number(process.env.FANOUT); i++) this.addChild(new Leaf()); }
}
Job.Runner.main(import.meta.url, async () => {
  const toil = new Toil(Job.Runner.getDefaultOptions());
  try { await toil.start(new Root()); } finally { await toil[Symbol.asyncDispose](); }
});
`;

async function realRuns(dir, rows, log) {
  const workflow = join(dir, 'fanout.mjs');
  writeFileSync(workflow, FANOUT_WORKFLOW);
  for (const [n, label, statsTarget, toilNote] of [
    [1000, '1,000', 0.5, TOIL.stats1000],
    [100_000, '100,000', 3, 'Toil: not measured (a 100,000-job fan-out would take about 21 h)'],
  ]) {
    const store = `file:${join(dir, `fanout-${n}`)}`;
    const run = await timeCommand([process.execPath, CLI, 'run', workflow, store, '--stats'], {
      env: { ...process.env, FANOUT: String(n) },
    });
    if (run.code !== 0) {
      log(
        `fan-out of ${label} failed (${run.code}): ${run.stderr
          .split('\n')
          .filter((l) => /error/i.test(l))
          .slice(0, 3)
          .join(' | ')}`,
      );
      rows.push({
        name: `real fan-out of ${label} jobs with --stats`,
        value: 'failed',
        unit: '',
        note: 'the workflow run failed; see the log above',
      });
      continue;
    }
    log(`fan-out of ${label} jobs ran in ${run.seconds.toFixed(1)} s`);
    rows.push({
      name: `(context) toil run fan-out of ${label} jobs --stats`,
      value: run.seconds,
      unit: 's',
      note: n === 1000 ? 'Toil 5.9: about 765 s extrapolated' : '',
    });
    for (const [name, args, runs, target, note] of [
      [
        `toil stats [real ${label}-job run]`,
        ['stats', store],
        n === 1000 ? 5 : 3,
        statsTarget,
        toilNote,
      ],
      [`toil stats --raw [real ${label}-job run]`, ['stats', store, '--raw'], 3, statsTarget, ''],
      [
        `toil status [real ${label}-job run]`,
        ['status', store],
        5,
        0.5,
        'Toil 5.9: 0.99-1.38 s on completed stores',
      ],
    ]) {
      const { seconds, result } = await timeToil(args, runs, log);
      if (name.startsWith('toil stats [')) {
        const count = /^ {2,}(\d+) \|/m.exec(result.stdout.split('\nJob\n')[1] ?? '')?.[1];
        log(`  job table count: ${count}`);
      }
      rows.push({ name: `${name} (median of ${runs})`, value: seconds, unit: 's', target, note });
    }
    const clean = await timeCommand([process.execPath, CLI, 'clean', store]);
    if (clean.code !== 0) throw new Error(`toil clean exited ${clean.code}: ${clean.stderr}`);
    rows.push({
      name: `toil clean [real ${label}-job run] (one run)`,
      value: clean.seconds,
      unit: 's',
      target: 10,
      note: TOIL.clean,
    });
  }
}

export default async function run({ log }) {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-utilities-'));
  // Other work on the machine inflates every figure; say how busy it was.
  const rows = [{ name: '(context) load average, 1 min, at start', value: loadavg()[0], unit: '' }];
  try {
    await realRuns(dir, rows, log);
    const small = join(dir, 'jobs-1000');
    const big = join(dir, 'jobs-100000');
    const started = Date.now();
    await buildStore(small, { finished: 1000, unfinished: 1000 });
    await buildStore(big, { finished: 100_000, unfinished: 145_000 });
    log(`built stores written in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const cases = [
      ['toil stats [built 1,000 jobs]', ['stats', `file:${small}`], 5, 0.5, TOIL.stats1000],
      [
        'toil stats --raw [built 1,000 jobs]',
        ['stats', `file:${small}`, '--raw'],
        5,
        0.5,
        TOIL.stats1000,
      ],
      [
        'toil status [built: 1,000 unfinished jobs]',
        ['status', `file:${small}`],
        5,
        0.5,
        TOIL.status1000,
      ],
      [
        'toil stats [built 100,000 jobs]',
        ['stats', `file:${big}`],
        3,
        3,
        'Toil: not measured (1.5 s at 1,000)',
      ],
      ['toil stats --raw [built 100,000 jobs]', ['stats', `file:${big}`, '--raw'], 3, 3, ''],
      [
        'toil status [built: 145,000 unfinished jobs]',
        ['status', `file:${big}`],
        5,
        0.5,
        TOIL.status145k,
      ],
      [
        'toil status --printJobs [built: 145,000 unfinished jobs]',
        ['status', `file:${big}`, '--printJobs'],
        3,
        undefined,
        'walks every job record (no target)',
      ],
    ];
    for (const [name, args, runs, target, note] of cases) {
      let measured;
      try {
        measured = await timeToil(args, runs, log);
      } catch (error) {
        if (target !== undefined) throw error;
        // An informative row without a target reports its failure instead of hiding the others.
        log(String(error.message).split('\n').slice(0, 3).join(' | '));
        rows.push({
          name,
          value: 'failed',
          unit: '',
          note: String(error.message)
            .split('\n')
            .find((l) => l.startsWith('toil: error')),
        });
        continue;
      }
      const { seconds, result } = measured;
      if (name.startsWith('toil stats [built 100,000')) {
        const count = /^ {2,}(\d+) \|/m.exec(result.stdout.split('\nJob\n')[1] ?? '')?.[1];
        log(`  job table count: ${count}`);
      }
      rows.push({ name: `${name} (median of ${runs})`, value: seconds, unit: 's', target, note });
    }

    const clean = await timeCommand([process.execPath, CLI, 'clean', `file:${big}`]);
    if (clean.code !== 0) throw new Error(`toil clean exited ${clean.code}: ${clean.stderr}`);
    log(`toil clean: ${clean.stdout.trim()}`);
    rows.push({
      name: 'toil clean [built 100,000 + 145,000 jobs] (one run)',
      value: clean.seconds,
      unit: 's',
      target: 10,
      note: TOIL.clean,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
