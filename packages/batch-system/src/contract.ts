import type { IoHost } from '@toil/core';
import type { OptionSpecs, OptionValues } from './options.js';

/**
 * What a job needs, as the job store records it (`@toil/jobstore`'s `Requirements`, repeated
 * here structurally so that a batch system needs no job store to compile).
 */
export interface JobRequirements {
  /** Cores (may be fractional). */
  cores: number;
  /** Memory in bytes. */
  memory: number;
  /** Disk in bytes. */
  disk: number;
  /** True when the job may run on a preemptible (spot) node. */
  preemptible: boolean;
  /** Wall-time limit in seconds, when the job declared one. */
  runtime?: number;
}

/**
 * A reference to the workflow's code that a node can resolve: the file the user ran and,
 * for TypeScript, the content address of the JavaScript it was compiled to. A node that
 * finds `compiled` loads it; one that does not (another file system layout) compiles `source`
 * itself into its own cache under the same hash.
 */
export interface WorkflowCode {
  /** Absolute path of the workflow file the user ran (`.ts` or `.js`). */
  source: string;
  /** Absolute path of the compiled JavaScript in the leader's cache (TypeScript only). */
  compiled?: string;
  /** Content address of the compiled code (hex sha256), when compiled. */
  hash?: string;
}

/**
 * What to run for one job attempt, free of the leader's command line: a batch system turns
 * it into its own command (see {@link workerArguments}) for its nodes, container or
 * freshly bootstrapped cloud machine.
 */
export interface JobInvocation {
  /** Job store locator (`file:PATH`, `aws:REGION:NAME`). */
  jobStore: string;
  /** Job id in the job store. */
  jobId: string;
  /** The workflow code the worker loads to find the job's class. */
  workflow: WorkflowCode;
}

/** What the leader hands a batch system for one job attempt. */
export interface IssuedJob {
  /** Job id in the job store (the same as `invocation.jobId`). */
  jobId: string;
  /** The stats/display name, for batch-system job names and messages. */
  name: string;
  requirements: JobRequirements;
  /** What to run. */
  invocation: JobInvocation;
  /** Environment additions for the worker. */
  env: Record<string, string>;
  /**
   * Opaque data from the engine for a batch system with the {@link LocalCapability} (the
   * engine's own single-machine system hands it to its warm workers). Others ignore it.
   */
  local?: unknown;
}

/**
 * Why an attempt failed, the same words from every batch system:
 * `job-error` (the job threw, or its process exited non-zero by itself), `killed` (by a
 * signal, a kill request or an administrator), `out-of-memory`, `timeout` (its time limit),
 * `lost-node` (its node or the batch system lost track of it).
 */
export type FailureKind = 'job-error' | 'killed' | 'out-of-memory' | 'timeout' | 'lost-node';

/** Every {@link FailureKind}, for validation and tests. */
export const FAILURE_KINDS: readonly FailureKind[] = [
  'job-error',
  'killed',
  'out-of-memory',
  'timeout',
  'lost-node',
];

/** How a job attempt ended, as the batch system saw it. */
export interface FinishedJob {
  batchId: string;
  jobId: string;
  /** 0 for success. Killed by a signal: 128 + signal number. */
  exitCode: number;
  /** Set exactly when `exitCode` is not 0. */
  failure?: FailureKind;
  /** Why it ended, in words, when the batch system knows (e.g. Slurm's state and files). */
  reason?: string;
  /** Wall seconds, when known. */
  wallTime?: number;
  /** CPU seconds (user + system) of the attempt's processes, when known. */
  cpuTime?: number;
  /** Peak resident memory of the attempt in bytes, when known. */
  peakMemory?: number;
  /**
   * Opaque data back to the engine: what the engine's own worker reported of the attempt, so
   * the leader need not read it back from the store (the single-machine system's workers send
   * it over IPC; Slurm's workers leave it in their result or success-marker file). A batch
   * system passes it on unchanged.
   */
  local?: unknown;
}

/**
 * The optional capability of a batch system that runs attempts on the leader's own machine.
 */
export interface LocalCapability {
  /**
   * True when {@link BatchSystem.issue} resolves without I/O and only queues the attempt,
   * starting it in a later macrotask: the leader then records all jobs issued in one pass as
   * `running` in a single commit; otherwise it commits each job's `running` record as soon
   * as `issue` resolves.
   */
  readonly startsAfterIssuing: boolean;
  /** Pids of local worker processes (recorded in the leader info for `toil kill`). */
  pids(): number[];
}

