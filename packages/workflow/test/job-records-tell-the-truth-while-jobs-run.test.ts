import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord } from '@toil/jobstore';
import {
  FIXTURE,
  alive,
  lines,
  runWorkflow,
  scratch,
  snapshot,
  startWorkflow,
  waitFor,
  withStore,
} from './helpers.js';

/** The store's records once both gates run and the quick child's record is gone. */
async function gatesRunning(locator: string): Promise<JobRecord[]> {
  return waitFor('both gates to be recorded as running, and the quick child as finished', () =>
    snapshot(locator).then(
      ({ jobs }) => {
        const gates = jobs.filter((j) => j.displayName.startsWith('gate-'));
        const running = gates.filter((j) => j.state === 'running' && j.batchId);
        const quickGone = !jobs.some((j) => j.displayName === 'quick');
        const root = jobs.find((j) => j.jobName === 'gates');
        // The root lists only its unfinished children: gate-a and spawnGate (gate-b runs under its id).
        return running.length === 2 && quickGone && root?.children.length === 2 ? jobs : undefined;
      },
      () => undefined,
    ),
  );
}

function gateEnv(dir: string): {
  TOIL_TEST_CASE: string;
  TOIL_TEST_OUT: string;
  TOIL_TEST_GATE: string;
} {
  return {
    TOIL_TEST_CASE: 'gates',
    TOIL_TEST_OUT: join(dir, 'out'),
    TOIL_TEST_GATE: join(dir, 'gate'),
  };
}

describe('job records while jobs run', () => {
  it('say running with the batch id, list only unfinished successors, and agree with the summary; a restart ignores stale single-machine ids', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = gateEnv(dir);
    const run = startWorkflow(
      FIXTURE,
      [locator, '--maxCores', '3', '--maxLocalJobs', '3', '--clean', 'never'],
      env,
    );
    const jobs = await gatesRunning(locator);
    const gates = jobs.filter((j) => j.displayName.startsWith('gate-'));
    // gate-a was issued by the leader; gate-b was chained in spawnGate's worker: it runs under
    // spawnGate's record (Toil's replace), in the same attempt.
    expect(gates.map((j) => j.displayName).sort()).toEqual(['gate-a', 'gate-b']);
    expect(new Set(gates.map((j) => j.batchId)).size).toBe(2);
    expect(jobs.find((j) => j.jobName === 'spawnGate')).toBeUndefined();
    const root = jobs.find((j) => j.jobName === 'gates')!;
    const gateB = gates.find((j) => j.displayName === 'gate-b')!;
    expect(root.children).toContain(gateB.id);
    expect(gateB.predecessors).toEqual([root.id]);
    // What a walk of the store counts matches the leader's summary.
    const walked = jobs.filter((j) => j.children.length + j.followOns.length > 0).length;
    await waitFor('the summary to agree with the store', () =>
      withStore(locator, async (store) => {
        const summary = await store.readSummary();
        return summary?.withChildren === walked && summary.unfinished === jobs.length;
      }).catch(() => false),
    );

    // The leader dies; its records still say which attempts were running.
    run.child.kill('SIGKILL');
    await run.done;
    writeFileSync(env.TOIL_TEST_GATE, 'open');
    const restarted = await runWorkflow(FIXTURE, [locator, '--restart', '--clean', 'never'], env);
    expect(restarted.stderr).toContain('Finished toil run successfully.');
    expect(restarted.stderr).not.toContain('Killing');
    expect(restarted.code).toBe(0);
    const out = lines(env.TOIL_TEST_OUT);
    expect(out.filter((l) => l === 'quick')).toHaveLength(1);
    expect(out.filter((l) => l === 'gate-a passed')).toHaveLength(1);
    expect(out.filter((l) => l === 'gate-b passed')).toHaveLength(1);
    expect((await snapshot(locator)).jobs).toEqual([]);
  });

  it('on --restart, kills the attempts a SIGKILLed leader left running in the batch system before running them again', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = gateEnv(dir);
    const run = startWorkflow(FIXTURE, [locator, '--batchSystem', 'oneshot'], env);
    const jobs = await gatesRunning(locator);
    const stale = jobs.filter((j) => j.state === 'running').map((j) => j.batchId!);
    const pids = stale.map((id) => Number(id.replace('oneshot-', '')));
    run.child.kill('SIGKILL');
    await run.done;
    // Like Slurm jobs, one-shot attempts outlive the leader.
    for (const pid of pids) expect(alive(pid)).toBe(true);

    const restarted = startWorkflow(FIXTURE, [locator, '--restart'], env);
    let stderr = '';
    restarted.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      for (const pid of pids) await waitFor(`stale attempt ${pid} to be killed`, () => !alive(pid));
      await waitFor('both gates to start again', () => {
        const out = lines(env.TOIL_TEST_OUT);
        const since = out.slice(out.findIndex((l) => l.startsWith('killStale ')));
        return since.includes('gate-a started') && since.includes('gate-b started');
      });
    } catch (error) {
      // Let the leader go on to the end (it kills its attempts), then fail.
      writeFileSync(env.TOIL_TEST_GATE, 'open');
      await restarted.done;
      throw new Error(`${String(error)}; the restarted leader said:\n${stderr}`, {
        cause: error,
      });
    }
    writeFileSync(env.TOIL_TEST_GATE, 'open');
    const result = await restarted.done;
    expect(result.stderr).toContain(`Killing 2 job(s) the previous leader may have left running`);
    expect(result.code).toBe(0);
    const out = lines(env.TOIL_TEST_OUT);
    expect(
      out
        .find((l) => l.startsWith('killStale '))
        ?.split(' ')
        .slice(1)
        .sort(),
    ).toEqual([...stale].sort());
    // Each gate passed once: the stale attempts did not run on next to the new ones.
    expect(out.filter((l) => l === 'gate-a passed')).toHaveLength(1);
    expect(out.filter((l) => l === 'gate-b passed')).toHaveLength(1);
    expect(out.filter((l) => l === 'quick')).toHaveLength(1);
  });
});
