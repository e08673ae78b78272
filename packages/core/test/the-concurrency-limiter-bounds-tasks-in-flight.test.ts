import { forEachLimit, limitConcurrency, mapLimit } from '@toil/core';

/** A task that records how many run at once and ends when `release` is called. */
function gatedTasks() {
  let running = 0;
  let peak = 0;
  const gates: Array<() => void> = [];
  const task = async (): Promise<void> => {
    running++;
    peak = Math.max(peak, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
  };
  const releaseAll = async (): Promise<void> => {
    while (gates.length > 0 || running > 0) {
      gates.splice(0).forEach((open) => open());
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { task, releaseAll, peak: () => peak, waiting: () => gates.length };
}

describe('the concurrency limiter', () => {
  it('runs at most the given number of tasks at once', async () => {
    const limit = limitConcurrency(3);
    const t = gatedTasks();
    const all = Promise.all(Array.from({ length: 10 }, () => limit(t.task)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.waiting()).toBe(3);
    await t.releaseAll();
    await all;
    expect(t.peak()).toBe(3);
  });

  it('starts tasks first come first served, also those given before its first task ran', async () => {
    const started: number[] = [];
    const limit = limitConcurrency(2);
    await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        limit(async () => {
          started.push(n);
          await new Promise((resolve) => setImmediate(resolve));
        }),
      ),
    );
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('maps in the order of the items, whatever the order tasks end in', async () => {
    const out = await mapLimit([30, 10, 20], 2, async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms * 2;
    });
    expect(out).toEqual([60, 20, 40]);
  });

  it('starts nothing more after a failure and rejects with the first one', async () => {
    const started: number[] = [];
    const error = await forEachLimit([1, 2, 3, 4, 5], 1, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('two fails');
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('two fails');
    expect(started).toEqual([1, 2]);
  });

  it('bounds forEachLimit by its limit, and starts every item at once when they are no more', async () => {
    for (const [count, limit, expected] of [
      [10, 3, 3],
      [3, 3, 3],
      [2, 5, 2],
      [4, 0, 1],
    ] as const) {
      const t = gatedTasks();
      const all = forEachLimit(Array.from({ length: count }), limit, t.task);
      await new Promise((resolve) => setImmediate(resolve));
      expect(t.waiting()).toBe(expected);
      await t.releaseAll();
      await all;
      expect(t.peak()).toBe(expected);
    }
    await expect(forEachLimit([], 2, () => Promise.reject(new Error('never')))).resolves.toBe(
      undefined,
    );
  });

  it('with every item started at once, rejects with the first failure after all settled', async () => {
    const settled: number[] = [];
    const run = forEachLimit([1, 2, 3], 8, async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 10 * n));
      settled.push(n);
      if (n === 1) throw new Error('one fails');
    });
    await expect(run).rejects.toThrow('one fails');
    expect(settled).toEqual([1, 2, 3]);
  });

  it('treats a limit below one as one', async () => {
    const t = gatedTasks();
    const limit = limitConcurrency(0);
    const all = Promise.all([limit(t.task), limit(t.task)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.waiting()).toBe(1);
    await t.releaseAll();
    await all;
  });
});
