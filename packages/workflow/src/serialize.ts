import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { ToilError, forEachLimit } from '@toil/core';
import type { JobRecord, JobStore, WorkflowConfig } from '@toil/jobstore';
import {
  FunctionJob,
  Job,
  PromisedValue,
  attachInternal,
  internalOf,
  isJob,
  jobTypeRegistry,
  type PromisePathElement,
} from './job.js';
import { describeDefinition, workflowSourceOf } from './module-origin.js';

/** Engine data kept in a job record's `body`. */
export interface JobBody {
  kind: 'class' | 'fn';
  /** Export (or registered) name of the class or function. */
  type: string;
  /** Own fields of a class job, as JSON (with promise placeholders). */
  fields?: Record<string, unknown>;
  /** Arguments of a function job. */
  args?: unknown[];
  /** `wrapJobFn`: pass the job as the first argument. */
  passJob?: boolean;
  /** Files this job's return value is written to (one per promise of it). */
  promiseFiles: string[];
  /** True once `run` finished and its successors were stored. */
  ran: boolean;
  /** The (first) predecessor, and how this job hangs off it. */
  parent?: string;
  relation?: 'child' | 'followOn';
  /** Every predecessor, when there are several (the join of a diamond). */
  parents?: JobPredecessor[];
  /**
   * The workflow's root job: its return value (at `rootPath`) is the workflow's. Moves to the
   * job whose `rv()` the root returned (and on down such a chain).
   */
  root?: boolean;
  /** With `root`: where in this job's return value the workflow's value is (default: all). */
  rootPath?: PromisePathElement[];
  /**
   * Promise files of earlier jobs that returned this job's `rv(...)` (Toil's promise
   * chaining): each file receives this job's return value at `path`.
   */
  forwards?: ForwardedPromise[];
  /**
   * Set when a checkpoint job ran and stored successors: what a restart of the checkpoint
   * needs (its promise files from before the run) and the files it deleted, which are deleted
   * for real only once its whole subtree completed.
   */
  checkpointRun?: CheckpointRun;
}

/** What a checkpoint job's run left for its restart or its completion. */
export interface CheckpointRun {
  /** `promiseFiles` before the run (later ones belong to successors a restart discards). */
  promiseFiles: string[];
  /** Files the run deleted with `deleteGlobalFile`: kept until the subtree completes. */
  filesToDelete: string[];
}

/** A promise file handed on to the job whose `rv(...path)` its owner returned. */
export interface ForwardedPromise {
  file: string;
  path: PromisePathElement[];
}

/** A predecessor of a job and how the job hangs off it. */
export interface JobPredecessor {
  id: string;
  relation: 'child' | 'followOn';
}

/** Key of a promise placeholder in stored JSON. */
export const PROMISE_KEY = '$toil:rv';

interface PromisePlaceholder {
  [PROMISE_KEY]: { file: string; path: PromisePathElement[] };
}

/** Finds job classes and functions by name and names them. */
export interface TypeNames {
  /** The stored name of a class or function, or undefined when workers could not find it. */
  nameOf(value: unknown): string | undefined;
  /** The class or function stored under `name`. */
  lookup(name: string): unknown;
  /** Where types are looked up, for messages: the user's file (not the compiled JavaScript). */
  readonly moduleName: string;
  /** The module that was imported (for a TypeScript workflow, its compiled JavaScript). */
  readonly modulePath: string;
}

/** The workflow module's file, and where in it `name` is defined when it is found: for messages. */
function moduleAndDefinition(names: TypeNames, name: string): string {
  return `${names.moduleName}${name ? describeDefinition(names.modulePath, name) : ''}`;
}

const BUILTIN_JOB = '@toil/workflow:Job';

/**
 * Names from the workflow module's exports, then from {@link Job.register}. `namespace` is
 * the imported workflow module (its `default` export is searched too, for CommonJS modules).
 */
