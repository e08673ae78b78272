import { ToilError } from '@toil/core';
import { Job } from '../../src/job.js';
import { inProcessWorkflow, type InProcessWorkflow } from './fake-batch-system.js';

/** Attempts that actually ran, by function name. */
const runs = new Map<string, number>();
function ran(name: string): number {
  const n = (runs.get(name) ?? 0) + 1;
  runs.set(name, n);
  return n;
}

function double(x: number): number {
  ran('double');
  return x * 2;
}
function sum(a: number, b: number): number {
  ran('sum');
  return a + b;
}
function root(job: Job): unknown {
  ran('root');
  const a = job.addChildFn(double, 1);
  const b = job.addChildFn(double, 2);
  return job.addFollowOnFn(sum, a.rv(), b.rv()).rv();
}
function flaky(): string {
  if (ran('flaky') === 1) throw new Error('first attempt fails');
  return 'ok';
}
function broken(): never {
  ran('broken');
  throw new Error('always fails');
}
function parentOfBroken(job: Job): void {
  ran('parentOfBroken');
  job.addChildFn(broken);
  job.addChildFn(double, 1);
}
function fanout(job: Job, n: number): unknown {
  ran('fanout');
  const kids = Array.from({ length: n }, (_, i) => job.addChildFn(double, i));
  return job.addFollowOnFn(total, ...kids.map((k) => k.rv())).rv();
}
function total(...values: number[]): number {
  ran('total');
  return values.reduce((a, b) => a + b, 0);
}

function bigChild(job: Job): unknown {
  ran('bigChild');
  return job.addChildFnWith({ cores: 8 }, double, 21).rv();
}

const JOBS = { double, sum, root, flaky, broken, parentOfBroken, fanout, total, bigChild };

let wf: InProcessWorkflow;
beforeEach(async () => {
  runs.clear();
  wf = await inProcessWorkflow(JOBS);
});
afterEach(async () => {
  await wf.dispose();
});

function codes(): string[] {
  return wf.host.events.map((e) => e.code);
}

