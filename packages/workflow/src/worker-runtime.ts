import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ToilError, forEachLimit, toToilError } from '@toil/core';
import {
  epochSecondsNow,
  type CleanPolicy,
  type JobRecord,
  type JobStats,
  type JobStore,
  type LeaderMessage,
  type WorkflowConfig,
} from '@toil/jobstore';
import { JobFileStore, deleteRequestedFiles } from './file-store.js';
import type { WorkerFileCache } from './file-cache.js';
import { withJobLog } from './realtime-log.js';
import { workflowLoadError } from './module-origin.js';
import { PromisedValue, internalOf } from './job.js';
import {
  peakRssBytes,
  reapedChildrenCpuSeconds,
  resetPeakRss,
  selfCpuSeconds,
} from './resources.js';
import {
  encodeReturnValue,
  jobDefaultsOf,
  materializePlan,
  planJobs,
  rebuildJob,
  typeNamesFrom,
  valueAtPath,
  type JobBody,
  type JobPlan,
  type TypeNames,
} from './serialize.js';

/** What a worker reports about a successful attempt. */
export interface AttemptResult {
  /** The updated record (null: the job had no successors and is complete). */
  record: JobRecord | null;
  /** Jobs the attempt created (already stored), as JSON (compact for the leader to keep). */
  createdJson: string[];
  /** True when the completed job's record is still stored and the leader deletes it. */
  deferredDelete: boolean;
  /**
   * Jobs that ran and completed earlier in this attempt, each chained onto the one before it
   * (Toil's chaining): `record` is then the last one's, under the first one's id.
   */
  chained?: number;
}

/**
 * Imports the workflow module (once per worker) and indexes its job types. When an `@toil/*`
 * import of the module cannot be resolved and `TOIL_RESOLVE_HOOK` names a module (`toil run`'s
 * resolve hook, which falls back to the CLI's copies), that module is loaded and the workflow
 * module imported again: only workers that need the hook pay for it.
 */
export async function loadWorkflowModule(modulePath: string): Promise<TypeNames> {
  // Compiled TypeScript workflows carry source maps, so job logs show the user's .ts lines.
  // Turned on only now: the engine's own modules, all loaded first (the workflow imports this
  // package's index), skip reading and parsing their maps (~30 ms of CPU per one-shot worker).
  await import('./index.js');
  process.setSourceMapsEnabled(true);
  const url = pathToFileURL(modulePath).href;
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const hook = process.env.TOIL_RESOLVE_HOOK;
    if (!hook || !isUnresolvedToilImport(error)) throw workflowLoadError(error, modulePath);
    await import(hook);
    // A failed import stays failed under its URL; nothing of the module ran (imports are
    // resolved before any code runs).
    namespace = (await import(`${url}?toil-resolve`).catch((again: unknown) => {
      throw workflowLoadError(again, modulePath);
    })) as Record<string, unknown>;
  }
  return typeNamesFrom(namespace, modulePath);
}

/** True for Node's "cannot find" error of an `@toil/*` import or require. */
function isUnresolvedToilImport(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes("'@toil/")
  );
}

