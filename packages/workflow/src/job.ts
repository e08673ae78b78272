import { ToilError, parseDuration, parseSize, type LogLevel } from '@toil/core';
import type { FileStore } from './file-store.js';
import { Runner } from './runner.js';

/** Resource and naming options of a job (Toil's `Job(memory, cores, disk, ...)`). */
export interface JobOptions {
  /** The name shown in `toil stats` and in logs; defaults to the class or function name. */
  displayName?: string;
  /** Cores the job needs (fractions allowed). Defaults to `--defaultCores`. */
  cores?: number | string;
  /** Memory as bytes or a human size (`'2G'`, `'512Mi'`). Defaults to `--defaultMemory`. */
  memory?: number | string;
  /** Local disk as bytes or a human size. Defaults to `--defaultDisk`. */
  disk?: number | string;
  /** May run on preemptible (spot) capacity. */
  preemptible?: boolean;
  /**
   * Makes the job a checkpoint: when a job in its subtree (the successors its `run` adds, and
   * theirs) fails for good, or the leader restarts with `--restart` before the subtree is done,
   * the subtree is discarded and the checkpoint runs again, at most `--retryCount` + 1 times in
   * all. Its successors must be added inside `run()`; files it deletes are deleted only once
   * its subtree completed.
   */
  checkpoint?: boolean;
  /** Wall-time limit, seconds or a duration (`'2h'`); batch systems such as Slurm use it. */
  runtime?: number | string;
}

/** Normalised {@link JobOptions}: sizes in bytes, unset values undefined. */
export interface ResolvedJobOptions {
  displayName?: string;
  cores?: number;
  memory?: number;
  disk?: number;
  preemptible?: boolean;
  checkpoint: boolean;
  runtime?: number;
}

/** One element of an `rv()` path: an object key or an array index. */
export type PromisePathElement = string | number;

const PROMISE_BRAND = Symbol.for('@toil/workflow/PromisedValue');
const JOB_INTERNAL = Symbol.for('@toil/workflow/Job.internal');

/**
 * A placeholder for a job's return value (Toil's `Promise`), made by {@link Job.rv}. Pass it in
 * the arguments or fields of a job that runs after the promising job; the worker replaces it
 * with the value (or the part of it named by `path`) before that job runs.
 */
export class PromisedValue<T = unknown> {
  /** The job whose return value this is. */
  readonly job: Job;
  /** Keys / indexes into the return value. */
  readonly path: readonly PromisePathElement[];
  /** Never set: carries the promised type for TypeScript. */
  declare readonly __type?: T;

  constructor(job: Job, path: readonly PromisePathElement[]) {
    this.job = job;
    this.path = path;
    Object.defineProperty(this, PROMISE_BRAND, { value: true });
  }

  /** True for any PromisedValue, also from another copy of this package. */
  static is(value: unknown): value is PromisedValue {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[PROMISE_BRAND] === true
    );
  }
}

/** A value, or a promise of it from an earlier job. */
export type Promised<T> = T | PromisedValue<T>;

/** Engine state of a job object; not part of the stored fields. */
export interface JobInternal {
  options: ResolvedJobOptions;
  children: Job[];
  followOns: Job[];
  /** Predecessors in this graph (several for the join of a diamond). */
  parents: Job[];
  /** Store id once the job is stored (set by the leader or by the worker running it). */
  id: string | undefined;
  /** Set while the job runs in a worker. */
  fileStore: FileStore | undefined;
}

/** The engine state of `job`. @internal */
export function internalOf(job: Job): JobInternal {
  return (job as unknown as Record<symbol, JobInternal>)[JOB_INTERNAL]!;
}

/** True for any Job, also from another copy of this package. */
export function isJob(value: unknown): value is Job {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[JOB_INTERNAL] !== undefined
  );
}

/** Turns user options into bytes / numbers, naming the bad option in errors. */
export function resolveJobOptions(options: JobOptions, what: string): ResolvedJobOptions {
  const cores =
    options.cores === undefined
      ? undefined
      : typeof options.cores === 'number'
        ? options.cores
        : Number(options.cores);
  if (cores !== undefined && !(Number.isFinite(cores) && cores > 0)) {
    throw new ToilError('INVALID_ARGUMENT', `Invalid cores '${options.cores}' for ${what}.`, {
      hint: 'Give a positive number of cores, e.g. 1 or 0.5.',
    });
  }
  return {
    displayName: options.displayName || undefined,
    cores,
    memory:
      options.memory === undefined ? undefined : parseSize(options.memory, `memory of ${what}`),
    disk: options.disk === undefined ? undefined : parseSize(options.disk, `disk of ${what}`),
    preemptible: options.preemptible,
    checkpoint: options.checkpoint ?? false,
    runtime:
      options.runtime === undefined
        ? undefined
        : parseDuration(options.runtime, `runtime of ${what}`),
  };
}