/** Jobs waiting in a batch system's queue with the same requirements. */
export interface ResourceDemand {
  /** Cores, memory and disk (bytes) each of these jobs asks for. */
  cores: number;
  memory: number;
  disk: number;
  preemptible: boolean;
  /** How many jobs wait with these requirements. */
  jobs: number;
}

/** One node as a batch system sees it. */
export interface NodeView {
  /** The batch system's name for the node (hostname, Slurm node name). */
  id: string;
  /**
   * Total cores, memory and disk (bytes) jobs may use there; `disk` 0 when the batch system
   * does not know it (nor limits it), `memory` Infinity when it does not limit it. The leader
   * fails (or, when the batch system {@link ScalingCapability.canGrow}, lets wait) a job that
   * fits no node.
   */
  cores: number;
  memory: number;
  disk: number;
  /** What is free now. */
  free: { cores: number; memory: number; disk: number };
  /** True when at least one job runs there. */
  busy: boolean;
  /**
   * The node's type (the cloud's instance type), when the batch system knows it; messages
   * about jobs too large for every node name it.
   */
  type?: string;
  /** The node's group (an elastic node group of a launched cluster: `group0`, …), when known. */
  group?: string;
  /**
   * What the node is doing, when the batch system knows more than {@link NodeView.busy}:
   * `powered-down` (a cloud node not started: room to grow), `booting`, `idle`, `busy`,
   * `draining`, `powering-down`, `down`.
   */
  state?: NodeActivity;
}

/** What a node is doing (see {@link NodeView.state}). */
export type NodeActivity =
  'powered-down' | 'booting' | 'idle' | 'busy' | 'draining' | 'powering-down' | 'down';

/** How many nodes of one type are in one state. */
export interface NodeGroupCount {
  type: string;
  state: NodeActivity;
  count: number;
}

/**
 * The optional capability an autoscaler reads: the queue's demand and the nodes.
 */
export interface ScalingCapability {
  /**
   * True when the batch system can get nodes larger than today's (a cluster that grows):
   * the leader then lets a job bigger than every current node wait instead of failing it.
   */
  readonly canGrow: boolean;
  /** Jobs issued and not yet started, grouped by requirements. */
  demand(): ResourceDemand[];
  /** The nodes jobs can run on, with their free resources. */
  nodes(): Promise<NodeView[]>;
}

/**
 * Runs job attempts somewhere. The leader issues jobs, polls for finished ones and kills what
 * is left on shutdown. Implementations: single machine (`@toil/workflow`), Slurm
 * (`@toil/batch-slurm`); every one passes `@toil/batch-system/testing`.
 */
export interface BatchSystem {
  /** Name shown in `toil stats` (`single_machine`, `slurm`). */
  readonly name: string;
  /** Starts an attempt; resolves to the batch-system id once it is accepted. */
  issue(job: IssuedJob): Promise<string>;
  /**
   * Resolves with attempts that finished since the last call (possibly none), waiting at most
   * `timeoutMs` for at least one.
   */
  poll(timeoutMs: number): Promise<FinishedJob[]>;
  /**
   * Kills attempts (and their whole process trees); resolves when they are gone. A killed
   * attempt leaves {@link BatchSystem.running}; if {@link BatchSystem.poll} reports it at
   * all, it is with a non-zero exit code and the failure `killed`.
   */
  kill(batchIds: string[]): Promise<void>;
  /**
   * Kills attempts issued by an earlier leader of the same workflow (ids this instance never
   * issued), called on `--restart` before anything is issued, with the `batchId`s of records
   * that were left `running`. Implement it when attempts can outlive their leader (Slurm:
   * `scancel` the ids; ids that already ended must not be an error). Called only when the
   * previous attempt used a batch system of the same name; a rejection is logged as a warning
   * and the restart goes on.
   */
  killStale?(batchIds: string[]): Promise<void>;
  /** Ids of attempts issued and not yet reported finished. */
  running(): string[];
  /**
   * Ids of the attempts among {@link BatchSystem.running} that have started (not only
   * queued in this batch system). Implement it when `issue` may only queue: a stopped run
   * reports these as killed. Without it every issued attempt counts as started.
   */
  started?(): string[];
  /** Kills everything still running and releases resources. */
  shutdown(): Promise<void>;
  /** Makes a pending {@link BatchSystem.poll} return at once (signals, kill flag). */
  interrupt?(): void;
  /**
   * The command this batch system starts the engine's workers with (before the worker
   * arguments), when it is not its context's `workerCommand` (a user's replacement, e.g.
   * Slurm's `--slurmWorkerCommand`). The engine fits what it adds to a worker's environment
   * ({@link IssuedJob.env}) to the Node arguments among its words: its workers' faster CA store
   * needs `--use-openssl-ca`, which Node refuses next to `--use-bundled-ca`.
   */
  readonly workerCommand?: readonly string[];
  /** Present when attempts run on the leader's own machine. */
  readonly local?: LocalCapability;
  /** Present when the batch system can tell an autoscaler its demand and nodes. */
  readonly scaling?: ScalingCapability;
}

