import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '@toil/stats';
import { CLI_BIN, REPO_ROOT, runToil } from '../../../tooling/test-env/cli.js';
import { exited, useScratchDir } from '../../stats/test/stores.js';

const SEED = join(REPO_ROOT, 'examples', 'discoverfiles.ts');
const FAILING = join(__dirname, 'workflows', 'failing.ts');
const SLEEPERS = join(__dirname, 'workflows', 'sleepers.ts');

/** Polls `check` every 200 ms until it returns a value, failing after `seconds`. */
async function waitFor<T>(
  what: string,
  seconds: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the utilities on stores made by real workflow runs', () => {
  const scratch = useScratchDir();

  it('reproduces the seed page: stats rows sysFiles, userFiles and DiscoverFiles with count 1, then status and clean', async () => {
    const store = `file:${scratch('my-jobstore')}`;
    const run = await runToil(['run', SEED, store, '--stats']);
    expect(run.code).toBe(0);

    const stats = await runToil(['stats', store]);
    expect(stats.code).toBe(0);
    const lines = stats.stdout.split('\n');
    expect(lines[0]).toBe('Batch System: single_machine');
    expect(lines[2]).toBe('Max Cores: unlimited');
    expect(lines).toContain(' Worker Jobs  |     min    med    ave    max');
    for (const name of ['sysFiles', 'userFiles', 'DiscoverFiles']) {
      const at = lines.indexOf(` ${name}`);
      expect(at).toBeGreaterThan(0);
      expect(lines[at + 4]).toMatch(/^ +1 \| /);
    }
    const raw = JSON.parse((await runToil(['stats', store, '--raw'])).stdout) as {
      jobs: { count: number };
      jobTypes: Array<{ name: string; count: number }>;
      attempts: unknown[];
    };
    expect(raw.jobs.count).toBe(3);
    expect(Object.fromEntries(raw.jobTypes.map((t) => [t.name, t.count]))).toEqual({
      sysFiles: 1,
      userFiles: 1,
      DiscoverFiles: 1,
    });
    expect(raw.attempts).toHaveLength(1);

    const status = await runToil(['status', store, '--failIfNotComplete']);
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(
      'The root job of the job store is absent, the workflow completed successfully.\n',
    );

    const clean = await runToil(['clean', store]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(`Deleted the job store ${store} and everything in it`);
    expect(existsSync(scratch('my-jobstore'))).toBe(false);
    expect((await runToil(['clean', store])).stdout).toContain('Nothing to delete');
  });

  it('tells a failed run apart, with its logs, and counts its failed attempt in stats', async () => {
    const store = `file:${scratch('failed')}`;
    const run = await runToil(['run', FAILING, store, '--stats', '--retryCount', '0']);
    expect(run.code).not.toBe(0);

    const status = await runToil(['status', store, '--failIfNotComplete']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(
      /There are \d+ unfinished jobs, .* and 2 totally failed jobs currently in /,
    );
    expect(status.stdout).toContain('The workflow failed (attempt 0');

    const logs = await runToil(['status', store, '--failed', '--printLogs']);
    expect(logs.stdout).toContain('boom is about to raise');
    expect(logs.stdout).toContain('deliberate failure from the boom job');
    expect(logs.stdout).toMatch(/^Log from job "'Boom' \S+ v\d+" follows:$/m);

    const stats = await runToil(['stats', store]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^ Boom\n {4}Total Cores: 1 {2}Failed attempts: 1$/m);
    expect(stats.stdout).toContain('\n sysFiles\n');
  });

  it('kills a running workflow and its workers, which --restart then finishes', async () => {
    const path = scratch('sleepers');
    const store = `file:${path}`;
    const leader = spawn(process.execPath, [CLI_BIN, 'run', SLEEPERS, store, '--stats'], {
      stdio: 'ignore',
      env: { ...process.env, NO_COLOR: '1', SLEEP_SECONDS: '60', SLEEPERS: '4' },
    });
    try {
      // Running once at least two sleepers run and the leader has recorded its worker processes.
      const running = await waitFor('two running sleepers', 60, async () => {
        if (!existsSync(path)) return undefined;
        const result = await runToil(['status', store, '--json']);
        if (result.code !== 0) return undefined;
        const json = JSON.parse(result.stdout) as Record<string, any>;
        return json.state === 'running' &&
          json.counts?.running >= 2 &&
          json.leader?.workerPids?.length >= 1
          ? json
          : undefined;
      });
      const workerPids = running.leader.workerPids as number[];
      expect(running.message).toContain(`its leader is process ${running.leader.pid} on `);

      const stats = await runToil(['stats', store]);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toContain('has not recorded its leader totals yet');
      expect((await runToil(['clean', store])).code).toBe(1);

      const kill = await runToil(['kill', store]);
      expect(kill.code).toBe(0);
      expect(kill.stdout).toContain(
        `Stopped the workflow in ${store}: the leader (process ${running.leader.pid}, SIGTERM)`,
      );
      expect(kill.stdout).toMatch(/The leader killed \d+ batch jobs: \S+(, \S+)+\./);
      expect(isRunning(running.leader.pid)).toBe(false);
      for (const pid of workerPids) expect(isRunning(pid)).toBe(false);
      await exited(leader);
      expect(leader.exitCode).not.toBe(0);

      const status = await runToil(['status', store]);
      expect(status.stdout).toContain('The workflow was killed (attempt 0');
      expect((await runToil(['kill', store])).stdout).toContain('already ended (killed, attempt 0');
    } finally {
      leader.kill('SIGKILL');
      await exited(leader);
    }

    const restart = await runToil(['run', SLEEPERS, store, '--stats', '--restart'], {
      env: { ...process.env, SLEEP_SECONDS: '0.1' },
    });
    expect(restart.code).toBe(0);
    const status = await runToil(['status', store, '--failIfNotComplete']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('the workflow completed successfully');
    const stats = await runToil(['stats', store]);
    expect(stats.stdout).toMatch(/^ {4}Attempt 0: Clock [\d.]+ {2}Runtime [\d.]+$/m);
    expect(stats.stdout).toMatch(/^ {4}Attempt 1: Clock [\d.]+ {2}Runtime [\d.]+$/m);
    expect(stats.stdout).toMatch(/^ Sleeper\n/m);
    // Toil's kill test ends with `toil clean`, which must work on the killed-then-restarted store.
    expect((await runToil(['clean', store])).code).toBe(0);
    expect(existsSync(path)).toBe(false);
  }, 180_000);
});
