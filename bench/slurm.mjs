// Slurm throughput, on the real single-node test cluster, in one run:
// - whole workflows side by side with Slurm's own floor (#18): fan-out 100 (three times,
//   BENCH_SLURM_REPEATS), fan-out 20 and chain 20, each with --stats, through `toil run --batchSystem slurm` (one Slurm job per job,
//   then with 2 warm workers) and on the single machine, against a bare `sbatch --wrap true`
//   loop drained from the queue (fan-outs) and serial sbatch-and-wait (chain), with the ratios;
// - where a one-shot worker's time goes (median over the fan-out's jobs, from the worker's own
//   TOIL_WORKER_PROFILE lines): Node's start to the entry, the worker's imports, store open, the
//   workflow module, reading the job, the job, the commits, stats + close, each as wall and as
//   the worker's own CPU time (which other processes do not inflate); CPU and peak RSS;
// - for comparison, the fan-out 100's floor with jobs that start Node and do nothing else
//   (measured in each repeat), and with `sleep` jobs as long as a one-shot worker's life
//   (Slurm's start cadence depends on how long jobs last, see packages/batch-slurm/README.md);
// - the batch-system layer alone: 100 trivial jobs through @toil/batch-slurm vs the floor, and
//   as one job array (BENCH_SLURM_LAYER_SIZES=100,1000 for more sizes).
// The machine's load average is printed with the figures: wall times wait for cores.
// Needs root and the Debian Slurm packages; holds a lease on the test cluster
// (tooling/test-env/slurm.sh), which starts it if needed and stops it after the last user.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, median, nodeStartRows, timeCommand } from './lib.mjs';

const SIZES = (process.env.BENCH_SLURM_LAYER_SIZES ?? '100').split(',').map(Number);
const SHAPES = join(ROOT, 'bench/fixtures/workflow-shapes.mjs');
/** A Slurm job that starts Node (as a worker starts it) and does nothing else. */
const NODE_JOB = `env -u NODE_EXTRA_CA_CERTS ${process.execPath} -e 0`;
/** The profile's phases, in the order a one-shot worker goes through them. */
const PHASES = [
  ['entry', "Node's start to the worker's entry"],
  ['imports', "the worker's own modules"],
  ['open', 'opening the store, reading its config'],
  ['module', 'importing the workflow module'],
  ['read', 'reading the job'],
  ['run', 'running the job (without commits)'],
  ['commit', 'the commit(s)'],
  ['stats', 'stats record + closing the store'],
];
const SCRIPT = join(ROOT, 'tooling/test-env/slurm.sh');
const SLURM_DIR = process.env.TOIL_TEST_SLURM_DIR ?? '/tmp/toil-ts-slurm';

function slurm(argv, input) {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
}

function queueIds() {
  return new Set(slurm(['squeue', '-h', '-o', '%A']).split('\n').filter(Boolean));
}