/** Collects per-job stats and leader messages and appends them as worker stats records. */
export class StatsBuffer {
  private jobs: JobStats[] = [];
  private messages: LeaderMessage[] = [];
  private time = 0;
  private clock = 0;
  private memory = 0;
  private cores = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: JobStore,
    private readonly enabled: boolean,
    private readonly workerId: string,
  ) {}

  /** Adds one attempt; flushes within a second. */
  add(stats: JobStats): void {
    if (this.enabled) {
      this.jobs.push(stats);
      this.time += stats.time;
      this.clock += stats.clock;
      this.memory = Math.max(this.memory, stats.memory);
      this.cores = Math.max(this.cores, stats.requestedCores);
    }
    if (this.jobs.length === 0) return;
    if (this.jobs.length >= 1000) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 1000);
  }

  /** Adds one message for the leader as the job sends it; flushes within a second. */
  addMessage(message: LeaderMessage): void {
    this.messages.push(message);
    if (this.messages.length >= 1000) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 1000);
  }

  /** Appends what is buffered (one record). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.jobs.length === 0 && this.messages.length === 0) return this.flushing;
    const jobs = this.jobs;
    const messages = this.messages;
    const worker = {
      id: this.workerId,
      host: hostname(),
      pid: process.pid,
      time: this.time,
      clock: this.clock,
      memory: this.memory,
      requestedCores: this.cores,
      jobsRun: jobs.length,
    };
    this.jobs = [];
    this.messages = [];
    this.time = this.clock = this.memory = this.cores = 0;
    this.flushing = this.flushing.then(() =>
      this.store.appendStats({
        v: 1,
        kind: 'worker',
        time: epochSecondsNow(),
        worker,
        jobs,
        messages,
      }),
    );
    return this.flushing;
  }
}

/** Everything a worker needs to run attempts. */
export interface WorkerRuntime {
  store: JobStore;
  config: WorkflowConfig;
  names: TypeNames;
  /** This worker's directory (job temp dirs go inside). */
  workerDir: string;
  stats: StatsBuffer;
  /** Read-only copies of store files shared by the worker's attempts (`readGlobalFile`). */
  fileCache?: WorkerFileCache;
  /**
   * How long a chained job waits for the commit recording the job before it (see
   * {@link runAttempt}): `durable` (the default), or `written` where the leader shares this
   * machine's view of the store (the single-machine pool).
   */
  chainCommit?: 'durable' | 'written';
}

function shouldClean(policy: CleanPolicy, succeeded: boolean): boolean {
  return (
    policy === 'always' ||
    (policy === 'onSuccess' && succeeded) ||
    (policy === 'onError' && !succeeded)
  );
}

async function* textChunks(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text, 'utf8');
}

/**
 * Runs one attempt of a job: rebuilds it, runs it, stores its new successors, delivers its
 * return value to the jobs that promised it, and records its completion (the updated record,
 * or its deletion when it has no successors; with `deferLeafDelete` the leader deletes it).
 * A successor it may chain to ({@link chainTo}) runs next in the same attempt, and so on down
 * the chain. Throws what the job threw (the caller records the failure on the job's id).
 */
export async function runAttempt(
  rt: WorkerRuntime,
  record: JobRecord,
  deferLeafDelete: boolean,
): Promise<AttemptResult> {
  let current = record;
  for (let chained = 0; ; chained++) {
    // A chain's last job deletes its own record: the leader cannot tell it from the first.
    // That last commit (a delete, or the record with its successors) is durable, so every
    // `written` commit of the chain is durable too before the attempt reports success.
    const step = await runJob(rt, current, deferLeafDelete && chained === 0);
    if (!('next' in step)) return chained > 0 ? { ...step, chained } : step;
    current = step.next;
  }
}

/**
 * Toil's chaining: the record the job's only successor runs under in the same worker, or
 * undefined when it must go through the leader. The successor must be new in this attempt,
 * its only predecessor this job, with no successors of its own, no promised arguments (those
 * files are its own), not a checkpoint, and need no more cores, memory or disk than this job
 * (nor a non-preemptible node when this one is preemptible); this job must not be a checkpoint
 * nor have a time limit (the batch system's allocation would be shared). The successor takes
 * over this job's id and predecessors (Toil's `JobDescription.replace`), so one commit records
 * this job's completion and the successor's creation, and nothing else names the successor's
 * own id.
 */
export function chainTo(
  record: JobRecord,
  children: string[],
  followOns: string[],
  created: JobRecord[],
  plan: JobPlan,
): JobRecord | undefined {
  if (record.checkpoint || record.requirements.runtime !== undefined) return undefined;
  if (children.length + followOns.length !== 1 || created.length !== 1) return undefined;
  const next = created[0]!;
  const body = next.body as JobBody;
  if (next.id !== (children[0] ?? followOns[0])) return undefined;
  if (next.checkpoint || next.children.length + next.followOns.length > 0) return undefined;
  if (body.parents || plan.jobs.some((p) => p.placeholders.length > 0)) return undefined;
  const r = next.requirements;
  const p = record.requirements;
  if (r.cores > p.cores || r.memory > p.memory || r.disk > p.disk) return undefined;
  if (p.preemptible && !r.preemptible) return undefined;
  const own = record.body as JobBody;
  const { parent: _parent, relation: _relation, ...rest } = body;
  return {
    ...next,
    id: record.id,
    version: record.version + 1,
    state: 'running',
    batchId: record.batchId,
    predecessors: record.predecessors,
    body: {
      ...rest,
      ...(own.parent === undefined ? {} : { parent: own.parent, relation: own.relation }),
      ...(own.parents ? { parents: own.parents } : {}),
    } satisfies JobBody,
  };
}