/** Attaches fresh engine state to a job object (also used when a worker rebuilds a job). */
export function attachInternal(job: object, options: ResolvedJobOptions, id?: string): void {
  const internal: JobInternal = {
    options,
    children: [],
    followOns: [],
    parents: [],
    id,
    fileStore: undefined,
  };
  Object.defineProperty(job, JOB_INTERNAL, { value: internal, enumerable: false, writable: false });
}

/** Any function a function job can wrap. */
export type JobFunction = (...args: any[]) => unknown;

/**
 * A unit of work (Toil's `Job`). Subclass it and implement {@link Job.run}; the instance's own
 * enumerable fields are stored as JSON and restored in the worker that runs it (the constructor
 * is not called again there), so keep them plain data: strings, numbers, booleans, null,
 * arrays, plain objects, and {@link Job.rv} promises. The class must be exported from the
 * workflow module (or registered with {@link Job.register}) so workers can find it.
 *
 * ```ts
 * export class DiscoverFiles extends Job {
 *   constructor(public path: string, options?: JobOptions) { super(options); }
 *   override run() { execFileSync('ls', [this.path], { stdio: 'inherit' }); }
 * }
 * ```
 */
export class Job {
  /** Helpers for workflow programs: parse options (`getDefaultOptions`), run `main`. */
  static Runner = Runner;

  constructor(options: JobOptions = {}) {
    attachInternal(this, resolveJobOptions(options, `job ${new.target.name}`));
  }

  /**
   * The job's work. Runs in a worker process; its return value (JSON-storable) is what
   * {@link Job.rv} promises. Successors added here run after it. The base class does nothing.
   */
  run(_fileStore: FileStore): unknown {
    return undefined;
  }

  /** The class (or function) name: Toil's `jobName`. */
  get jobName(): string {
    return this.constructor.name || 'Job';
  }

  /** The name shown in `toil stats`: the `displayName` option, else {@link Job.jobName}. */
  get displayName(): string {
    return internalOf(this).options.displayName ?? this.jobName;
  }

  /** The file store, while the job runs in a worker. */
  get fileStore(): FileStore {
    const fileStore = internalOf(this).fileStore;
    if (!fileStore) {
      throw new ToilError('WORKFLOW_INVALID', `Job '${this.displayName}' is not running.`, {
        hint: 'The file store is only available inside run().',
      });
    }
    return fileStore;
  }

  /**
   * Sends `text` to the leader's log while the job runs (Toil's `Job.log`): the same as
   * `this.fileStore.logToLeader(text, level)`.
   *
   * @throws ToilError `WORKFLOW_INVALID` outside `run()`.
   */
  log(text: string, level: LogLevel = 'info'): void {
    this.fileStore.logToLeader(text, level);
  }

  /** The job's id in the job store, once stored. */
  get jobStoreId(): string | undefined {
    return internalOf(this).id;
  }

  /** Adds a job that runs after this one; returns it. */
  addChild<J extends Job>(job: J): J {
    this.attach(job, 'child');
    internalOf(this).children.push(job);
    return job;
  }

  /** Adds a job that runs after this one and all its descendants; returns it. */
  addFollowOn<J extends Job>(job: J): J {
    this.attach(job, 'follow-on');
    internalOf(this).followOns.push(job);
    return job;
  }

  /** Wraps `fn(...args)` as a child job; returns it. */
  addChildFn<F extends JobFunction>(fn: F, ...args: PromisedArgs<Parameters<F>>): FunctionJob {
    return this.addChild(Job.wrapFn(fn, ...args));
  }

  /** Wraps `fn(...args)` as a follow-on job; returns it. */
  addFollowOnFn<F extends JobFunction>(fn: F, ...args: PromisedArgs<Parameters<F>>): FunctionJob {
    return this.addFollowOn(Job.wrapFn(fn, ...args));
  }

  /** Wraps `fn(job, ...args)` as a child job; returns it. */
  addChildJobFn<A extends unknown[]>(
    fn: (job: FunctionJob, ...args: A) => unknown,
    ...args: PromisedArgs<A>
  ): FunctionJob {
    return this.addChild(Job.wrapJobFn(fn, ...args));
  }