/** What a batch system's `create` receives for a run. */
export interface BatchSystemContext<O = Record<string, unknown>> {
  host: IoHost;
  /** Job store locator the workers open. */
  jobStoreLocator: string;
  /** The workflow's id (e.g. for job names on a shared cluster). */
  workflowId: string;
  /** The workflow code workers load. */
  workflow: WorkflowCode;
  /** Upper bounds from `--maxCores` / `--maxMemory` / `--maxDisk` (null: unlimited). */
  maxCores: number | null;
  maxMemory: number | null;
  maxDisk: number | null;
  /** Base directory for workers' temporary directories. */
  workDir: string;
  /** This batch system's own options, parsed from its {@link BatchSystemPlugin.options}. */
  options: O;
  /**
   * How the leader's machine starts a worker (the Node binary and the engine's worker
   * entry): a default for batch systems whose nodes share the leader's layout, which append
   * {@link workerArguments}. Batch systems let users replace it (Slurm:
   * `--slurmWorkerCommand`).
   */
  workerCommand: readonly string[];
  /**
   * What this batch system's {@link BatchSystemPlugin.prestart} started for this run, to adopt
   * (or discard when it does not fit).
   */
  prestarted?: Prestarted;
}

/**
 * What a plugin may start before the job store exists ({@link BatchSystemPlugin.prestart}):
 * the run's context as far as it is known then, and the first job's requirements.
 */
export interface PrestartContext<O = Record<string, unknown>> {
  host: IoHost;
  /** The locator the store will have. */
  jobStoreLocator: string;
  workflowId: string;
  workflow: WorkflowCode;
  workDir: string;
  options: O;
  workerCommand: readonly string[];
  /**
   * Environment additions for the workers started early with `workerCommand` (what the engine
   * gives every worker in {@link IssuedJob.env}). Absent: none.
   */
  workerEnv?: Record<string, string>;
  /**
   * The environment additions for workers started early with another command than
   * `workerCommand` (a plugin's own option, such as Slurm's `--slurmWorkerCommand`): the
   * engine fits them to the Node arguments in it (see {@link BatchSystem.workerCommand}).
   * Absent: `workerEnv`.
   */
  workerEnvFor?(workerCommand: readonly string[]): Record<string, string>;
  /** The requirements of the workflow's first job. */
  requirements: JobRequirements;
}

/** Workers a plugin started early: adopted by its `create` or discarded. */
export interface Prestarted {
  /** Stops what was started (the store was not created, or the run ended before adopting it). */
  discard(): Promise<void>;
}

/**
 * A batch system as a plugin: its name, its own typed options (shown by `--help`, parsed
 * before anything is stored) and how to make it. A package `@toil/batch-NAME` exports one as
 * `batchSystem`; `--batchSystem NAME` finds it (see `resolveBatchSystem`).
 */
export interface BatchSystemPlugin<S extends OptionSpecs = OptionSpecs> {
  /** The `--batchSystem` value. */
  readonly name: string;
  /** Other accepted names (e.g. `singleMachine`). */
  readonly aliases?: readonly string[];
  /** One line for `--help`. */
  readonly describe: string;
  /** Its options, by flag name (without `--`). */
  readonly options: S;
  /** Makes the batch system for a run (checks that it is reachable). */
  create(context: BatchSystemContext<OptionValues<S>>): Promise<BatchSystem>;
  /**
   * Optional: starts workers for a new run before its job store exists, so that their start
   * overlaps the leader's (Slurm's warm workers); `create` then gets the result as
   * `context.prestarted`. Must not throw: undefined when there is nothing to start.
   */
  prestart?(context: PrestartContext<OptionValues<S>>): Prestarted | undefined;
}

/** Types a plugin's options from its specs: `export const batchSystem = defineBatchSystem({...})`. */
export function defineBatchSystem<S extends OptionSpecs>(
  plugin: BatchSystemPlugin<S>,
): BatchSystemPlugin<S> {
  return plugin;
}
