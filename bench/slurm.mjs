// Slurm fan-out: time per job for 100 and 1,000 trivial jobs through @toil/batch-slurm (sbatch
// per job, the leader's sequential issue loop, batched squeue polls), against Slurm's own floor
// (a bare `sbatch --wrap true` loop, then waiting for the queue to drain) and a job array (one
// sbatch for all, to see whether arrays would pay off). Also a 100-job workflow fan-out through
// `toil run --batchSystem slurm` (a Node worker per job). Needs root and the Debian Slurm packages;
// starts the test cluster with tooling/test-env/slurm.sh if it is not running and stops it after.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, timeCommand } from './lib.mjs';

const SIZES = [100, 1000];
const SCRIPT = join(ROOT, 'tooling/test-env/slurm.sh');
const SLURM_DIR = process.env.TOIL_TEST_SLURM_DIR ?? '/tmp/toil-ts-slurm';
const FIXTURE = join(ROOT, 'packages/batch-slurm/test/fixtures/slurm-workflow.mjs');

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

async function floor(n) {
  const started = process.hrtime.bigint();
  const ids = [];
  for (let i = 0; i < n; i++) {
    const result = await timeCommand(['sbatch', '--parsable', '-o', '/dev/null', '--wrap', 'true']);
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
    workflowModule: FIXTURE,
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
      await batch.issue({
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

async function workflowFanout(n) {
  const dir = mkdtempSync(join(SLURM_DIR, 'output', 'bench-wf-'));
  const args = [
    'run',
    FIXTURE,
    `file:${dir}/store`,
    '--batchSystem',
    'slurm',
    '--defaultMemory',
    '256M',
  ];
  const result = await timeCommand([process.execPath, CLI, ...args], {
    env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: String(n) },
  });
  rmSync(dir, { recursive: true, force: true });
  if (result.code !== 0) throw new Error(`toil run failed: ${result.stderr.slice(-2000)}`);
  return result.seconds;
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
  try {
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
          name: `${n} jobs: Slurm floor (sbatch --wrap true loop), per job`,
          value: floorPerJob,
          unit: 's',
        },
        {
          name: `${n} jobs: @toil/batch-slurm issue + poll, per job`,
          value: oursPerJob,
          unit: 's',
        },
        {
          name: `${n} jobs: our overhead over Slurm's floor`,
          value: (100 * (oursPerJob - floorPerJob)) / floorPerJob,
          unit: '%',
          target: 20,
        },
        {
          name: `${n} jobs: sbatch per job (floor / ours)`,
          value: bare.submitted / n,
          unit: 's',
          note: `ours ${(mine.submitted / n).toFixed(4)} s`,
        },
        {
          name: `${n} jobs: one job array, per job`,
          value: arrayed / n,
          unit: 's',
          note: 'for comparison',
        },
      );
    }
    const wf = await workflowFanout(100);
    log(`workflow fan-out 100: ${wf.toFixed(1)} s`);
    rows.push({
      name: '100-job workflow fan-out (toil run --batchSystem slurm), per job',
      value: wf / 101,
      unit: 's',
      note: 'a Node worker per job',
    });
  } finally {
    spawnSync('bash', [SCRIPT, 'release', String(process.pid)], { stdio: 'ignore' });
  }
  return rows;
}
