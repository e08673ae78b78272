/** Runs the tasks given to it with at most a set number at once, in the order given. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

// Loaded with the first limiter, not with the package: most processes (a one-shot worker's
// small jobs) never need one, and p-limit is two more modules to resolve and read at start-up.
let pLimitModule: Promise<typeof import('p-limit')> | undefined;

/**
 * The one concurrency limiter of the project (p-limit): tasks given to the returned function
 * run at most `concurrency` at a time (at least 1), first come first served.
 */
export function limitConcurrency(concurrency: number): Limiter {
  const limit = (pLimitModule ??= import('p-limit')).then(({ default: pLimit }) =>
    pLimit(Math.max(1, Math.floor(concurrency) || 1)),
  );
  // Tasks given before p-limit is loaded reach it in the order given: each waits on the same
  // promise, and its continuations run in the order they were registered.
  return async (task) => (await limit)(task);
}

/**
 * Runs `task` over `items` with at most `limit` in flight; once one fails, starts no more and
 * rejects with the first failure after the tasks already started have settled.
 */
export async function forEachLimit<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const all = Array.from(items);
  if (all.length === 0) return;
  // No more tasks than the limit: they all start at once, no limiter needed (it costs more
  // than small tasks do, e.g. in every job of a long chain).
  const run: Limiter =
    all.length <= Math.max(1, Math.floor(limit) || 1) ? (work) => work() : limitConcurrency(limit);
  let failure: { error: unknown } | undefined;
  await Promise.all(
    all.map((item) =>
      run(async () => {
        if (failure) return;
        try {
          await task(item);
        } catch (error) {
          failure ??= { error };
        }
      }),
    ),
  );
  if (failure) throw failure.error;
}

/** {@link forEachLimit} collecting results in the order of `items`. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  await forEachLimit(items.keys(), limit, async (index) => {
    results[index] = await task(items[index]!);
  });
  return results;
}
