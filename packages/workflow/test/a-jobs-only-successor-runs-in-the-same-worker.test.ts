import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { Job, type FunctionJob } from '../src/job.js';
import type { JobBody } from '../src/serialize.js';
import { FIXTURE, lines, runWorkflow, scratch, snapshot, startWorkflow } from './helpers.js';
import {
  LeaderDies,
  inProcessWorkflow,
  type InProcessWorkflow,
} from './leader/fake-batch-system.js';

/** What ran, in order. */
const order: string[] = [];
const failOnce = new Set<number>();
const dieOnce = new Set<number>();

/** Set by a test: whether each link's own record was durable when the link started. */
let recordDurableAtStart: ((k: number) => boolean) | undefined;
const durableAtStart: boolean[] = [];

function link(job: FunctionJob, k: number, n: number): number {
  order.push(`link ${k}`);
  if (recordDurableAtStart) durableAtStart.push(recordDurableAtStart(k));
  if (dieOnce.delete(k)) throw new LeaderDies(`the leader dies while link ${k} runs`);
  if (failOnce.delete(k)) throw new Error(`link ${k} fails once`);
  if (k < n) job.addChildJobFn(link, k + 1, n);
  return k;
}
function biggerChild(job: FunctionJob): void {
  order.push('biggerChild');
  job.addChildFnWith({ memory: 4 * 2 ** 20 }, leaf, 'big');
}
function twoChildren(job: FunctionJob): void {
  order.push('twoChildren');
  job.addChildFn(leaf, 'a');
  job.addChildFn(leaf, 'b');
}
function promisedArgument(job: FunctionJob): number {
  order.push('promisedArgument');
  job.addChildFn(leaf, job.rv());
  return 7;
}
function followOnOnly(job: FunctionJob): void {
  order.push('followOnOnly');
  job.addFollowOnFn(leaf, 'after');
}
function leaf(label: unknown): unknown {
  order.push(`leaf ${String(label)}`);
  return label;
}

const JOBS = { link, biggerChild, twoChildren, promisedArgument, followOnOnly, leaf };

let wf: InProcessWorkflow | undefined;
async function workflow(
  disableChaining = false,
  chainCommit?: 'durable' | 'written',
): Promise<InProcessWorkflow> {
  wf = await inProcessWorkflow(JOBS, { disableChaining, chainCommit });
  return wf;
}
beforeEach(() => {
  order.length = 0;
  durableAtStart.length = 0;
  recordDurableAtStart = undefined;
  failOnce.clear();
  dieOnce.clear();
});
afterEach(async () => {
  await wf?.dispose();
  wf = undefined;
});