export function typeNamesFrom(
  namespace: Record<string, unknown> | undefined,
  modulePath: string,
): TypeNames {
  const exports = new Map<string, unknown>();
  if (namespace) {
    const fromDefault = namespace.default;
    if (fromDefault && (typeof fromDefault === 'object' || typeof fromDefault === 'function')) {
      for (const [key, value] of Object.entries(fromDefault)) exports.set(key, value);
    }
    for (const [key, value] of Object.entries(namespace)) exports.set(key, value);
  }
  return {
    modulePath,
    get moduleName() {
      return workflowSourceOf(modulePath);
    },
    nameOf(value) {
      if (value === Job) return BUILTIN_JOB;
      for (const [key, candidate] of exports) if (candidate === value) return key;
      for (const [key, candidate] of jobTypeRegistry()) if (candidate === value) return key;
      return undefined;
    },
    lookup(name) {
      if (name === BUILTIN_JOB) return Job;
      return exports.get(name) ?? jobTypeRegistry().get(name);
    },
  };
}

/** A job, validated and encoded, waiting for ids and promise files. */
interface PlannedJob {
  job: Job;
  body: JobBody;
  placeholders: Array<{ placeholder: PromisePlaceholder; promiser: Job }>;
}

/** The validated, encoded form of a graph of new jobs. */
export interface JobPlan {
  jobs: PlannedJob[];
}

function describeJob(job: Job): string {
  return job.displayName === job.jobName
    ? `Job '${job.displayName}'`
    : `Job '${job.displayName}' (${job.jobName})`;
}

function notSerializable(job: Job, path: string, what: string, value?: unknown): ToilError {
  return new ToilError(
    'JOB_NOT_SERIALIZABLE',
    `${describeJob(job)} cannot be stored: ${path} is ${what}.`,
    {
      hint: isThenable(value)
        ? 'Missing await? Await the call that made it (e.g. `await job.fileStore.writeGlobalFile(path)`) and pass its result.'
        : 'Job fields and arguments are stored as JSON: keep them to strings, numbers, booleans, null, arrays, plain objects and rv() promises, and build other values inside run().',
      data: { job: job.displayName, field: path },
    },
  );
}

function isThenable(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function describeValue(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a bigint';
  if (typeof value === 'number') return `the number ${String(value)}, which JSON cannot hold`;
  if (isThenable(value)) return 'a Promise (missing await?)';
  const name = (value as object).constructor?.name;
  return `an instance of ${name || 'a class'} (not plain data)`;
}

function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/**
 * Encodes a value as JSON-ready data, replacing promises by placeholders. Throws
 * `JOB_NOT_SERIALIZABLE` naming the job and the field for anything JSON cannot hold faithfully.
 */
function encodeValue(
  value: unknown,
  path: string,
  job: Job,
  onPromise: (promise: PromisedValue) => PromisePlaceholder,
  stack: Set<object>,
): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw notSerializable(job, path, describeValue(value));
  }
  if (value === undefined) return undefined;
  if (typeof value !== 'object') throw notSerializable(job, path, describeValue(value));
  if (PromisedValue.is(value)) return onPromise(value);
  if (isJob(value)) {
    throw notSerializable(
      job,
      path,
      `a Job (pass its rv() promise for its return value, or add it with addChild/addFollowOn)`,
    );
  }
  if (stack.has(value))
    throw notSerializable(job, path, 'a reference back to a containing object (a cycle)');
  stack.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        const encoded = encodeValue(item, fieldPath(path, i), job, onPromise, stack);
        return encoded === undefined ? null : encoded;
      });
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw notSerializable(job, path, describeValue(value), value);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const encoded = encodeValue(item, fieldPath(path, key), job, onPromise, stack);
      if (encoded !== undefined) out[key] = encoded;
    }
    return out;
  } finally {
    stack.delete(value);
  }
}