async function runJob(
  rt: WorkerRuntime,
  record: JobRecord,
  deferLeafDelete: boolean,
): Promise<AttemptResult | { next: JobRecord }> {
  const { store, config } = rt;
  const body = record.body as JobBody;
  const started = epochSecondsNow();
  const wall0 = process.uptime();
  // CPU, children's CPU and the memory peak cost system calls: only measured for --stats.
  const cpu0 = config.stats ? selfCpuSeconds() : 0;
  const children0 = config.stats ? reapedChildrenCpuSeconds() : 0;
  if (config.stats) resetPeakRss();
  rt.fileCache?.nextAttempt();
  const fileStore = new JobFileStore(
    store,
    record.id,
    rt.workerDir,
    (message) => rt.stats.addMessage(message),
    rt.fileCache,
  );
  let succeeded = false;
  const measure = (): JobStats => ({
    jobId: record.id,
    name: record.displayName,
    time: process.uptime() - wall0,
    clock: config.stats
      ? Math.max(0, selfCpuSeconds() - cpu0 + reapedChildrenCpuSeconds() - children0)
      : 0,
    memory: config.stats ? peakRssBytes() : 0,
    requestedCores: record.requirements.cores,
    start: started,
    succeeded,
    workflowAttempt: config.attempt,
    predecessors: record.predecessors,
  });
  try {
    const job = await rebuildJob(record, rt.names, store);
    const internal = internalOf(job);
    internal.fileStore = fileStore;
    const value = await withJobLog(fileStore.log, () => job.run(fileStore));
    await fileStore.settleWrites();
    internal.fileStore = undefined;
    const jobStats = measure();

    const newRoots = [...internal.children, ...internal.followOns];
    const promiseFiles = [...body.promiseFiles];
    const plan = planJobs(newRoots, rt.names, job);
    const created = await materializePlan(plan, store, jobDefaultsOf(config), {
      parentId: record.id,
      current: job,
      currentPromiseFiles: promiseFiles,
    });
    if (PromisedValue.is(value)) {
      forwardPromises(record.displayName, body, promiseFiles, value, created);
    } else if (promiseFiles.length > 0 || body.root || (body.forwards?.length ?? 0) > 0) {
      const encoded = encodeReturnValue(job, value) ?? null;
      const text = JSON.stringify({ value: encoded });
      const writes = [
        ...promiseFiles.map((file) => () => store.updateFile(file, textChunks(text))),
        ...(body.forwards ?? []).map(({ file, path }) => () => {
          const part = JSON.stringify({ value: valueAtPath(encoded, path) ?? null });
          return store.updateFile(file, textChunks(part));
        }),
      ];
      await forEachLimit(writes, 16, (write) => write());
      if (body.root) {
        await store.setRootReturnValue(valueAtPath(encoded, body.rootPath ?? []) ?? null);
      }
    }
    const children = [...record.children, ...internal.children.map((c) => internalOf(c).id!)];
    const followOns = [...record.followOns, ...internal.followOns.map((c) => internalOf(c).id!)];
    let result: AttemptResult | { next: JobRecord };
    // A checkpoint with successors may run again (its subtree failed): what it deleted must
    // stay until its subtree completed; the leader deletes it then.
    const holdDeletes = record.checkpoint && children.length + followOns.length > 0;
    const next = config.disableChaining
      ? undefined
      : chainTo(record, children, followOns, created, plan);
    if (next) {
      // This job's completion and its successor's creation, in one commit, stored before the
      // successor starts: a kill while the successor runs then reruns only the successor.
      // With `written`, a machine crash may lose it, but only with every later commit of the
      // chain (the store loses a suffix), and the attempt reports to the leader only after a
      // durable commit: see ARCHITECTURE.md, "Chains and durability".
      await store.commit([{ op: 'put', record: next }], {
        durability: rt.chainCommit ?? 'durable',
      });
      result = { next };
    } else if (children.length === 0 && followOns.length === 0) {
      if (!deferLeafDelete) await store.commit([{ op: 'delete', id: record.id }]);
      result = { record: null, createdJson: [], deferredDelete: deferLeafDelete };
    } else {
      if (created.length > 0)
        await store.commit(created.map((r) => ({ op: 'put' as const, record: r })));
      const updated: JobRecord = {
        ...record,
        version: record.version + 1,
        state: 'completed',
        children,
        followOns,
        batchId: undefined,
        body: {
          ...body,
          promiseFiles,
          ran: true,
          ...(holdDeletes
            ? {
                checkpointRun: {
                  promiseFiles: body.promiseFiles,
                  filesToDelete: fileStore.deferredDeletes,
                },
              }
            : {}),
        } satisfies JobBody,
      };
      await store.commit([{ op: 'put', record: updated }]);
      result = {
        record: updated,
        createdJson: created.map((r) => JSON.stringify(r)),
        deferredDelete: false,
      };
    }
    if (!holdDeletes) await deleteRequestedFiles(store, fileStore.deferredDeletes);
    succeeded = true;
    jobStats.succeeded = true;
    fileStore.log.reportDropped();
    rt.stats.add(jobStats);
    return result;
  } catch (error) {
    fileStore.log.reportDropped();
    rt.stats.add(measure());
    throw error;
  } finally {
    const tempDir = fileStore.madeTempDir;
    if (tempDir && shouldClean(config.cleanWorkDir, succeeded)) {
      rmSync(tempDir, { recursive: true, force: true });
    }
  }
}

