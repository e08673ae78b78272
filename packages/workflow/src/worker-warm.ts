import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { report } from '@toil/core';
import {
  DirWatch,
  parseWarmInboxName,
  WARM_DIRS,
  warmClaimName,
  type WarmResult,
  type WarmWorkerSpec,
} from '@toil/batch-system';
import { openJobStore, type JobStore, type WorkflowConfig } from '@toil/jobstore';
import { totalCpuSeconds } from './resources.js';
import {
  describeError,
  logHost,
  moduleWithoutStore,
  newWorkerDir,
  removeWorkerDir,
  shouldClean,
  summaryOf,
  workerRuntime,
  workflowModuleHere,
} from './worker-common.js';
import { outputFrom } from './worker-one-shot.js';
import type { LocalResult } from './single-machine.js';
import {
  loadWorkflowModule,
  recordFailedAttempt,
  runAttempt,
  type WorkerRuntime,
} from './worker-runtime.js';

/**
 * Most milliseconds between two looks at an empty inbox: a change of the inbox (or a `stop`)
 * wakes the worker at once where the file system notifies changes; this paces it where it
 * does not (NFS between machines).
 */
const INBOX_POLL_MS = 100;

/**
 * A warm worker on a batch system (`worker.js warm ...`, e.g. one long-running Slurm job):
 * loads the workflow once, then runs the attempts its leader puts in `inbox/` one after the
 * other (claimed by renaming into `running/`, so several workers share an inbox), each
 * reported as a file in `done/`; exits 0 when idle for `idle` seconds, when the leader's
 * heartbeat is older than `leaderTimeout` seconds, or when `stop` exists in `dir`. Its stats
 * records are appended when the inbox is empty and before it exits (not after each job), so a
 * leader that ends the workflow stops it with `stop` rather than cancelling it.
 */
export async function warmMain(options: WarmWorkerSpec): Promise<number> {
  const { dir } = options;
  const name = process.env.SLURM_JOB_ID ?? String(process.pid);
  for (const sub of Object.values(WARM_DIRS)) mkdirSync(join(dir, sub), { recursive: true });
  const store = await openJobStore(options.invocation.jobStore, { host: logHost });
  const watch = new DirWatch([join(dir, WARM_DIRS.inbox), dir]);
  const started = Date.now();
  // Where this node sees the module, it loads while the leader creates the store and issues
  // the first job, not after.
  const code = options.invocation.workflow;
  const local = moduleWithoutStore(code);
  const preloaded =
    local !== undefined && existsSync(local) ? loadWorkflowModule(local) : undefined;
  // (Its failure is handled where it is awaited, after the store exists.)
  preloaded?.catch(() => undefined);
  const config = await resumeOnceCreated(store, options, watch, started);
  if (!config) {
    watch.close();
    return 0;
  }
  let runtime: WorkerRuntime | undefined;
  let workerDir: string | undefined;
  let loadError: unknown;
  try {
    const names = await (preloaded ?? loadWorkflowModule(await workflowModuleHere(code, store)));
    workerDir = newWorkerDir(config);
    runtime = workerRuntime(store, config, names, workerDir);
  } catch (error) {
    // Every attempt would fail the same way: each is reported failed with the reason (its
    // job's retries follow), rather than left to a worker that ends with none reported, which
    // its leader would replace for them again and again.
    loadError = error;
    process.stderr.write(`${describeError(error)}\n`);
  }
  const inbox = new InboxClaimer(dir, name);
  let lastWork = Date.now();
  let failures = 0;
  for (;;) {
    if (existsSync(join(dir, 'stop'))) break;
    const claimed = inbox.next();
    if (!claimed) {
      // Nothing waits: the jobs run so far get their stats stored now, off their critical path.
      await runtime?.stats.flush().catch(() => undefined);
      const now = Date.now();
      if (now - lastWork > options.idle * 1000) break;
      if (now - heartbeatTime(options.heartbeat, now) > options.leaderTimeout * 1000) break;
      await watch.wait(INBOX_POLL_MS);
      continue;
    }
    const result = runtime
      ? await runClaimed(runtime, claimed.jobId)
      : await failClaimed(store, claimed.jobId, loadError);
    if (result.exitCode !== 0) failures += 1;
    // The claim becomes the result: the leader sees one or the other, never neither.
    writeFileSync(claimed.path, JSON.stringify({ ...result, worker: name } satisfies WarmResult));
    renameSync(claimed.path, join(dir, WARM_DIRS.done, claimed.attempt));
    lastWork = Date.now();
  }
  watch.close();
  await runtime?.stats.flush().catch(() => undefined);
  await store.close().catch(() => undefined);
  if (workerDir && shouldClean(config.cleanWorkDir, failures === 0)) removeWorkerDir(workerDir);
  return runtime ? 0 : 1;
}