/** Encodes a return value (no promises allowed), for promise files and the root value. */
export function encodeReturnValue(job: Job, value: unknown): unknown {
  return encodeValue(
    value,
    'its return value',
    job,
    () => {
      throw notSerializable(
        job,
        'its return value',
        'an rv() promise inside other data (return the promise itself, e.g. `return child.rv()`, or pass the promises to a follow-on that combines them)',
      );
    },
    new Set(),
  );
}

/**
 * Validates and encodes every not-yet-stored job reachable from `roots` (through children and
 * follow-ons). No I/O. Throws `JOB_CLASS_NOT_FOUND`, `JOB_NOT_SERIALIZABLE` or
 * `WORKFLOW_INVALID` naming the job (and field).
 *
 * @param current the job running in this worker, whose `rv()` new jobs may use.
 */
export function planJobs(roots: Job[], names: TypeNames, current?: Job): JobPlan {
  const jobs: PlannedJob[] = [];
  const inPlan = new Set<Job>();
  const pending = [...roots];
  while (pending.length > 0) {
    const job = pending.pop()!;
    const internal = internalOf(job);
    if (internal.id !== undefined || inPlan.has(job)) continue;
    inPlan.add(job);
    pending.push(...internal.children, ...internal.followOns);
  }
  for (const job of inPlan) {
    const own = internalOf(job);
    if (own.options.checkpoint && own.children.length + own.followOns.length > 0) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `${describeJob(job)} is a checkpoint but already has successors; a checkpoint's successors must be added inside its run().`,
        {
          hint: 'A restarted checkpoint discards its subtree and runs again to re-create it: move the addChild/addFollowOn calls into its run(), or attach those jobs to its predecessor.',
          data: { job: job.displayName },
        },
      );
    }
    for (const parent of own.parents) {
      if (!inPlan.has(parent) && parent !== current) {
        throw new ToilError(
          'WORKFLOW_INVALID',
          `${describeJob(job)} is a successor of job '${parent.displayName}', which is not part of this workflow graph.`,
          {
            hint: 'Add that job to the graph too (as a successor of a job in it), or drop the edge.',
          },
        );
      }
    }
    const placeholders: PlannedJob['placeholders'] = [];
    const onPromise = (promise: PromisedValue): PromisePlaceholder => {
      if (!inPlan.has(promise.job) && promise.job !== current) {
        throw new ToilError(
          'WORKFLOW_INVALID',
          `${describeJob(job)} uses the return value of job '${promise.job.displayName}', which is not part of this workflow graph.`,
          {
            hint: 'Pass rv() only of jobs added to the same graph (or of the running job, this.rv()).',
          },
        );
      }
      const placeholder: PromisePlaceholder = {
        [PROMISE_KEY]: { file: '', path: [...promise.path] },
      };
      placeholders.push({ placeholder, promiser: promise.job });
      return placeholder;
    };
    let body: JobBody;
    if (job instanceof FunctionJob || typeof (job as Partial<FunctionJob>).passJob === 'boolean') {
      const fnJob = job as FunctionJob;
      const type = names.nameOf(fnJob.fn);
      if (type === undefined) {
        throw new ToilError(
          'JOB_CLASS_NOT_FOUND',
          `${describeJob(job)}: function ${fnJob.fn.name || '(anonymous)'} is not exported from the workflow module ${moduleAndDefinition(names, fnJob.fn.name)}, so workers could not find it.`,
          {
            hint: `Export it (export function ${fnJob.fn.name || 'myFunction'}...) or call Job.register(${fnJob.fn.name || 'myFunction'}) at the module's top level.`,
            data: { job: job.displayName, function: fnJob.fn.name },
          },
        );
      }
      body = {
        kind: 'fn',
        type,
        args: fnJob.args.map((arg, i) => {
          const encoded = encodeValue(arg, `argument ${i + 1}`, job, onPromise, new Set());
          return encoded === undefined ? null : encoded;
        }),
        passJob: fnJob.passJob,
        promiseFiles: [],
        ran: false,
      };
    } else {
      const type = names.nameOf(job.constructor);
      if (type === undefined) {
        throw new ToilError(
          'JOB_CLASS_NOT_FOUND',
          `${describeJob(job)}: class ${job.constructor.name} is not exported from the workflow module ${moduleAndDefinition(names, job.constructor.name)}, so workers could not find it.`,
          {
            hint: `Export the class (export class ${job.constructor.name} ...) or call Job.register(${job.constructor.name}) at the module's top level.`,
            data: { job: job.displayName, class: job.constructor.name },
          },
        );
      }
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(job)) {
        const encoded = encodeValue(value, `field '${key}'`, job, onPromise, new Set([job]));
        if (encoded !== undefined) fields[key] = encoded;
      }
      body = { kind: 'class', type, fields, promiseFiles: [], ran: false };
    }
    jobs.push({ job, body, placeholders });
  }
  return { jobs };
}

