import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIXTURE,
  lines,
  runWorkflow,
  scratch,
  snapshot,
  startWorkflow,
  waitFor,
} from './helpers.js';

describe('a job with several predecessors (a diamond)', () => {
  it('runs once, after all of them, with their return values', async () => {
    const dir = scratch();
    const out = join(dir, 'out');
    const result = await runWorkflow(FIXTURE, [`file:${join(dir, 'store')}`], {
      TOIL_TEST_CASE: 'diamondAtRunTime',
      TOIL_TEST_OUT: out,
    });
    expect(result.stderr).toContain('Finished toil run successfully.');
    expect(result.code).toBe(0);
    const written = lines(out);
    expect(written.filter((l) => l === 'add 3 30')).toHaveLength(1);
    expect(written.indexOf('add 3 30')).toBeGreaterThan(written.indexOf('add 1 2'));
    expect(written.indexOf('add 3 30')).toBeGreaterThan(written.indexOf('add 10 20'));
    expect(written.filter((l) => l.startsWith('sum='))).toEqual(['sum=33']);
  });

  it('waits for the last predecessor across a SIGKILL and --restart without rerunning recorded jobs', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = {
      TOIL_TEST_CASE: 'diamond',
      TOIL_TEST_OUT: join(dir, 'out'),
      TOIL_TEST_GATE: join(dir, 'gate'),
    };
    const run = startWorkflow(FIXTURE, [locator, '--clean', 'never'], env);
    // b ran and its completion is recorded; d waits for gate-c, which is blocked.
    await waitFor('b to be recorded as done while gate-c runs', () =>
      snapshot(locator).then(
        ({ jobs }) =>
          jobs.some((j) => j.displayName === 'b' && j.state === 'completed') &&
          jobs.some((j) => j.displayName === 'gate-c' && j.state === 'running'),
        () => false,
      ),
    );
    const d = (await snapshot(locator)).jobs.find((j) => j.displayName === 'd')!;
    expect(d.predecessors).toHaveLength(2);
    expect(d.state).toBe('waiting');
    expect(lines(env.TOIL_TEST_OUT)).not.toContain('d');
    run.child.kill('SIGKILL');
    await run.done;

    writeFileSync(env.TOIL_TEST_GATE, 'open');
    const restarted = await runWorkflow(FIXTURE, [locator, '--restart', '--clean', 'never'], env);
    expect(restarted.stderr).toContain('Finished toil run successfully.');
    expect(restarted.code).toBe(0);
    const written = lines(env.TOIL_TEST_OUT);
    for (const name of ['a', 'b', 'd', 'after-d', 'gate-c passed']) {
      expect(written.filter((l) => l === name)).toHaveLength(1);
    }
    expect(written.indexOf('d')).toBeGreaterThan(written.indexOf('gate-c passed'));
    expect(written.indexOf('after-d')).toBeGreaterThan(written.indexOf('d'));
    expect((await snapshot(locator)).jobs).toEqual([]);
  });
});
