/**
 * A store writer for the contract suite's crash test: it updates its jobs, appends stats and
 * rewrites shared and stored files in a loop, printing `acked N` after each iteration's writes
 * have all resolved (so are durable), until it is killed.
 *
 * argv: LOCATOR PREFIX JOBS FILE_ID
 *
 * @packageDocumentation
 */
import { openJobStore } from './open.js';
import { epochSecondsNow, type JobRecord } from './records.js';

async function main(): Promise<void> {
  const [locator, prefix, jobCount, fileId] = process.argv.slice(2);
  const store = await openJobStore(locator!);
  await store.resume();
  const ids = Array.from({ length: Number(jobCount) }, (_, i) => `${prefix}-${i}`);
  const jobs = await Promise.all(ids.map((id) => store.loadJob(id)));
  for (let iteration = 1; ; iteration++) {
    const updated: JobRecord[] = jobs.map((job) => ({
      ...job,
      version: iteration,
      body: { iteration, padding: 'x'.repeat(2000) },
    }));
    await store.commit(updated.map((record) => ({ op: 'put' as const, record })));
    await store.appendStats({
      v: 1,
      kind: 'leader',
      time: epochSecondsNow(),
      attempt: iteration,
      totalTime: iteration,
      totalClock: iteration,
    });
    await store.writeSharedFile(
      `user-${prefix}`,
      JSON.stringify({ iteration, padding: 'y'.repeat(4096) }),
    );
    await store.updateFile(
      fileId!,
      (async function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, iteration % 256);
      })(),
    );
    process.stdout.write(`acked ${iteration}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