/** Defaults applied to jobs that do not set their own resources. */
export interface JobDefaults {
  cores: number;
  memory: number;
  disk: number;
  retryCount: number;
}

/** The {@link JobDefaults} of a workflow's configuration (`--defaultCores`, ..., `--retryCount`). */
export function jobDefaultsOf(config: WorkflowConfig): JobDefaults {
  return {
    cores: config.defaultCores,
    memory: config.defaultMemory,
    disk: config.defaultDisk,
    retryCount: config.retryCount,
  };
}

async function* nothing(): AsyncGenerator<Uint8Array> {}

/**
 * Gives every planned job an id, creates the files its promises are delivered through, and
 * builds the records (not yet written). `extraPromiseFiles` collects promise files of
 * `current` (the running job), which the worker fills after `run`.
 */
export async function materializePlan(
  plan: JobPlan,
  store: JobStore,
  defaults: JobDefaults,
  options: { parentId?: string; current?: Job; currentPromiseFiles?: string[]; rootJob?: Job },
): Promise<JobRecord[]> {
  for (const { job } of plan.jobs) internalOf(job).id = store.newJobId(job.jobName);
  const bodies = new Map<Job, JobBody>(plan.jobs.map((p) => [p.job, p.body]));
  const promiseWrites: Array<() => Promise<void>> = [];
  for (const { job, placeholders } of plan.jobs) {
    for (const { placeholder, promiser } of placeholders) {
      promiseWrites.push(async () => {
        const file = await store.writeFileFromStream(Readable.from(nothing()), {
          jobId: internalOf(job).id,
          cleanup: true,
          basename: 'promise.json',
        });
        placeholder[PROMISE_KEY].file = file;
        if (promiser === options.current) options.currentPromiseFiles!.push(file);
        else bodies.get(promiser)!.promiseFiles.push(file);
      });
    }
  }
  await forEachLimit(promiseWrites, 16, (write) => write());
  // Per parent, its children as a set: a fan-out's 100,000 children would otherwise each
  // search the parent's list (quadratic, seconds of the root job's attempt).
  const childSets = new Map<Job, Set<Job>>();
  const isChildOf = (parent: Job, job: Job): boolean => {
    const children = internalOf(parent).children;
    if (children.length < 16) return children.includes(job);
    let set = childSets.get(parent);
    if (!set) childSets.set(parent, (set = new Set(children)));
    return set.has(job);
  };
  return plan.jobs.map(({ job, body }) => {
    const internal = internalOf(job);
    const parents: JobPredecessor[] = internal.parents.map((parent) => ({
      id: internalOf(parent).id!,
      relation: isChildOf(parent, job) ? 'child' : 'followOn',
    }));
    if (parents.length > 0) {
      body.parent = parents[0]!.id;
      body.relation = parents[0]!.relation;
    }
    if (parents.length > 1) body.parents = parents;
    if (job === options.rootJob) body.root = true;
    const o = internal.options;
    const record: JobRecord = {
      v: 1,
      id: internal.id!,
      jobName: job.jobName,
      displayName: job.displayName,
      version: 0,
      state: 'waiting',
      requirements: {
        cores: o.cores ?? defaults.cores,
        memory: o.memory ?? defaults.memory,
        disk: o.disk ?? defaults.disk,
        preemptible: o.preemptible ?? false,
        ...(o.runtime ? { runtime: o.runtime } : {}),
      },
      checkpoint: o.checkpoint,
      remainingTryCount: defaults.retryCount + 1,
      children: internal.children.map((c) => internalOf(c).id!),
      followOns: internal.followOns.map((c) => internalOf(c).id!),
      services: [],
      isService: false,
      predecessors: parents.map((p) => p.id),
      body,
    };
    return record;
  });
}

