import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BIN, runToil } from '../../../tooling/test-env/cli.js';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  slurmCommand,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';

const FIXTURE = join(__dirname, 'fixtures', 'slurm-workflow.mjs');

/** Options of every run here: two warm workers that end after 10 s without work. */
const WARM = ['--slurmWarmWorkers', '2', '--slurmWarmIdle', '10'];

function scratch(): { dir: string; store: string; out: string; args: string[] } {
  const dir = mkdtempSync(join(SLURM_OUTPUT_DIR, 'warm-'));
  return {
    dir,
    store: `file:${join(dir, 'store')}`,
    out: join(dir, 'notes.txt'),
    args: ['--batchSystem', 'slurm', '--defaultMemory', '256M', '--workDir', dir, ...WARM],
  };
}

function notes(out: string): string[] {
  return existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
}

/** This run's Slurm jobs in the queue whose name ends with `_<jobName>`. */
function queued(dir: string, jobName: string): Array<{ id: string; state: string }> {
  // Every Slurm job of a run writes its output under the run's work directory.
  return slurmCommand(['squeue', '-h', '-O', 'JobID:|,State:|,Name:|,STDOUT:'])
    .split('\n')
    .map((line) => line.split('|'))
    .filter((f) => f.length === 4 && f[2]!.endsWith(`_${jobName}`) && f[3]!.startsWith(dir))
    .map(([id, state]) => ({ id: id!, state: state! }));
}

/** How many attempts the run's warm workers have claimed and not finished. */
function claimed(dir: string): number {
  const logs = join(dir, 'slurm-logs');
  const list = (path: string): string[] => (existsSync(path) ? readdirSync(path) : []);
  let count = 0;
  for (const root of list(logs).filter((name) => name.startsWith('warm-')))
    for (const warmClass of list(join(logs, root)))
      count += list(join(logs, root, warmClass, 'running')).length;
  return count;
}

async function waitUntil(what: string, condition: () => boolean, limitMs = 90_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startLeader(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, output })),
  );
  return { child, exited };
}

describeWithSlurm('warm workers on Slurm (--slurmWarmWorkers)', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('run a 20-job fan-out in at most two Slurm jobs, every job in toil stats, and leave none in the queue', async () => {
    const { dir, store, out, args } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--stats', ...args], {
      env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '20', TOIL_TEST_OUT: out },
    });
    expect(run.code).toBe(0);
    expect(new Set(notes(out)).size).toBe(20);
    const raw = JSON.parse((await runToil(['stats', store, '--raw'])).stdout) as {
      jobs: { count: number };
    };
    expect(raw.jobs.count).toBe(21);
    // The warm workers' Slurm output files (kept: shutdown cancels them); one-shot jobs would
    // have left none (their files go when they succeed), so these are all the Slurm jobs.
    const workers = readdirSync(join(dir, 'slurm-logs')).filter((f) => /_warm_\d+\.out$/.test(f));
    expect(workers.length).toBeGreaterThanOrEqual(1);
    expect(workers.length).toBeLessThanOrEqual(2);
    expect(queued(dir, 'warm')).toEqual([]);
  }, 180_000);

  it('toil kill stops the leader, which cancels its warm workers and the jobs they run', async () => {
    const { dir, store, out, args } = scratch();
    const env = {
      TOIL_TEST_CASE: 'sleepers',
      TOIL_TEST_COUNT: '3',
      TOIL_TEST_SECONDS: '600',
      TOIL_TEST_OUT: out,
    };
    const leader = startLeader(['run', FIXTURE, store, ...args], env);
    let kill;
    try {
      await waitUntil('a warm worker runs a sleeper', () => claimed(dir) > 0);
    } finally {
      // Also when the wait failed: the leader must not outlive the test.
      kill = await runToil(['kill', store]);
      await leader.exited;
    }
    expect(kill.code).toBe(0);
    expect(queued(dir, 'warm')).toEqual([]);
    expect(notes(out)).toEqual([]);
  }, 180_000);

  it('after a SIGKILLed leader, --restart cancels its warm workers, completes, and leaves no worker in the queue', async () => {
    const { dir, store, out, args } = scratch();
    const env = {
      TOIL_TEST_CASE: 'sleepers',
      TOIL_TEST_COUNT: '3',
      TOIL_TEST_SECONDS: '10',
      TOIL_TEST_OUT: out,
    };
    const first = startLeader(['run', FIXTURE, store, ...args], env);
    try {
      await waitUntil('a warm worker runs a sleeper', () => claimed(dir) > 0);
    } catch (error) {
      await runToil(['kill', store]);
      throw error;
    }
    const stale = queued(dir, 'warm').map((j) => j.id);
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await first.exited).code).not.toBe(0);
    // Its warm workers outlive it (they would end by themselves once its heartbeat is old).
    expect(queued(dir, 'warm').map((j) => j.id)).toEqual(expect.arrayContaining(stale));
    const restart = await runToil(['run', FIXTURE, store, '--restart', ...args], {
      env: { ...process.env, ...env },
    });
    expect(restart.stderr).toContain('attempt 1');
    expect(restart.code).toBe(0);
    expect(new Set(notes(out))).toEqual(new Set(['sleeper 0', 'sleeper 1', 'sleeper 2']));
    expect(queued(dir, 'warm')).toEqual([]);
  }, 240_000);
});