describe('the leader on a stateful fake batch system', () => {
  it('runs children, then the follow-on with their values, and deletes every record', async () => {
    const { run } = await wf.start(Job.wrapJobFn(root));
    await run;
    expect(await wf.store.getRootReturnValue()).toBe(6);
    expect(Object.fromEntries(runs)).toEqual({ root: 1, double: 2, sum: 1 });
    expect(await wf.jobs()).toEqual([]);
    expect((await wf.store.getOutcome())?.result).toBe('succeeded');
    expect((await wf.store.readSummary())?.completed).toBe(4);
    expect(codes()).toContain('WORKFLOW_SUCCEEDED');
  });

  it('gets the same result when the batch system reports jobs out of order', async () => {
    // 20 children: enough that storing them tells children from the follow-on by a set.
    const { run } = await wf.start(Job.wrapJobFn(fanout, 20), { reverse: true });
    await run;
    expect(await wf.store.getRootReturnValue()).toBe(380);
    expect(runs.get('double')).toBe(20);
  });

  it('retries a job that failed, within its try count', async () => {
    const { run } = await wf.start(Job.wrapFn(flaky));
    await run;
    expect(await wf.store.getRootReturnValue()).toBe('ok');
    expect(runs.get('flaky')).toBe(2);
    expect(codes()).toEqual(expect.arrayContaining(['WORKFLOW_JOB_FAILED', 'WORKFLOW_JOB_RETRY']));
  });

  it('fails the workflow when a job has no tries left, and its predecessor with it', async () => {
    const { run } = await wf.start(Job.wrapJobFn(parentOfBroken));
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ToilError.is(error) && error.code).toBe('WORKFLOW_FAILED');
    expect(runs.get('broken')).toBe(2);
    const outcome = await wf.store.getOutcome();
    expect(outcome?.result).toBe('failed');
    expect(outcome?.failedJobs.map((j) => j.name).sort()).toEqual(['broken', 'parentOfBroken']);
    const states = Object.fromEntries((await wf.jobs()).map((r) => [r.displayName, r]));
    expect(states.broken).toMatchObject({ state: 'failed', remainingTryCount: 0 });
    expect(states.broken!.lastFailure).toBe('always fails');
    expect(states.parentOfBroken).toMatchObject({
      state: 'failed',
      lastFailure: 'a successor failed',
    });
    expect(codes()).toContain('WORKFLOW_JOB_TOTALLY_FAILED');
  });

  it('issues a lost job again: it runs once', async () => {
    const { run, fake } = await wf.start(Job.wrapJobFn(root), { lose: { double: 1 } });
    await run;
    expect(await wf.store.getRootReturnValue()).toBe(6);
    expect(runs.get('double')).toBe(2);
    expect(fake.issuedNames.filter((n) => n === 'double')).toHaveLength(3);
    expect(codes()).toContain('WORKFLOW_JOB_RETRY');
  });

  it('does not run again a job whose completion was stored before its report was lost', async () => {
    const { run, fake } = await wf.start(Job.wrapJobFn(root), { loseReport: { root: 1 } });
    await run;
    expect(await wf.store.getRootReturnValue()).toBe(6);
    expect(runs.get('root')).toBe(1);
    expect(fake.issuedNames.filter((n) => n === 'root')).toHaveLength(1);
    expect(codes()).toContain('WORKFLOW_REPORT_LOST');
  });

  it('stops before issuing a job bigger than every node of a batch system that cannot grow', async () => {
    const { fake, run } = await wf.start(Job.wrapJobFn(bigChild), {
      scaling: { nodes: [{ cores: 4, memory: 2 ** 30 }], canGrow: false },
    });
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ToilError.is(error) && error.code).toBe('JOB_TOO_LARGE');
    expect((error as Error).message).toMatch(/asks for 8 cores .*largest: 4 cores/);
    expect(fake.issuedNames).toEqual(['bigChild']);
    expect(runs.get('double')).toBeUndefined();
  });

  it('issues a job bigger than every node to a batch system that can grow: it waits there for a node', async () => {
    const { fake, run } = await wf.start(Job.wrapJobFn(bigChild), {
      scaling: { nodes: [{ cores: 4, memory: 2 ** 30 }], canGrow: true },
    });
    const seen: number[] = [];
    const issue = fake.issue.bind(fake);
    jest.spyOn(fake, 'issue').mockImplementation(async (job) => {
      const batchId = await issue(job);
      seen.push(fake.scaling!.demand().reduce((n, d) => n + (d.cores === 8 ? d.jobs : 0), 0));
      return batchId;
    });
    await run;
    expect(await wf.store.getRootReturnValue()).toBe(42);
    expect(fake.issuedNames).toEqual(['bigChild', 'double']);
    // The autoscaler's view: the big job is in the batch system's demand while it waits.
    expect(seen).toEqual([0, 1]);
    const waits = wf.host.events.filter((e) => e.code === 'WORKFLOW_JOB_WAITS_FOR_NODE');
    expect(waits).toHaveLength(1);
    expect(waits[0]!.message).toContain('largest: 4 cores');
  });

  it("shows a cluster's nodes by type and state in its progress and in the summary toil status reads", async () => {
    const { run } = await wf.start(Job.wrapJobFn(root), {
      scaling: {
        canGrow: true,
        nodes: [
          { cores: 2, memory: 2 ** 32, type: 't3.medium', state: 'busy' },
          { cores: 2, memory: 2 ** 32, type: 't3.medium', state: 'booting' },
          { cores: 2, memory: 2 ** 32, type: 't3.medium', state: 'busy' },
          { cores: 4, memory: 2 ** 33, type: 'c5.xlarge', state: 'idle' },
        ],
      },
    });
    await run;
    const nodes = [
      { type: 'c5.xlarge', state: 'idle', count: 1 },
      { type: 't3.medium', state: 'busy', count: 2 },
      { type: 't3.medium', state: 'booting', count: 1 },
    ];
    expect((await wf.store.readSummary())?.nodes).toEqual(nodes);
    const progress = wf.host.events.filter((e) => e.code === 'WORKFLOW_PROGRESS').at(-1);
    expect(progress?.data).toMatchObject({ nodes });
  });

  it('leaves nodes out for a batch system of one node that cannot grow', async () => {
    const { run } = await wf.start(Job.wrapJobFn(root), {
      scaling: { canGrow: false, nodes: [{ cores: 4, memory: 2 ** 33 }] },
    });
    await run;
    expect((await wf.store.readSummary())?.nodes).toBeUndefined();
  });

  it('stops with the error of a batch system that rejects a job, and a restart completes', async () => {
    const first = await wf.start(Job.wrapJobFn(root), { reject: { sum: 1 } });
    const error = await first.run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ToilError.is(error) && error.code).toBe('BATCH_SYSTEM_UNAVAILABLE');
    const second = await wf.restart();
    await second.run;
    expect(await wf.store.getRootReturnValue()).toBe(6);
    expect(Object.fromEntries(runs)).toEqual({ root: 1, double: 2, sum: 1 });
  });

  it('restarts after the leader died without running a recorded completion again', async () => {
    const first = await wf.start(Job.wrapJobFn(fanout, 4), { crashAfter: 3 });
    await expect(first.run).rejects.toThrow('the leader died');
    expect(runs.get('fanout')).toBe(1);
    expect(runs.get('double')).toBe(2);
    const left = await wf.jobs();
    expect(left.some((r) => r.state === 'running')).toBe(true);
    const second = await wf.restart();
    await second.run;
    expect(await wf.store.getRootReturnValue()).toBe(12);
    expect(Object.fromEntries(runs)).toEqual({ fanout: 1, double: 4, total: 1 });
    expect(second.fake.issuedNames.sort()).toEqual(['double', 'double', 'total']);
    expect(await wf.jobs()).toEqual([]);
  });
});