/** Waits (polling every 100 ms) until none of `ids` is pending, running or completing. */
async function drain(ids) {
  for (;;) {
    const queue = queueIds();
    if (![...ids].some((id) => queue.has(id))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `n` jobs of `command` (default `true`) submitted by an sbatch loop, until the queue drained. */
async function floor(n, command = 'true') {
  const started = process.hrtime.bigint();
  const ids = [];
  for (let i = 0; i < n; i++) {
    const result = await timeCommand([
      'sbatch',
      '--parsable',
      '-o',
      '/dev/null',
      '--wrap',
      command,
    ]);
    if (result.code !== 0) throw new Error(`sbatch failed: ${result.stderr}`);
    ids.push(result.stdout.trim());
  }
  const submitted = Number(process.hrtime.bigint() - started) / 1e9;
  await drain(ids);
  return { total: Number(process.hrtime.bigint() - started) / 1e9, submitted };
}

async function array(n) {
  const started = process.hrtime.bigint();
  const id = slurm([
    'sbatch',
    '--parsable',
    '-o',
    '/dev/null',
    `--array=0-${n - 1}`,
    '--wrap',
    'true',
  ]).trim();
  for (;;) {
    const queue = slurm(['squeue', '-h', '-r', '-o', '%F']).split('\n');
    if (!queue.includes(id)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function ours(n, createBatchSystem, silentHost) {
  const workDir = mkdtempSync(join(SLURM_DIR, 'output', 'bench-'));
  const batch = await createBatchSystem({
    host: silentHost,
    jobStoreLocator: `file:${workDir}/store`,
    workflowId: 'bench',
    workflow: { source: SHAPES },
    workerCommand: ['true'],
    maxCores: null,
    maxMemory: null,
    maxDisk: null,
    workDir,
    options: {},
  });
  const started = process.hrtime.bigint();
  const ids = [];
  // Like the leader: one issue after the other.
  for (let i = 0; i < n; i++) {
    ids.push(
      await batch.submit({
        jobId: `j${i}`,
        name: 'BenchJob',
        requirements: { cores: 1, memory: 128 * 2 ** 20, disk: 0, preemptible: false },
        argv: ['true'],
        env: {},
      }),
    );
  }
  const submitted = Number(process.hrtime.bigint() - started) / 1e9;
  let failed = 0;
  let left = n;
  while (left > 0) {
    for (const finished of await batch.poll(5000)) {
      left--;
      if (finished.exitCode !== 0) failed++;
    }
  }
  const total = Number(process.hrtime.bigint() - started) / 1e9;
  await batch.shutdown();
  rmSync(workDir, { recursive: true, force: true });
  if (failed) throw new Error(`${failed} of ${n} benchmark jobs failed`);
  return { total, submitted };
}

/** Serial floor: each `sbatch --wrap true` waits until the one before left the queue. */
async function floorChain(n) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const result = await timeCommand(['sbatch', '--parsable', '-o', '/dev/null', '--wrap', 'true']);
    if (result.code !== 0) throw new Error(`sbatch failed: ${result.stderr}`);
    await drain([result.stdout.trim()]);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Warm workers in the warm rows: one per core of the test cluster's node. */
const WARM_WORKERS = 2;

/**
 * One `toil run` of bench/fixtures/workflow-shapes.mjs with --stats: on Slurm (`mode` 'slurm'
 * or 'warm', with --slurmWarmWorkers) or on the single machine ('single'). Wall seconds and
 * the jobs `toil stats` counts.
 */
async function workflow(shape, n, profile, mode = 'slurm') {
  const dir = mkdtempSync(join(SLURM_DIR, 'output', 'bench-wf-'));
  const batch =
    mode === 'single'
      ? []
      : [
          '--batchSystem',
          'slurm',
          ...(mode === 'warm' ? ['--slurmWarmWorkers', String(WARM_WORKERS)] : []),
        ];
  const args = [
    'run',
    SHAPES,
    `file:${dir}/store`,
    ...batch,
    '--defaultMemory',
    '256M',
    '--stats',
    '--workDir',
    dir,
  ];
  const env = { ...process.env, BENCH_SHAPE: shape, BENCH_N: String(n) };
  if (profile) env.TOIL_WORKER_PROFILE = profile;
  const result = await timeCommand([process.execPath, CLI, ...args], { env });
  const stats = spawnSync(process.execPath, [CLI, 'stats', `file:${dir}/store`, '--raw'], {
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  if (result.code !== 0) throw new Error(`toil run failed: ${result.stderr.slice(-2000)}`);
  const jobs = JSON.parse(stats.stdout).jobs.count;
  return { seconds: result.seconds, jobs };
}

function load() {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
}

export default async function run({ log }) {
  if (process.getuid?.() !== 0)
    throw new Error('the Slurm benchmark needs root (slurmd runs as root)');
  // A lease, like the tests: Slurm stays up while anyone else uses it.
  const acquire = spawnSync('bash', [SCRIPT, 'acquire', String(process.pid)], { encoding: 'utf8' });
  if (acquire.status !== 0) throw new Error(`could not start Slurm: ${acquire.stderr}`);
  process.env.SLURM_CONF = join(SLURM_DIR, 'slurm.conf');
  const { createBatchSystem } = await import('@toil/batch-slurm');
  const { silentHost } = await import('@toil/core');
  const rows = [];
  const loadBefore = load();
  try {
    // Whole workflows against Slurm's floor, each floor measured right before its workflow.
    const profile = join(SLURM_DIR, 'output', `bench-profile-${process.pid}.ndjson`);
    rmSync(profile, { force: true });
    // Slurm's floor swings between runs (its scheduler starts pending jobs in passes about a
    // second apart, and sometimes sooner): each shape is measured BENCH_SLURM_REPEATS times
    // (default 3 for fan-out 100, 1 for the others), floor and runs side by side each time,
    // and every run's figures are printed with the median ratio.
    const repeats = Number(process.env.BENCH_SLURM_REPEATS ?? 3);
    const shapes = [
      {
        label: 'fan-out 100, --stats',
        shape: 'fanout',
        n: 100,
        target: 2,
        profile,
        repeats,
        nodeFloor: true,
      },
      { label: 'fan-out 20, --stats', shape: 'fanout', n: 20, repeats: 1 },
      { label: 'chain 20, --stats', shape: 'chain', n: 20, target: 1.2, repeats: 1 },
    ];
    const list = (values, digits = 1) => values.map((v) => v.toFixed(digits)).join(', ');
    for (const { label, shape, n, target, profile: file, repeats: times, nodeFloor } of shapes) {
      const runs = [];
      for (let i = 0; i < times; i++) {
        const floorSeconds = shape === 'chain' ? await floorChain(n) : (await floor(n)).total;
        const ours = await workflow(shape, n, i === 0 ? file : undefined);
        // Any worker written for Node pays a Node process per Slurm job: the same floor with
        // jobs that start Node and do nothing else (as the workers start it: without the
        // NODE_EXTRA_CA_CERTS parse that toil run spares them).
        const nodeSeconds = nodeFloor ? (await floor(n, NODE_JOB)).total : undefined;
        const warm = await workflow(shape, n, undefined, 'warm');
        const single = await workflow(shape, n, undefined, 'single');
        runs.push({ floorSeconds, ours, nodeSeconds, warm, single });
        log(
          `${label} (${i + 1}/${times}): floor ${floorSeconds.toFixed(1)} s, toil-ts ${ours.seconds.toFixed(1)} s, ` +
            (nodeSeconds === undefined ? '' : `bare-Node floor ${nodeSeconds.toFixed(1)} s, `) +
            `warm ${warm.seconds.toFixed(2)} s, single machine ${single.seconds.toFixed(2)} s (load ${load()})`,
        );
      }
      const floors = runs.map((r) => r.floorSeconds);
      const oneShot = runs.map((r) => r.ours.seconds);
      const warms = runs.map((r) => r.warm.seconds);
      const singles = runs.map((r) => r.single.seconds);
      const oneShotRatios = runs.map((r) => r.ours.seconds / r.floorSeconds);
      const warmRatios = runs.map((r) => r.warm.seconds / r.single.seconds);
      const each = times > 1 ? ` (runs: ${list(oneShotRatios, 2)})` : '';
      rows.push(
        {
          name: `${label}: Slurm's floor (${shape === 'chain' ? 'serial sbatch-and-wait' : 'sbatch loop until drained'})`,
          value: median(floors),
          unit: 's',
          ...(times > 1 ? { note: `median of ${times}: ${list(floors)} s` } : {}),
        },
        {
          name: `${label}: toil-ts, one Slurm job per job`,
          value: median(oneShot),
          unit: 's',
          note: `${runs.map((r) => r.ours.jobs).join('/')} jobs in toil stats${times > 1 ? `; runs ${list(oneShot)} s` : ''}`,
        },
        {
          name: `${label}: toil-ts one job per Slurm job / floor${times > 1 ? ', median of the runs' : ''}`,
          value: median(oneShotRatios),
          unit: 'x',
          ...(each ? { note: each.trim() } : {}),
          ...(target === undefined ? {} : { target }),
        },
        {
          name: `${label}: toil-ts, ${WARM_WORKERS} warm workers`,
          value: median(warms),
          unit: 's',
          note: `${runs.map((r) => r.warm.jobs).join('/')} jobs in toil stats; ${(median(warms) / median(floors)).toFixed(2)}x the floor${times > 1 ? `; runs ${list(warms, 2)} s` : ''}`,
        },
        {
          name: `${label}: toil-ts on the single machine`,
          value: median(singles),
          unit: 's',
          note: `${runs.map((r) => r.single.jobs).join('/')} jobs in toil stats${times > 1 ? `; runs ${list(singles, 2)} s` : ''}`,
        },
        {
          name: `${label}: warm workers / single machine${times > 1 ? ', median of the runs' : ''}`,
          value: median(warmRatios),
          unit: 'x',
          ...(times > 1 ? { note: `runs: ${list(warmRatios, 2)}` } : {}),
          ...(shape === 'fanout' && n === 100 ? { target: 1.5 } : {}),
        },
      );
      if (nodeFloor) {
        const nodes = runs.map((r) => r.nodeSeconds);
        const nodeRatios = runs.map((r) => r.ours.seconds / r.nodeSeconds);
        const bareRatios = runs.map((r) => r.nodeSeconds / r.floorSeconds);
        rows.push(
          {
            name: `${label}: Slurm's floor with a bare Node process per job (node -e 0)`,
            value: median(nodes),
            unit: 's',
            note: `runs ${list(nodes)} s; ${list(bareRatios, 2)}x the true floor; for comparison`,
          },
          {
            name: `${label}: toil-ts one job per Slurm job / bare-Node floor, median of the runs`,
            value: median(nodeRatios),
            unit: 'x',
            note: `runs: ${list(nodeRatios, 2)}; for comparison`,
          },
        );
      }
    }
    if (existsSync(profile)) {
      const samples = readFileSync(profile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      rmSync(profile, { force: true });
      // Slurm starts pending batch jobs only in its scheduling passes (sbatch never starts one
      // at submission); whether a batch of short jobs ends in time for the next pass depends on
      // how long the jobs last, not on what they do. So: the same floor with jobs that last as
      // long as a one-shot worker did (its median life, sharing the cores with the others).
      const life = median(samples.map((s) => PHASES.reduce((t, [key]) => t + (s[key] ?? 0), 0)));
      const sleep = (life / 1000).toFixed(2);
      const fanOut = rows.find(
        (r) => r.name === 'fan-out 100, --stats: toil-ts, one Slurm job per job',
      );
      const equal = [];
      for (let i = 0; i < repeats; i++) equal.push((await floor(100, `sleep ${sleep}`)).total);
      log(`floor 100 x sleep ${sleep}: ${list(equal)} s`);
      rows.push(
        {
          name: `fan-out 100: Slurm's floor with jobs as long as a one-shot worker (sleep ${sleep})`,
          value: median(equal),
          unit: 's',
          note: `median of ${repeats}: ${list(equal)} s; for comparison`,
        },
        {
          name: 'fan-out 100: toil-ts one job per Slurm job / that floor',
          value: fanOut.value / median(equal),
          unit: 'x',
          note: 'for comparison',
        },
      );
      for (const [key, what] of PHASES)
        rows.push({
          name: `one-shot worker: ${what}, median`,
          value: median(samples.map((s) => s[key] ?? 0)),
          unit: 'ms',
          note: `wall; CPU ${median(samples.map((s) => s.cpuPhases?.[key] ?? 0)).toFixed(0)} ms; ${samples.length} jobs of the fan-out 100`,
        });
      rows.push(
        {
          name: 'one-shot worker: CPU time (user + system), median',
          value: median(samples.map((s) => s.cpu)),
          unit: 'ms',
        },
        {
          name: 'one-shot worker: peak RSS, median',
          value: median(samples.map((s) => s.rss)) / 2 ** 20,
          unit: 'MiB',
        },
      );
    }
    rows.push(...(await nodeStartRows()));
    // The batch-system layer alone, with `true` as the job.
    for (const n of SIZES) {
      const bare = await floor(n);
      log(`floor ${n}: ${bare.total.toFixed(1)} s (sbatch loop ${bare.submitted.toFixed(1)} s)`);
      const mine = await ours(n, createBatchSystem, silentHost);
      log(
        `batch-slurm ${n}: ${mine.total.toFixed(1)} s (issue loop ${mine.submitted.toFixed(1)} s)`,
      );
      const arrayed = await array(n);
      log(`array ${n}: ${arrayed.toFixed(1)} s`);
      const floorPerJob = bare.total / n;
      const oursPerJob = mine.total / n;
      rows.push(
        {
          name: `${n} \`true\` jobs: Slurm floor (sbatch --wrap true loop), per job`,
          value: floorPerJob,
          unit: 's',
        },
        {
          name: `${n} \`true\` jobs: @toil/batch-slurm issue + poll, per job`,
          value: oursPerJob,
          unit: 's',
          note: `${((100 * (oursPerJob - floorPerJob)) / floorPerJob).toFixed(1)} % over the floor`,
        },
        {
          name: `${n} \`true\` jobs: one job array, per job`,
          value: arrayed / n,
          unit: 's',
          note: 'for comparison',
        },
      );
    }
    rows.push({
      name: 'load average (1 / 5 / 15 min) before and after',
      value: loadavg()[0],
      unit: '',
      note: `before ${loadBefore}; after ${load()} (2 cores, shared machine)`,
    });
  } finally {
    spawnSync('bash', [SCRIPT, 'release', String(process.pid)], { stdio: 'ignore' });
  }
  return rows;
}
