import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURE,
  lines,
  runWorkflow,
  scratch,
  snapshot,
  startWorkflow,
  waitFor,
  withStore,
} from './helpers.js';

/** Environment of the `checkpoint` test workflow in `dir`: its leaf fails `fails` times. */
function checkpointCase(dir: string, fails: number, extra: Record<string, string> = {}) {
  return {
    TOIL_TEST_CASE: 'checkpoint',
    TOIL_TEST_OUT: join(dir, 'out'),
    TOIL_TEST_MARKER: join(dir, 'attempts'),
    TOIL_TEST_FAILS: String(fails),
    ...extra,
  };
}

function count(out: string[], line: string): number {
  return out.filter((l) => l === line).length;
}

/** The id of the checkpoint's input file: the root job returns it. */
function inputFileOf(stdout: string): string | undefined {
  const match = /ROOT RETURNED "(.+)"/.exec(stdout);
  return match?.[1];
}

describe('checkpoint jobs', () => {
  it('run again, with a fresh subtree, when a job below them fails for good', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    // --retryCount 1: the leaf fails both tries of the first subtree, then works.
    const result = await runWorkflow(
      FIXTURE,
      [locator, '--retryCount', '1', '--clean', 'never'],
      checkpointCase(dir, 2),
    );
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /checkpoint job 'checkpoint' \S+ will discard its subtree and run again \(remaining try count 1\)/,
    );
    // middle and flaky are one record: flaky, middle's only child, ran chained under it.
    expect(result.stderr).toMatch(
      /Restarting checkpoint job 'checkpoint' \S+ after the failure of 'flaky': discarded 1 job\(s\) of its subtree/,
    );
    const out = lines(join(dir, 'out'));
    expect(count(out, 'checkpoint ran, input payload')).toBe(2);
    expect(count(out, 'middle ran')).toBe(2);
    expect(count(out, 'inside checkpoint')).toBe(2);
    expect(out.filter((l) => l.startsWith('flaky attempt'))).toEqual([
      'flaky attempt 1',
      'flaky attempt 2',
      'flaky attempt 3',
    ]);
    // Jobs outside the checkpoint's subtree ran once; its rv() reached the follow-on.
    expect(count(out, 'outside')).toBe(1);
    expect(out.filter((l) => l.startsWith('result='))).toEqual(['result="checkpoint value"']);
    // Nothing of the discarded subtree is left, and the file the checkpoint deleted is gone
    // only now that its subtree completed.
    const input = inputFileOf(result.stdout);
    expect(input).toBeDefined();
    const { jobs } = await snapshot(locator);
    expect(jobs).toEqual([]);
    await withStore(locator, async (store) => {
      expect(await store.fileExists(input!)).toBe(false);
    });
  });

  it('fail after their last try; a --restart runs them again from their input', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = checkpointCase(dir, 4);
    const failed = await runWorkflow(FIXTURE, [locator, '--retryCount', '1'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /Job 'flaky' \S+ failed for good and checkpoint job 'checkpoint' \S+ has no tries left: it fails too\./,
    );
    const summary = failed.stderr.split('\n').find((l) => l.startsWith('toil: error:')) ?? '';
    expect(summary).toMatch(
      /contains 3 failed jobs: 'flaky' \S+ \(Error: flaky attempt 4 fails\), 'checkpoint' \S+ \(job 'flaky' in its subtree failed and it has no tries left\)/,
    );
    expect(summary).toContain("'checkpointRoot'");
    let out = lines(join(dir, 'out'));
    // Two runs in all (--retryCount 1): the first, and one restart.
    expect(count(out, 'checkpoint ran, input payload')).toBe(2);
    expect(out.filter((l) => l.startsWith('flaky attempt'))).toHaveLength(4);
    expect(out.filter((l) => l.startsWith('result='))).toEqual([]);
    const { jobs } = await snapshot(locator);
    const checkpoint = jobs.find((j) => j.displayName === 'checkpoint');
    expect(checkpoint).toMatchObject({ state: 'failed', remainingTryCount: 0 });

    // The deletion of its input was held back: a restart can run it again.
    const restarted = await runWorkflow(FIXTURE, [locator, '--restart', '--clean', 'never'], env);
    expect(restarted.stderr).toMatch(
      /Restarting checkpoint job 'checkpoint' \S+: its subtree did not complete/,
    );
    expect(restarted.stderr).toContain('Finished toil run successfully.');
    expect(restarted.code).toBe(0);
    out = lines(join(dir, 'out'));
    expect(count(out, 'checkpoint ran, input payload')).toBe(3);
    expect(out.filter((l) => l.startsWith('flaky attempt')).at(-1)).toBe('flaky attempt 5');
    expect(count(out, 'outside')).toBe(1);
    expect(out.filter((l) => l.startsWith('result='))).toEqual(['result="checkpoint value"']);
    expect((await snapshot(locator)).jobs).toEqual([]);
  });

  it('wait for the running jobs of their subtree before they run again', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const result = await runWorkflow(
      FIXTURE,
      [locator, '--retryCount', '1'],
      checkpointCase(dir, 2, { TOIL_TEST_WAIT: '1', TOIL_TEST_STORE: locator }),
    );
    expect(result.code).toBe(0);
    const out = lines(join(dir, 'out'));
    // The first subtree's waiter, running until the leader recorded its leaf's failure for
    // good (whatever the load), ran to its end before the checkpoint's second run.
    const runs = out.flatMap((l, i) => (l === 'checkpoint ran, input payload' ? [i] : []));
    expect(runs).toHaveLength(2);
    expect(out.indexOf('waiter done')).toBeGreaterThan(out.indexOf('flaky attempt 2'));
    expect(out.indexOf('waiter done')).toBeLessThan(runs[1]!);
    expect(count(out, 'waiter done')).toBe(2);
    expect(result.stderr).toMatch(/discarded 2 job\(s\) of its subtree/);
  });

  it('restart the same way on a batch system that reports no results (the one-shot command, as on Slurm)', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const result = await runWorkflow(
      FIXTURE,
      [locator, '--retryCount', '1', '--batchSystem', 'oneshot', '--clean', 'never'],
      checkpointCase(dir, 2, { TOIL_TEST_WAIT: '1', TOIL_TEST_STORE: locator }),
    );
    expect(result.stderr).toContain('with the oneshot batch system');
    expect(result.code).toBe(0);
    const out = lines(join(dir, 'out')).filter((l) => !l.startsWith('argv '));
    const runs = out.flatMap((l, i) => (l === 'checkpoint ran, input payload' ? [i] : []));
    expect(runs).toHaveLength(2);
    expect(out.indexOf('waiter done')).toBeLessThan(runs[1]!);
    expect(out.filter((l) => l.startsWith('flaky attempt'))).toHaveLength(3);
    expect(out.filter((l) => l.startsWith('result='))).toEqual(['result="checkpoint value"']);
    expect((await snapshot(locator)).jobs).toEqual([]);
    // Every attempt is a fresh one-shot worker process (about 1 s of start-up each on 2 cores).
  }, 180_000);

  it('nest: only the innermost checkpoint with tries left runs again', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const result = await runWorkflow(
      FIXTURE,
      [locator, '--retryCount', '1'],
      checkpointCase(dir, 2, { TOIL_TEST_DEPTH: '1' }),
    );
    expect(result.code).toBe(0);
    const out = lines(join(dir, 'out'));
    expect(count(out, 'checkpoint ran, input payload')).toBe(1);
    expect(count(out, 'inner ran')).toBe(2);
    expect(count(out, 'inside checkpoint')).toBe(1);
    expect(count(out, 'inside inner')).toBe(2);
    expect(out.filter((l) => l.startsWith('result='))).toEqual(['result="checkpoint value"']);
    // --clean onSuccess (the default) removed the store.
    expect(existsSync(join(dir, 'store'))).toBe(false);
  });

  it('run again after the leader is SIGKILLed while their subtree runs', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const gate = join(dir, 'gate');
    const env = checkpointCase(dir, 0, { TOIL_TEST_GATE: gate });
    const run = startWorkflow(FIXTURE, [locator], env);
    await waitFor('the gate below the checkpoint to start', () =>
      lines(join(dir, 'out')).includes('gate started'),
    );
    run.child.kill('SIGKILL');
    await run.done;
    const before = await snapshot(locator);
    expect(before.jobs.map((j) => j.displayName)).toEqual(
      // The gate runs chained under middle's record.
      expect.arrayContaining(['checkpoint', 'gate']),
    );

    writeFileSync(gate, 'open');
    const restarted = await runWorkflow(FIXTURE, [locator, '--restart', '--clean', 'never'], env);
    expect(restarted.stderr).toMatch(/Restarting checkpoint job 'checkpoint'/);
    expect(restarted.code).toBe(0);
    const out = lines(join(dir, 'out'));
    expect(count(out, 'checkpoint ran, input payload')).toBe(2);
    expect(count(out, 'middle ran')).toBe(2);
    expect(count(out, 'gate passed')).toBe(1);
    expect(count(out, 'outside')).toBe(1);
    expect(out.filter((l) => l.startsWith('result='))).toEqual(['result="checkpoint value"']);
    // The first subtree's records are gone: nothing is left over after success.
    expect((await snapshot(locator)).jobs).toEqual([]);
  });

  it('must add their successors in run(): one added before is refused at start()', async () => {
    const dir = join(scratch(), 'store');
    const result = await runWorkflow(FIXTURE, [`file:${dir}`], {
      TOIL_TEST_CASE: 'checkpointWithSuccessors',
    });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('toil: error:'))).toEqual([
      "toil: error: Job 'static' (Checkpointed) is a checkpoint but already has successors; a checkpoint's successors must be added inside its run().",
    ]);
    expect(existsSync(dir)).toBe(false);
  });
});