function isPlaceholder(value: unknown): value is PromisePlaceholder {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    PROMISE_KEY in value &&
    Object.keys(value).length === 1
  );
}

async function readPromise(store: JobStore, file: string, owner: string): Promise<unknown> {
  const content = await text(await store.readFileStream(file));
  if (content === '') {
    throw new ToilError(
      'WORKFLOW_INVALID',
      `Job '${owner}' uses a promised return value that is not resolved yet.`,
      {
        hint: 'Only pass rv() of a job to jobs that run after it (its successors or their successors).',
      },
    );
  }
  return (JSON.parse(content) as { value: unknown }).value;
}

/** The part of `value` that `path` names (undefined where a key is missing). */
export function valueAtPath(value: unknown, path: readonly PromisePathElement[]): unknown {
  let resolved = value;
  for (const key of path) {
    resolved =
      resolved === null || resolved === undefined
        ? undefined
        : (resolved as Record<string | number, unknown>)[key];
  }
  return resolved;
}

/** Replaces promise placeholders in stored JSON by the promised values. */
export async function resolvePromises(
  value: unknown,
  store: JobStore,
  owner: string,
): Promise<unknown> {
  if (isPlaceholder(value)) {
    const { file, path } = value[PROMISE_KEY];
    return valueAtPath(await readPromise(store, file, owner), path);
  }
  if (Array.isArray(value)) {
    return Promise.all(value.map((item) => resolvePromises(item, store, owner)));
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = await resolvePromises(item, store, owner);
    }
    return out;
  }
  return value;
}

/** Rebuilds a stored job in a worker: finds its class or function and restores its fields. */
export async function rebuildJob(
  record: JobRecord,
  names: TypeNames,
  store: JobStore,
): Promise<Job> {
  const body = record.body as JobBody;
  const found = names.lookup(body.type);
  if (typeof found !== 'function') {
    throw new ToilError(
      'JOB_CLASS_NOT_FOUND',
      `Job '${record.displayName}': ${body.kind === 'fn' ? 'function' : 'class'} ${body.type} was not found in the workflow module ${moduleAndDefinition(names, body.type)}.`,
      {
        hint: 'Export it from the workflow module, or register it with Job.register at top level.',
      },
    );
  }
  const options = {
    displayName: record.displayName,
    cores: record.requirements.cores,
    memory: record.requirements.memory,
    disk: record.requirements.disk,
    preemptible: record.requirements.preemptible,
    checkpoint: record.checkpoint,
    runtime: record.requirements.runtime,
  };
  if (body.kind === 'fn') {
    const args = (await resolvePromises(body.args ?? [], store, record.displayName)) as unknown[];
    const job = new FunctionJob(found as (...a: unknown[]) => unknown, args, {
      passJob: body.passJob ?? false,
    });
    Object.assign(internalOf(job), { options, id: record.id });
    return job;
  }
  const job = Object.create((found as { prototype: object }).prototype) as Job;
  attachInternal(job, options, record.id);
  const fields = (await resolvePromises(body.fields ?? {}, store, record.displayName)) as Record<
    string,
    unknown
  >;
  Object.assign(job, fields);
  return job;
}