  /** Wraps `fn(job, ...args)` as a follow-on job; returns it. */
  addFollowOnJobFn<A extends unknown[]>(
    fn: (job: FunctionJob, ...args: A) => unknown,
    ...args: PromisedArgs<A>
  ): FunctionJob {
    return this.addFollowOn(Job.wrapJobFn(fn, ...args));
  }

  /** {@link Job.addChildFn} with job options (Python's `addChildFn(fn, *args, memory=...)`). */
  addChildFnWith<F extends JobFunction>(
    options: JobOptions,
    fn: F,
    ...args: PromisedArgs<Parameters<F>>
  ): FunctionJob {
    return this.addChild(Job.wrapFnWith(options, fn, ...args));
  }

  /** {@link Job.addFollowOnFn} with job options. */
  addFollowOnFnWith<F extends JobFunction>(
    options: JobOptions,
    fn: F,
    ...args: PromisedArgs<Parameters<F>>
  ): FunctionJob {
    return this.addFollowOn(Job.wrapFnWith(options, fn, ...args));
  }

  /**
   * {@link Job.addChildJobFn} with job options (Python's
   * `addChildJobFn(fn, *args, memory=..., cores=..., checkpoint=...)`).
   */
  addChildJobFnWith<A extends unknown[]>(
    options: JobOptions,
    fn: (job: FunctionJob, ...args: A) => unknown,
    ...args: PromisedArgs<A>
  ): FunctionJob {
    return this.addChild(Job.wrapJobFnWith(options, fn, ...args));
  }

  /** {@link Job.addFollowOnJobFn} with job options. */
  addFollowOnJobFnWith<A extends unknown[]>(
    options: JobOptions,
    fn: (job: FunctionJob, ...args: A) => unknown,
    ...args: PromisedArgs<A>
  ): FunctionJob {
    return this.addFollowOn(Job.wrapJobFnWith(options, fn, ...args));
  }

  /**
   * A promise of this job's return value (or of `value[path[0]][path[1]]...`), to pass to jobs
   * that run after it. Typed as the value itself so it fits the receiving parameter.
   */
  rv<T = any>(...path: PromisePathElement[]): T {
    return new PromisedValue<T>(this, path) as unknown as T;
  }

  /** Wraps `fn(...args)` as a job; the stats name is the function's name. */
  static wrapFn<F extends JobFunction>(fn: F, ...args: PromisedArgs<Parameters<F>>): FunctionJob {
    return new FunctionJob(fn, args, { passJob: false });
  }

  /** Wraps `fn(...args)` as a job with resource/name options. */
  static wrapFnWith<F extends JobFunction>(
    options: JobOptions,
    fn: F,
    ...args: PromisedArgs<Parameters<F>>
  ): FunctionJob {
    return new FunctionJob(fn, args, { passJob: false, ...options });
  }

  /** Wraps `fn(job, ...args)` as a job: `job` gives the file store and lets `fn` add successors. */
  static wrapJobFn<A extends unknown[]>(
    fn: (job: FunctionJob, ...args: A) => unknown,
    ...args: PromisedArgs<A>
  ): FunctionJob {
    return new FunctionJob(fn as JobFunction, args, { passJob: true });
  }

  /** {@link Job.wrapJobFn} with job options (Python's `wrapJobFn(fn, *args, memory=...)`). */
  static wrapJobFnWith<A extends unknown[]>(
    options: JobOptions,
    fn: (job: FunctionJob, ...args: A) => unknown,
    ...args: PromisedArgs<A>
  ): FunctionJob {
    return new FunctionJob(fn as JobFunction, args, { passJob: true, ...options });
  }

  /**
   * Registers job classes and job functions under a name (default: their own name), for
   * workflows that do not export them from the workflow module. Call it at module top level so
   * that workers, which import the module, register them too.
   */
  static register(...items: Array<JobFunction | (abstract new (...args: any[]) => Job)>): void {
    for (const item of items) registerJobType(item.name, item);
  }

