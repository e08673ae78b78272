import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openJobStore } from '@toil/jobstore';
import { CLI_BIN, REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import {
  acquireSlurm,
  describeWithSlurm,
  releaseSlurm,
  slurmCommand,
  SLURM_OUTPUT_DIR,
} from '../../../tooling/test-env/slurm.js';

const FIXTURE = join(__dirname, 'fixtures', 'slurm-workflow.mjs');
const EXAMPLE = join(REPO_ROOT, 'examples', 'discoverfiles.ts');

const SLURM = ['--batchSystem', 'slurm', '--defaultMemory', '256M'];

function scratch(): { dir: string; store: string; out: string; slurm: string[] } {
  const dir = mkdtempSync(join(SLURM_OUTPUT_DIR, 'e2e-'));
  return {
    dir,
    store: `file:${join(dir, 'store')}`,
    out: join(dir, 'notes.txt'),
    // Workers' temporary directories and the Slurm output files stay in the test's directory.
    slurm: [...SLURM, '--workDir', dir],
  };
}

function notes(out: string): string[] {
  return existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
}

/**
 * Slurm jobs in the queue whose name ends with `_<jobName>` (one of this file's workflows),
 * only those of the workflow `workflowId` when given (other runs may share the cluster).
 */
function queued(jobName: string, workflowId?: string): Array<{ id: string; state: string }> {
  const prefix = workflowId === undefined ? 'toil_' : `toil_${workflowId.slice(0, 16)}_`;
  return slurmCommand(['squeue', '-h', '-o', '%A|%T|%j'])
    .split('\n')
    .map((line) => line.split('|'))
    .filter((f) => f.length === 3 && f[2]!.startsWith(prefix) && f[2]!.endsWith(`_${jobName}`))
    .map(([id, state]) => ({ id: id!, state: state! }));
}

/** The id of the workflow in an existing store. */
async function workflowIdOf(locator: string): Promise<string> {
  const store = await openJobStore(locator);
  try {
    return (await store.resume()).workflowId;
  } finally {
    await store.close();
  }
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
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })));
  return { child, exited };
}

/** Starts a leader (in the background) that runs `count` sleepers of `seconds` each on Slurm. */
function startSleepers(count: number, seconds: number) {
  const { store, out, slurm } = scratch();
  const env = {
    TOIL_TEST_CASE: 'sleepers',
    TOIL_TEST_COUNT: String(count),
    TOIL_TEST_SECONDS: String(seconds),
    TOIL_TEST_OUT: out,
  };
  return { store, out, slurm, env, leader: startLeader(['run', FIXTURE, store, ...slurm], env) };
}