describe('chaining', () => {
  it('runs a chain of jobs in the first one attempt, and the leader counts them all', async () => {
    const w = await workflow();
    const { fake, run } = await w.start(Job.wrapJobFn(link, 1, 5), { reportResults: true });
    await run;
    expect(order).toEqual(['link 1', 'link 2', 'link 3', 'link 4', 'link 5']);
    expect(fake.issuedNames).toEqual(['link']);
    expect(await w.jobs()).toEqual([]);
    expect((await w.store.readSummary())?.completed).toBe(5);
  });

  it('with --disableChaining, issues every job through the leader', async () => {
    const w = await workflow(true);
    const { fake, run } = await w.start(Job.wrapJobFn(link, 1, 5));
    await run;
    expect(order).toEqual(['link 1', 'link 2', 'link 3', 'link 4', 'link 5']);
    expect(fake.issuedNames).toHaveLength(5);
  });

  it('chains a lone follow-on', async () => {
    const w = await workflow();
    const { fake, run } = await w.start(Job.wrapJobFn(followOnOnly));
    await run;
    expect(order).toEqual(['followOnOnly', 'leaf after']);
    expect(fake.issuedNames).toEqual(['followOnOnly']);
  });

  it.each([
    ['needs more memory than its predecessor', biggerChild, ['biggerChild', 'leaf big']],
    ['has a sibling', twoChildren, ['twoChildren', 'leaf a', 'leaf b']],
    ['takes a promised value (a file it owns)', promisedArgument, ['promisedArgument', 'leaf 7']],
  ])('sends a successor that %s through the leader', async (_what, fn, ran) => {
    const w = await workflow();
    const { fake, run } = await w.start(Job.wrapJobFn(fn as (job: FunctionJob) => unknown));
    await run;
    expect(order).toEqual(ran);
    expect(fake.issuedNames).toHaveLength(ran.length);
  });

  it('retries a chained job that failed, not the job before it', async () => {
    const w = await workflow();
    failOnce.add(3);
    const { fake, run } = await w.start(Job.wrapJobFn(link, 1, 4));
    await run;
    expect(order).toEqual(['link 1', 'link 2', 'link 3', 'link 3', 'link 4']);
    expect(fake.issuedNames).toHaveLength(2);
    expect(w.host.events.find((e) => e.code === 'WORKFLOW_JOB_RETRY')).toBeDefined();
  });

  it('starts a chained job only once the commit recording the job before it is durable', async () => {
    const w = await workflow();
    const durableArgs: unknown[] = [];
    const commit = w.store.commit.bind(w.store);
    jest.spyOn(w.store, 'commit').mockImplementation(async (ops) => {
      // A slow disk: the commit becomes durable well after it was asked for.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await commit(ops);
      for (const op of ops) if (op.op === 'put') durableArgs.push((op.record.body as JobBody).args);
    });
    recordDurableAtStart = (k) => durableArgs.some((args) => isDeepStrictEqual(args, [k, 4]));
    const { fake, run } = await w.start(Job.wrapJobFn(link, 1, 4));
    await run;
    expect(fake.issuedNames).toEqual(['link']);
    expect(order).toEqual(['link 1', 'link 2', 'link 3', 'link 4']);
    expect(durableAtStart).toEqual([true, true, true, true]);
  });

  it("where the leader shares the machine (chainCommit 'written'), starts a chained job once the commit recording the job before it is written, and ends the attempt with a durable commit", async () => {
    const w = await workflow(false, 'written');
    const stored: unknown[] = [];
    const modes: string[] = [];
    const commit = w.store.commit.bind(w.store);
    jest.spyOn(w.store, 'commit').mockImplementation(async (ops, options) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await commit(ops, options);
      modes.push(`${ops[0]!.op} ${options?.durability ?? 'durable'}`);
      for (const op of ops) if (op.op === 'put') stored.push((op.record.body as JobBody).args);
    });
    recordDurableAtStart = (k) => stored.some((args) => isDeepStrictEqual(args, [k, 4]));
    const { fake, run } = await w.start(Job.wrapJobFn(link, 1, 4));
    await run;
    expect(fake.issuedNames).toEqual(['link']);
    expect(order).toEqual(['link 1', 'link 2', 'link 3', 'link 4']);
    expect(durableAtStart).toEqual([true, true, true, true]);
    // Links 2-4 each took over the record with a written commit; the last one's delete is
    // durable, and the store makes every written commit before it durable with it.
    const attempt = modes.slice(modes.indexOf('put written'));
    expect(attempt).toEqual(['put written', 'put written', 'put written', 'delete durable']);
  });

  it('after the leader died in a chained job, a restart runs that job again and never the ones before', async () => {
    const w = await workflow();
    dieOnce.add(3);
    const first = await w.start(Job.wrapJobFn(link, 1, 4));
    await expect(first.run).rejects.toThrow('the leader dies while link 3 runs');
    const rootId = await w.store.getRootJobId();
    // Link 3 took over the root's record when link 2 completed (one commit each).
    const left = await w.jobs();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ id: rootId, state: 'running', displayName: 'link' });
    expect((left[0]!.body as JobBody).args).toEqual([3, 4]);
    const second = await w.restart();
    await second.run;
    expect(order).toEqual(['link 1', 'link 2', 'link 3', 'link 3', 'link 4']);
    expect(await w.jobs()).toEqual([]);
  });
});

describe('chaining in worker processes', () => {
  it('survives a SIGKILL of the leader between chained jobs: the restart reruns only the job that was running', async () => {
    const dir = scratch();
    const locator = `file:${join(dir, 'store')}`;
    const env = {
      TOIL_TEST_CASE: 'chainCrash',
      TOIL_TEST_OUT: join(dir, 'out'),
      TOIL_TEST_MARKER: join(dir, 'marker'),
    };
    const run = startWorkflow(FIXTURE, [locator, '--stats'], env);
    const result = await run.done;
    expect(result.signal).toBe('SIGKILL');
    expect(lines(env.TOIL_TEST_OUT)).toEqual(['link 1', 'link 2']);
    const { jobs } = await snapshot(locator);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ jobName: 'chainLink', state: 'running' });
    expect((jobs[0]!.body as JobBody).args).toEqual([2, 3]);

    const restarted = await runWorkflow(FIXTURE, [locator, '--restart'], env);
    expect(restarted.stderr).toContain('Finished toil run successfully.');
    expect(restarted.code).toBe(0);
    expect(lines(env.TOIL_TEST_OUT)).toEqual(['link 1', 'link 2', 'link 2', 'link 3']);
    // Each chained job has its own stats row (link 1's was still buffered in the killed worker).
    const { stats } = await snapshot(locator);
    const names = stats.flatMap((r) => (r.kind === 'worker' ? r.jobs.map((j) => j.name) : []));
    expect(names).toEqual(['chainLink', 'chainLink']);
  });
});