  private attach(job: Job, relation: string): void {
    if (!isJob(job)) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `add${relation === 'child' ? 'Child' : 'FollowOn'} of job '${this.displayName}' was given something that is not a Job.`,
        { hint: 'Pass a Job instance (e.g. new MyJob(...) or Job.wrapFn(fn, ...args)).' },
      );
    }
    const target = internalOf(job);
    if (target.id !== undefined || target.parents.includes(this)) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        `Job '${job.displayName}' already has a predecessor; it cannot also be a ${relation} of '${this.displayName}'.`,
        {
          hint:
            target.id !== undefined
              ? 'A job that is already stored (the running job, or one of an earlier graph) cannot get another predecessor: add a new job instead.'
              : `A job is a successor of '${this.displayName}' only once.`,
        },
      );
    }
    // Made only when thrown: an error captures a stack, and jobs add successors in hot loops.
    const cycle = () =>
      new ToilError(
        'WORKFLOW_INVALID',
        `Adding job '${job.displayName}' as a ${relation} of '${this.displayName}' would make a cycle.`,
        { hint: 'A job cannot run after itself.' },
      );
    if (job === (this as Job)) throw cycle();
    const ancestors = [...internalOf(this).parents];
    const seen = new Set<Job>();
    while (ancestors.length > 0) {
      const ancestor = ancestors.pop()!;
      if (ancestor === job) throw cycle();
      if (seen.has(ancestor)) continue;
      seen.add(ancestor);
      ancestors.push(...internalOf(ancestor).parents);
    }
    target.parents.push(this);
  }
}

/** Arguments where each value may also be a promise of it. */
export type PromisedArgs<A extends unknown[]> = { [K in keyof A]: Promised<A[K]> };

/**
 * A job that calls a function (Toil's `FunctionWrappingJob` / `JobFunctionWrappingJob`). The
 * function must be exported from the workflow module or registered with {@link Job.register}.
 */
export class FunctionJob extends Job {
  /** The wrapped function (not stored: found again by name in the worker). */
  declare readonly fn: JobFunction;
  /** The arguments (stored as JSON). */
  declare readonly args: unknown[];
  /** True for `wrapJobFn`: the function gets this job as its first argument. */
  declare readonly passJob: boolean;

  constructor(fn: JobFunction, args: unknown[], options: JobOptions & { passJob: boolean }) {
    if (typeof fn !== 'function') {
      throw new ToilError('WORKFLOW_INVALID', 'Job.wrapFn needs a function.', {
        hint: 'Pass an exported function: Job.wrapFn(myFunction, arg1, arg2).',
      });
    }
    const { passJob, ...jobOptions } = options;
    super(jobOptions);
    checkNoTrailingOptions(fn, args, passJob);
    // Not own enumerable fields: the stored form of a function job is its name and arguments.
    Object.defineProperty(this, 'fn', { value: fn, enumerable: false });
    Object.defineProperty(this, 'args', { value: args, enumerable: false, writable: true });
    Object.defineProperty(this, 'passJob', { value: passJob, enumerable: false });
  }

  override get jobName(): string {
    return this.fn.name || 'anonymous';
  }

  override run(_fileStore: FileStore): unknown {
    return this.passJob ? this.fn(this, ...this.args) : this.fn(...this.args);
  }
}

const JOB_OPTION_KEYS: ReadonlySet<string> = new Set<keyof JobOptions>([
  'displayName',
  'cores',
  'memory',
  'disk',
  'preemptible',
  'checkpoint',
  'runtime',
]);

/**
 * Python passes job options as keywords after the arguments; here an extra trailing object of
 * job options would silently become an argument the function never reads. Refuse it.
 */
function checkNoTrailingOptions(fn: JobFunction, args: unknown[], passJob: boolean): void {
  const last = args.at(-1);
  const arity = fn.length - (passJob ? 1 : 0);
  if (
    args.length <= arity ||
    typeof last !== 'object' ||
    last === null ||
    Object.getPrototypeOf(last) !== Object.prototype ||
    Object.keys(last).length === 0 ||
    !Object.keys(last).every((key) => JOB_OPTION_KEYS.has(key))
  ) {
    return;
  }
  const name = fn.name || 'the function';
  const variant = passJob ? 'JobFn' : 'Fn';
  throw new ToilError(
    'WORKFLOW_INVALID',
    `The last argument for ${name} looks like job options (${Object.keys(last).join(', ')}), but ${name} takes ${arity} argument(s), so it would be passed as an argument.`,
    {
      hint: `Give job options first: addChild${variant}With(options, ${name}, ...args), addFollowOn${variant}With(...) or Job.wrap${variant}With(options, ${name}, ...args).`,
    },
  );
}

const REGISTRY_KEY = Symbol.for('@toil/workflow/registry');

/** The process-wide registry of job classes and functions by name. @internal */
export function jobTypeRegistry(): Map<string, unknown> {
  const global = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
  return (global[REGISTRY_KEY] ??= new Map());
}

function registerJobType(name: string, value: unknown): void {
  if (!name) {
    throw new ToilError('WORKFLOW_INVALID', 'Job.register needs named classes or functions.', {
      hint: 'Give the class or function a name.',
    });
  }
  jobTypeRegistry().set(name, value);
}