describeWithSlurm('workflows on Slurm, end to end through the CLI', () => {
  beforeAll(() => acquireSlurm(), 120_000);
  afterAll(() => releaseSlurm(), 120_000);

  it('runs the seed example with --stats, and toil stats shows its jobs on the slurm batch system', async () => {
    const { store, slurm } = scratch();
    const run = await runToil(['run', EXAMPLE, store, '--stats', ...slurm]);
    expect(run.stderr).toContain('with the slurm batch system');
    expect(run.code).toBe(0);
    const stats = await runToil(['stats', store]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain('Batch System: slurm');
    for (const name of ['sysFiles', 'userFiles', 'DiscoverFiles'])
      expect(stats.stdout).toContain(name);
  });

  it('runs a 100-job fan-out with --stats, and toil stats counts every job', async () => {
    const { store, out, slurm } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--stats', ...slurm], {
      env: { ...process.env, TOIL_TEST_CASE: 'fanout', TOIL_TEST_COUNT: '100', TOIL_TEST_OUT: out },
    });
    expect(run.code).toBe(0);
    expect(new Set(notes(out)).size).toBe(100);
    const raw = JSON.parse((await runToil(['stats', store, '--raw'])).stdout) as {
      batchSystem: string;
      jobs: { count: number };
      jobTypes: Array<{ name: string; count: number }>;
    };
    expect(raw.batchSystem).toBe('slurm');
    expect(raw.jobs.count).toBe(101);
    expect(raw.jobTypes.find((t) => t.name === 'leaf')?.count).toBe(100);
    expect(queued('leaf', await workflowIdOf(store))).toEqual([]);
  }, 300_000);

  it('retries a failing job, then reports it totally failed with its log', async () => {
    const { store, out, slurm } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--retryCount', '1', ...slurm], {
      env: { ...process.env, TOIL_TEST_CASE: 'fail', TOIL_TEST_OUT: out },
    });
    expect(run.code).not.toBe(0);
    expect(notes(out)).toEqual(['alwaysFails attempt', 'alwaysFails attempt']);
    expect(run.stderr).toMatch(/alwaysFails/);
    expect(run.stderr).toContain('this job always fails on Slurm');
    const status = await runToil(['status', store, '--printLogs']);
    expect(status.stdout).toMatch(/alwaysFails/);
    expect(status.stdout).toContain('this job always fails on Slurm');
  });

  it("records Slurm's reason as the failure of a job killed for memory", async () => {
    const { store, out, slurm } = scratch();
    const run = await runToil(['run', FIXTURE, store, '--retryCount', '0', ...slurm], {
      env: { ...process.env, TOIL_TEST_CASE: 'hog', TOIL_TEST_OUT: out },
    });
    expect(run.code).not.toBe(0);
    expect(notes(out)).toEqual(['hog attempt']);
    expect(run.stderr).toMatch(/'hog' .*OUT_OF_MEMORY: Slurm job \d+ ran out of memory/);
    // The leader records the reason as the job's last failure.
    const status = await runToil(['status', store, '--failed']);
    expect(status.stdout).toMatch(
      /'hog' .*totally failed.*LAST_FAILURE:OUT_OF_MEMORY: Slurm job \d+ ran out of memory/,
    );
  });

  it('completes with --restart after its leader was SIGKILLed mid-run', async () => {
    const { store, out, slurm, env, leader } = startSleepers(4, 3);
    await waitUntil('sleepers run on Slurm', () =>
      queued('sleeper').some((j) => j.state === 'RUNNING'),
    );
    // `toil run` runs the workflow as a child process: --force SIGKILLs that leader itself.
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await leader.exited).code).not.toBe(0);
    const restart = await runToil(['run', FIXTURE, store, '--restart', ...slurm], {
      env: { ...process.env, ...env },
    });
    expect(restart.stderr).toContain('attempt 1');
    expect(restart.code).toBe(0);
    expect(new Set(notes(out).filter((n) => n.startsWith('sleeper')))).toEqual(
      new Set(['sleeper 0', 'sleeper 1', 'sleeper 2', 'sleeper 3']),
    );
    await waitUntil("the killed leader's jobs have ended", () => queued('sleeper').length === 0);
  }, 180_000);

  it('--restart cancels the Slurm jobs its SIGKILLed predecessor left running, then runs them anew', async () => {
    const { store, out, slurm, env, leader: first } = startSleepers(2, 600);
    await waitUntil('both sleepers are in the queue', () => queued('sleeper').length === 2);
    const stale = queued('sleeper').map((j) => j.id);
    const kill = await runToil(['kill', '--force', store]);
    expect(kill.stdout).toMatch(/SIGKILL/);
    expect((await first.exited).code).not.toBe(0);
    // A SIGKILLed leader cancels nothing: its jobs stay until the next leader deals with them.
    expect(queued('sleeper').map((j) => j.id)).toEqual(expect.arrayContaining(stale));
    const restarted = startLeader(['run', FIXTURE, store, '--restart', ...slurm], env);
    let stop;
    try {
      await waitUntil('the stale jobs are gone and the restarted leader runs its own', () => {
        const ids = queued('sleeper').map((j) => j.id);
        return ids.length === 2 && ids.every((id) => !stale.includes(id));
      });
    } finally {
      // Also when the wait failed: the restarted leader must not outlive the test.
      stop = await runToil(['kill', store]);
      await restarted.exited;
    }
    expect(stop.code).toBe(0);
    expect(queued('sleeper')).toEqual([]);
    expect(notes(out)).toEqual([]);
  }, 180_000);

  it('toil kill stops the leader, which cancels every Slurm job it submitted', async () => {
    const { store, out, leader } = startSleepers(4, 600);
    await waitUntil('all four sleepers are in the queue', () => queued('sleeper').length === 4);
    const submitted = queued('sleeper').map((j) => j.id);
    const kill = await runToil(['kill', store]);
    expect(kill.code).toBe(0);
    for (const id of submitted) expect(kill.stdout).toContain(id);
    await leader.exited;
    expect(queued('sleeper')).toEqual([]);
    expect(notes(out)).toEqual([]);
  });
});