/**
 * Toil's promise chaining: the job returned `target.rv(...path)` of a job it just created, so
 * everything its own return value was promised to (its promise files, the promise files
 * forwarded to it, the workflow's value) is handed on to that job's record (not yet committed),
 * and delivered when it (or the end of a longer chain) returns plain data.
 */
function forwardPromises(
  name: string,
  body: JobBody,
  promiseFiles: string[],
  promise: PromisedValue,
  created: JobRecord[],
): void {
  const targetId = internalOf(promise.job).id;
  const target = targetId === undefined ? undefined : created.find((r) => r.id === targetId);
  if (!target) {
    throw new ToilError(
      'WORKFLOW_INVALID',
      `Job '${name}' returned the rv() of job '${promise.job.displayName}', which it did not add as a new successor.`,
      {
        hint: "A job can return the rv() of a job it adds in run() (return this.addChildJobFn(fn).rv()); its value becomes this job's value.",
      },
    );
  }
  const path = [...promise.path];
  const targetBody = target.body as JobBody;
  targetBody.forwards = [
    ...(targetBody.forwards ?? []),
    ...promiseFiles.map((file) => ({ file, path })),
    ...(body.forwards ?? []).map((f) => ({ file: f.file, path: [...path, ...f.path] })),
  ];
  if (body.root) {
    targetBody.root = true;
    targetBody.rootPath = [...path, ...(body.rootPath ?? [])];
  }
}

/**
 * Records a failed attempt on the job's record: stores `log` (the worker's output during the
 * attempt) as a file of the job and sets `logFileId` and `lastFailure`. Best effort: a job
 * store error here must not hide the job's own failure, so it resolves to its message instead.
 */
export async function recordFailedAttempt(
  store: JobStore,
  jobId: string,
  log: Readable | string,
  reason: string,
): Promise<string | undefined> {
  try {
    const logFileId = await store.writeFileFromStream(
      typeof log === 'string' ? Readable.from(textChunks(log)) : log,
      { jobId, cleanup: true, basename: 'worker_log.txt' },
    );
    const record = await store.tryLoadJob(jobId);
    if (!record) return undefined;
    if (record.logFileId) await store.deleteFile(record.logFileId).catch(() => undefined);
    await store.commit([
      {
        op: 'put',
        record: { ...record, version: record.version + 1, logFileId, lastFailure: reason },
      },
    ]);
    return undefined;
  } catch (error) {
    return `could not record the failure of ${jobId}: ${toToilError(error).message}`;
  }
}