/** Reports a claimed attempt failed with `error` (the workflow module did not load). */
async function failClaimed(store: JobStore, jobId: string, error: unknown): Promise<WarmResult> {
  const reason = summaryOf(error);
  const recordError = await recordFailedAttempt(store, jobId, describeError(error), reason);
  if (recordError) report(logHost, 'warning', 'WORKER_FAILED', recordError);
  return {
    exitCode: 1,
    reason,
    wallTime: 0,
    cpuTime: 0,
    peakMemory: process.resourceUsage().maxRSS * 1024,
  };
}

/**
 * The store's config, once the store exists: a worker the leader started before it created
 * the store (Slurm's prestart) waits for it, woken by its inbox. Once the inbox has work the
 * store is complete, so an error then is real. Undefined when told to stop, idle or orphaned
 * first.
 */
async function resumeOnceCreated(
  store: JobStore,
  options: WarmWorkerSpec,
  watch: DirWatch,
  started: number,
): Promise<WorkflowConfig | undefined> {
  const { dir } = options;
  for (;;) {
    let waiting: boolean;
    try {
      waiting = readdirSync(join(dir, WARM_DIRS.inbox)).some(
        (e) => parseWarmInboxName(e) !== undefined,
      );
    } catch {
      return undefined; // the leader removed the directory: the run is over
    }
    if (waiting) return store.resume();
    try {
      return await store.resume();
    } catch {
      // Not created yet.
    }
    const now = Date.now();
    if (existsSync(join(dir, 'stop')) || now - started > options.idle * 1000) return undefined;
    if (now - heartbeatTime(options.heartbeat, now) > options.leaderTimeout * 1000)
      return undefined;
    await watch.wait(INBOX_POLL_MS);
  }
}

function heartbeatTime(path: string, now: number): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return now;
  }
}

/**
 * Claims the inbox's attempts oldest first (rename into `running/`). It lists the inbox only
 * when the attempts it listed last are all taken (by it, another worker, or withdrawn): a
 * fan-out's inbox holds hundreds, listed once rather than once per claim.
 */
class InboxClaimer {
  private listed: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly worker: string,
  ) {}

  /** The next attempt claimed; undefined when the inbox has none left. */
  next(): { attempt: string; jobId: string; path: string } | undefined {
    let listedNow = false;
    for (;;) {
      if (this.listed.length === 0) {
        if (listedNow) return undefined;
        listedNow = true;
        try {
          this.listed = readdirSync(join(this.dir, WARM_DIRS.inbox)).sort().reverse();
        } catch {
          return undefined;
        }
      }
      while (this.listed.length > 0) {
        const name = this.listed.pop()!;
        const attempt = parseWarmInboxName(name);
        if (!attempt) continue;
        const path = join(
          this.dir,
          WARM_DIRS.running,
          warmClaimName(attempt.attempt, attempt.jobId, this.worker),
        );
        try {
          renameSync(join(this.dir, WARM_DIRS.inbox, name), path);
        } catch {
          continue; // another worker took it, or the leader withdrew it
        }
        return { ...attempt, path };
      }
    }
  }
}

/** Runs one attempt in this process; a failure is recorded on the job with its output as log. */
async function runClaimed(runtime: WorkerRuntime, jobId: string): Promise<WarmResult> {
  const started = Date.now();
  const cpu0 = totalCpuSeconds();
  const attemptLog = outputFrom(false);
  let exitCode = 0;
  let reason: string | undefined;
  let local: LocalResult | undefined;
  try {
    // The leader takes the result from the report instead of reading it back from the store,
    // and deletes a finished job without successors in its own next commit, as it does for
    // the single machine's workers: no commit (and fsync) here for most jobs of a fan-out.
    local = { result: await runAttempt(runtime, await runtime.store.loadJob(jobId), true) };
  } catch (error) {
    exitCode = 1;
    reason = summaryOf(error);
    process.stderr.write(`Job ${jobId} failed:\n${describeError(error)}\n`);
    const recordError = await recordFailedAttempt(runtime.store, jobId, attemptLog(), reason);
    if (recordError) report(logHost, 'warning', 'WORKER_FAILED', recordError);
  }
  return {
    exitCode,
    ...(reason === undefined ? {} : { reason }),
    wallTime: (Date.now() - started) / 1000,
    cpuTime: Math.max(0, totalCpuSeconds() - cpu0),
    peakMemory: process.resourceUsage().maxRSS * 1024,
    ...(local === undefined ? {} : { local }),
  };
}
