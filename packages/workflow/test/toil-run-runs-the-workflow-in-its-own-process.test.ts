import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BIN, REPO_ROOT, type CommandResult } from '../../../tooling/test-env/cli.js';
import { scratch, waitFor, withStore } from './helpers.js';

const SLEEPERS = join(REPO_ROOT, 'packages', 'cli', 'test', 'workflows', 'sleepers.ts');

/** `toil run ARGS` started in the background: its pid and how it ended. */
function startToilRun(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI_BIN, 'run', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CommandResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { pid: child.pid!, child, done };
}

/** Pids of the live processes whose command line mentions `text` (a run's work directory). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A scratch directory with an empty work directory for the run's workers. */
function workspace(): { dir: string; workDir: string } {
  const dir = scratch();
  const workDir = join(dir, 'work');
  mkdirSync(workDir);
  return { dir, workDir };
}

describe('toil run runs the workflow program in its own process', () => {
  it('is the leader itself and leaves no worker or work directory behind', async () => {
    const { dir, workDir } = workspace();
    const store = `file:${join(dir, 'store')}`;
    const run = startToilRun([SLEEPERS, store, '--stats', '--workDir', workDir], {
      SLEEPERS: '2',
      SLEEP_SECONDS: '0',
    });
    const result = await run.done;
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    await withStore(store, async (s) => {
      expect((await s.getLeader())?.pid).toBe(run.pid);
      expect(await s.getOutcome()).toMatchObject({ result: 'succeeded' });
    });
    expect(readdirSync(workDir)).toEqual([]);
    expect(processesMentioning(workDir)).toEqual([]);
  });

  it('takes logging options before or after the workflow and its store alike', async () => {
    const { dir, workDir } = workspace();
    for (const args of [
      [SLEEPERS, `file:${join(dir, 'after')}`, '--workDir', workDir, '--logDebug'],
      ['--logLevel=debug', SLEEPERS, `file:${join(dir, 'before')}`, '--workDir', workDir],
    ]) {
      const result = await startToilRun(args, { SLEEPERS: '0' }).done;
      expect({ args, code: result.code }).toEqual({ args, code: 0 });
      expect(result.stderr).toMatch(/\[D\] \[toil\.leader\] Issued job 'Root'/);
    }
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('stops the worker it started ahead when the workflow never starts, whichever way', async () => {
    const { dir, workDir } = workspace();
    // The job store is a regular file: the workflow refuses it after the worker started.
    const notAStore = join(dir, 'notes.txt');
    writeFileSync(notAStore, 'notes');
    const refused = await startToilRun([SLEEPERS, notAStore, '--workDir', workDir]).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`toil: error: ${notAStore} is not a job store`);
    expect(readFileSync(notAStore, 'utf8')).toBe('notes');
    // An option the workflow does not know: refused after the worker started.
    const store = `file:${join(dir, 'store')}`;
    const unknown = await startToilRun([SLEEPERS, store, '--workDir', workDir, '--noSuchOption'])
      .done;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^toil: error: .*noSuchOption/m);
    // A program that ends itself with process.exit(0) without starting a workflow.
    const exits = join(dir, 'exits.mjs');
    writeFileSync(exits, "process.stdout.write('loaded\\n');\nprocess.exit(0);\n");
    const ended = await startToilRun([exits, store, '--workDir', workDir]).done;
    expect(ended.stdout).toBe('loaded\n');
    expect(ended.stderr.split('\n')[0]).toBe(`toil: error: ${exits} did not start a workflow.`);
    expect(ended.code).toBe(1);
    expect(readdirSync(workDir)).toEqual([]);
    expect(processesMentioning(workDir)).toEqual([]);
  });

  it('stops the run on SIGINT with status 130, killing its workers and keeping the store', async () => {
    const { dir, workDir } = workspace();
    const store = `file:${join(dir, 'store')}`;
    const run = startToilRun([SLEEPERS, store, '--workDir', workDir], {
      SLEEPERS: '2',
      SLEEP_SECONDS: '60',
    });
    try {
      await waitFor(
        'two sleepers running',
        async () => {
          try {
            return await withStore(store, async (s) => {
              const summary = await s.readSummary();
              return (summary?.running ?? 0) >= 2;
            });
          } catch {
            return false;
          }
        },
        60000,
      );
      expect(processesMentioning(workDir).length).toBeGreaterThanOrEqual(2);
      process.kill(run.pid, 'SIGINT');
      const result = await run.done;
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(/toil: error: The workflow was stopped \(received SIGINT\)/);
      await withStore(store, async (s) => {
        expect(await s.getOutcome()).toMatchObject({ result: 'killed' });
      });
      expect(processesMentioning(workDir)).toEqual([]);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});
