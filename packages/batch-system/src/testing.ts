/// <reference types="jest" />
/**
 * The contract test suite every {@link BatchSystem} must pass. Call
 * {@link describeBatchSystemContract} from a jest test file with a backend description; the
 * backend supplies real job attempts (a job store and a workflow its workers can load).
 *
 * @packageDocumentation
 */
import type { BatchSystem, FinishedJob, IssuedJob } from './contract.js';
import { FAILURE_KINDS } from './contract.js';

/** Real attempts for the suite: each call makes a fresh job in the backend's job store. */
export interface ContractJobs {
  /** A job that returns at once. */
  succeeds(): Promise<IssuedJob>;
  /** A job that throws. */
  fails(): Promise<IssuedJob>;
  /** A job that runs until it is killed. */
  sleeps(): Promise<IssuedJob>;
}

/** What the suite needs to know about a batch system. */
export interface BatchSystemBackend {
  /** A fresh batch system for one test. */
  create(): Promise<BatchSystem>;
  /** Makes the job attempts (called once, before the tests). */
  jobs(): Promise<ContractJobs>;
  /** Called once after the tests. */
  cleanup?(): Promise<void>;
  /** Per-test time limit in milliseconds (default 120,000). */
  timeoutMs?: number;
}

/** Polls until every id in `ids` was reported (each poll waits up to a second). */
export async function pollUntilFinished(
  batch: BatchSystem,
  ids: readonly string[],
): Promise<Map<string, FinishedJob>> {
  const done = new Map<string, FinishedJob>();
  while (ids.some((id) => !done.has(id))) {
    for (const finished of await batch.poll(1000)) done.set(finished.batchId, finished);
  }
  return done;
}

function expectMeasures(finished: FinishedJob): void {
  for (const key of ['wallTime', 'cpuTime', 'peakMemory'] as const) {
    const value = finished[key];
    if (value !== undefined) {
      expect(typeof value).toBe('number');
      expect(value).toBeGreaterThanOrEqual(0);
    }
  }
}

/**
 * Defines the contract tests for one batch system under `describe(name)`: attempts that
 * succeed and fail are reported once with the same words from every system (exit code,
 * {@link FailureKind}, measures), kill and shutdown leave nothing running, interrupt ends a
 * waiting poll, and the optional capabilities answer as documented.
 */
export function describeBatchSystemContract(name: string, backend: BatchSystemBackend): void {
  describe(`${name} passes the batch-system contract`, () => {
    const timeout = backend.timeoutMs ?? 120_000;
    let jobs: ContractJobs;
    const open: BatchSystem[] = [];
    const make = async () => {
      const batch = await backend.create();
      open.push(batch);
      return batch;
    };

    beforeAll(async () => {
      jobs = await backend.jobs();
    }, timeout);
    afterEach(async () => {
      await Promise.all(open.splice(0).map((batch) => batch.shutdown()));
    }, timeout);
    afterAll(async () => {
      await backend.cleanup?.();
    }, timeout);

    it(
      'reports a successful attempt once, with exit code 0, no failure kind and its measures',
      async () => {
        const batch = await make();
        const job = await jobs.succeeds();
        const id = await batch.issue(job);
        expect(batch.running()).toContain(id);
        const finished = (await pollUntilFinished(batch, [id])).get(id)!;
        expect(finished).toMatchObject({ batchId: id, jobId: job.jobId, exitCode: 0 });
        expect(finished.failure).toBeUndefined();
        expectMeasures(finished);
        expect(batch.running()).not.toContain(id);
        expect((await batch.poll(0)).filter((f) => f.batchId === id)).toEqual([]);
      },
      timeout,
    );

    it(
      "reports a job that throws as a 'job-error' with a non-zero exit code",
      async () => {
        const batch = await make();
        const job = await jobs.fails();
        const id = await batch.issue(job);
        const finished = (await pollUntilFinished(batch, [id])).get(id)!;
        expect(finished.jobId).toBe(job.jobId);
        expect(finished.exitCode).not.toBe(0);
        expect(finished.failure).toBe('job-error');
        expectMeasures(finished);
        expect(batch.running()).not.toContain(id);
      },
      timeout,
    );

    it(
      "kills a running attempt: it leaves running(), and if reported at all it is 'killed'",
      async () => {
        const batch = await make();
        const sleeper = await batch.issue(await jobs.sleeps());
        const other = await batch.issue(await jobs.succeeds());
        await pollUntilFinished(batch, [other]);
        await batch.kill([sleeper]);
        expect(batch.running()).not.toContain(sleeper);
        for (const finished of await batch.poll(0)) {
          if (finished.batchId !== sleeper) continue;
          expect(finished.exitCode).not.toBe(0);
          expect(finished.failure).toBe('killed');
        }
      },
      timeout,
    );

    it(
      'shutdown kills what still runs',
      async () => {
        const batch = await make();
        await Promise.all([batch.issue(await jobs.sleeps()), batch.issue(await jobs.sleeps())]);
        expect(batch.running()).toHaveLength(2);
        await batch.shutdown();
        expect(batch.running()).toEqual([]);
      },
      timeout,
    );

    it(
      'interrupt() ends a waiting poll',
      async () => {
        const batch = await make();
        if (!batch.interrupt) return;
        await batch.issue(await jobs.sleeps());
        const waiting = batch.poll(10 * timeout);
        setImmediate(() => batch.interrupt!());
        // Resolves long before its timeout (the test's own limit is a tenth of it).
        for (const finished of await waiting) expect(typeof finished.batchId).toBe('string');
      },
      timeout,
    );

    it(
      'its optional capabilities answer as documented',
      async () => {
        const batch = await make();
        const failureKinds: readonly string[] = FAILURE_KINDS;
        expect(failureKinds).toContain('job-error');
        if (batch.local) {
          expect(typeof batch.local.startsAfterIssuing).toBe('boolean');
          const id = await batch.issue(await jobs.sleeps());
          await pollUntilFinished(batch, [await batch.issue(await jobs.succeeds())]);
          const pids = batch.local.pids();
          expect(pids.length).toBeGreaterThan(0);
          expect(pids.every((pid) => Number.isInteger(pid) && pid > 0)).toBe(true);
          await batch.kill([id]);
        }
        if (batch.scaling) {
          expect(typeof batch.scaling.canGrow).toBe('boolean');
          const nodes = await batch.scaling.nodes();
          expect(nodes.length).toBeGreaterThan(0);
          for (const node of nodes) {
            expect(node.cores).toBeGreaterThan(0);
            expect(node.free.cores).toBeLessThanOrEqual(node.cores);
          }
          for (const demand of batch.scaling.demand()) expect(demand.jobs).toBeGreaterThan(0);
        }
      },
      timeout,
    );
  });
}
