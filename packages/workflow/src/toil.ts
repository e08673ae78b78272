import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ToilError, isRecordedProcessAlive, localNodeId, report, type IoHost } from '@toil/core';
import {
  epochSecondsNow,
  openJobStore,
  type FileId,
  type JobRecord,
  type JobStore,
  type WorkflowConfig,
} from '@toil/jobstore';
import type {
  BatchSystem,
  BatchSystemContext,
  BatchSystemPlugin,
  PrestartContext,
  Prestarted,
  WorkflowCode,
} from '@toil/batch-system';
import {
  DeferredHost,
  discardBatchPrestartOffer,
  offerBatchPrestart,
  takeBatchPrestartOffer,
} from './batch-prestart-offer.js';
import { findBatchSystem } from './batch-registry.js';
import { COMPILED_ENV, compileWorkflow, storeWorkflowCode } from './compile.js';
import { ConsoleHost } from './console-host.js';
import { internalOf, type Job } from './job.js';
import type { Leader, LeaderLimits } from './leader.js';
import { parseToilOptions, type ToilOptions } from './options.js';
import { checkScalingOptions } from './scaling.js';
import { newWorkflowId } from './workflow-id.js';
import { jobDefaultsOf, materializePlan, planJobs, typeNamesFrom } from './serialize.js';
import { SingleMachineBatchSystem, singleMachineSettings } from './single-machine.js';
import { singleMachine } from './single-machine-plugin.js';
import { markWorkflowStarted } from './started-marker.js';
import { PACKAGE_CODE_DIR } from './here.js';
import {
  prestartPoolWorker,
  singleMachineRunDir,
  takePoolWorkerOffer,
} from './pool-worker-offer.js';
import { moduleOf, workerCommand } from './worker-command.js';
import { workerCaEnvironment } from './extra-ca.js';
import type { WorkerProcess } from './worker-process.js';

const SOURCE = 'toil';

declare const __TOIL_PACKAGE_VERSION__: string | undefined;

/**
 * This package's version (from its package.json at build time; `0.0.0-dev` when run from
 * source), recorded in the job store's config and logged when a run starts.
 */
export const WORKFLOW_VERSION: string =
  typeof __TOIL_PACKAGE_VERSION__ === 'string' ? __TOIL_PACKAGE_VERSION__ : '0.0.0-dev';

/** Options of the {@link Toil} constructor besides the workflow options. */
export interface ToilContextOptions {
  /** Where events go. Default: a {@link ConsoleHost} at `options.logLevel` (stderr). */
  host?: IoHost;
}

function toUrlPath(urlOrPath: string): string {
  if (urlOrPath.startsWith('file:')) return fileURLToPath(urlOrPath);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(urlOrPath)) {
    throw new ToilError('INVALID_ARGUMENT', `Unsupported URL '${urlOrPath}'.`, {
      hint: 'toil-ts imports and exports file:// URLs and local paths.',
    });
  }
  return urlOrPath;
}

/**
 * Checks what the command line parser cannot: the batch system exists (its package is
 * installed) and the work directory can hold directories. Runs before a store is created or
 * its config rewritten, so a bad option leaves nothing behind.
 */
async function checkRunOptions(config: WorkflowConfig): Promise<void> {
  findBatchSystem(config.batchSystem, config.workflowModule);
  const workDir = config.workDir;
  if (workDir === undefined) return;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(workDir).isDirectory();
  } catch {
    // A missing work directory is made on first use.
    return;
  }
  if (!isDirectory) {
    throw new ToilError(
      'INVALID_ARGUMENT',
      `Invalid --workDir '${workDir}': it is not a directory.`,
      {
        hint: "Give a directory (or a path to create) for the workers' temporary directories.",
      },
    );
  }
}

/**
 * What a batch system's `prestart` gets for a new run with `options` (the rest of its
 * {@link PrestartContext} given).
 */
function prestartContext(
  options: ToilOptions,
  context: Omit<
    PrestartContext,
    'workDir' | 'options' | 'workerCommand' | 'workerEnv' | 'workerEnvFor'
  >,
): PrestartContext {
  return {
    ...context,
    workDir: options.workDir ?? tmpdir(),
    options: options.batchSystemOptions ?? {},
    workerCommand: workerCommand(),
    workerEnv: workerCaEnvironment(),
    workerEnvFor: (command) => workerCaEnvironment(command),
  };
}

/** What must be equal for a run to adopt workers started for `context` (all but the host and id). */
function prestartKey(plugin: BatchSystemPlugin, context: PrestartContext): string {
  const { host: _host, workflowId: _id, workflow, ...rest } = context;
  const { source, compiled, hash } = workflow;
  return JSON.stringify({ plugin: plugin.name, ...rest, workflow: { source, compiled, hash } });
}

/**
 * What `toil run` does for a new run on a batch system whose plugin starts workers ahead
 * (Slurm's warm workers) as soon as it knows the compiled workflow, before the workflow module
 * loads: parses the program's arguments `args` as the workflow will (anything unusual, such
 * as options of the workflow's own, starts nothing) and lets the plugin start its workers
 * for a first job of the default requirements. The `Toil` of the run adopts them when its
 * prestart would be the same; otherwise, or when no workflow starts, they are discarded
 * (`discardBatchPrestartOffer`). Never throws. @internal
 */
export async function prestartBatchSystemEarly(
  args: string[],
  workflow: WorkflowCode,
): Promise<void> {
  try {
    const options = parseToilOptions(args);
    if (options.restart || options.scaling) return;
    const plugin = findBatchSystem(options.batchSystem, workflow.source);
    if (!plugin.prestart || plugin === singleMachine) return;
    const host = new DeferredHost();
    const { locator } = await openJobStore(options.jobStore, { host });
    const context = prestartContext(options, {
      host,
      jobStoreLocator: locator,
      workflowId: newWorkflowId(),
      workflow,
      requirements: {
        cores: options.defaultCores,
        memory: options.defaultMemory,
        disk: options.defaultDisk,
        preemptible: false,
      },
    });
    const prestarted = plugin.prestart(context as Parameters<typeof plugin.prestart>[0]);
    if (!prestarted) return;
    offerBatchPrestart({
      plugin,
      key: prestartKey(plugin, context),
      workflowId: context.workflowId,
      prestarted,
      host,
    });
  } catch {
    // The run reports what is wrong.
  }
}

/**
 * A workflow run (Toil's `Toil` context manager). Create it with options from
 * `Job.Runner.getDefaultOptions()`, then `start(rootJob)` (or `restart()` with `--restart`),
 * and dispose of it (`await using toil = new Toil(options)`, or `await toil.close()`) to
 * apply the `--clean` policy.
 */
export class Toil implements AsyncDisposable {
  /** The run's options (after `--stats` forced `--clean never`). */
  readonly options: ToilOptions;
  private readonly host: IoHost;
  private store: JobStore | undefined;
  private config: WorkflowConfig | undefined;
  private failure: ToilError | undefined;
  private started = false;
  /**
   * True once this context owns the store's fate: it created the store, or its `restart()`
   * found a workflow to resume. Only then does `close()` apply the clean policy, so a refused
   * restart (the workflow still runs, never started) never deletes anyone's store.
   */
  private cleanable = false;
  private closed = false;
  private code: Promise<WorkflowCode> | undefined;
  /** The id of the workflow `start()` creates, chosen before the store exists (see prestart). */
  private newWorkflowId: string | undefined;
  /** What the batch system's plugin started before the store existed, for it to adopt. */
  private prestartedBatch: Prestarted | undefined;

  constructor(options: ToilOptions, context: ToilContextOptions = {}) {
    markWorkflowStarted();
    this.host =
      context.host ?? new ConsoleHost({ level: options.logLevel, logFile: options.logFile });
    this.options = { ...options };
    if (this.options.stats && this.options.clean !== 'never') {
      report(
        this.host,
        'warning',
        'WORKFLOW_CLEAN_OVERRIDDEN',
        `Contradicting options passed: Clean flag is set to ${this.options.clean} despite the stats flag requiring the jobStore to be intact at the end of the run. Setting clean to 'never'.`,
        undefined,
        SOURCE,
      );
      this.options.clean = 'never';
    }
  }

  /** The job store's normalised locator, once opened. */
  get jobStoreLocator(): string | undefined {
    return this.store?.locator;
  }

  private workflowModule(): string {
    const module = this.options.workflowModule;
    if (!module) {
      throw new ToilError('WORKFLOW_INVALID', 'Cannot tell which module defines the workflow.', {
        hint: 'Run the workflow file as a program (node wf.js ... / toil run wf.ts ...) or set options.workflowModule.',
      });
    }
    return module;
  }

  /**
   * The user's workflow file: the module this process loaded, or, when `toil run` started
   * it from compiled JavaScript, the file that was compiled.
   */
  private workflowSource(): string {
    const module = this.workflowModule();
    const compiled = process.env[COMPILED_ENV.compiled];
    const source = process.env[COMPILED_ENV.source];
    return compiled && source && compiled === module ? source : module;
  }

  /** What workers load: the compiled JavaScript of a TypeScript workflow (compiled once). */
  private async workflowCode(source: string): Promise<WorkflowCode> {
    const module = this.options.workflowModule;
    const compiled = process.env[COMPILED_ENV.compiled];
    const hash = process.env[COMPILED_ENV.hash];
    if (compiled && hash && compiled === module && source === process.env[COMPILED_ENV.source]) {
      return { source, compiled, hash };
    }
    this.code ??= compileWorkflow(source);
    return this.code;
  }

  private newConfig(): WorkflowConfig {
    const o = this.options;
    return {
      format: 1,
      workflowId: (this.newWorkflowId ??= newWorkflowId()),
      attempt: 0,
      createdAt: epochSecondsNow(),
      toilVersion: WORKFLOW_VERSION,
      workflowModule: this.workflowSource(),
      batchSystem: o.batchSystem,
      defaultCores: o.defaultCores,
      defaultMemory: o.defaultMemory,
      defaultDisk: o.defaultDisk,
      maxCores: o.maxCores,
      maxMemory: o.maxMemory,
      maxDisk: o.maxDisk,
      retryCount: o.retryCount,
      ...(o.disableChaining ? { disableChaining: true } : {}),
      stats: o.stats,
      clean: o.clean,
      cleanWorkDir: o.cleanWorkDir,
      ...(o.workDir ? { workDir: o.workDir } : {}),
      batchSystemOptions: o.batchSystemOptions,
    };
  }

  /** Creates the store for a new workflow (once). */
  private async openNew(): Promise<JobStore> {
    if (this.store) return this.store;
    if (this.options.restart) {
      throw new ToilError(
        'WORKFLOW_INVALID',
        'A Toil workflow can only be started once. Use Toil.restart() to resume it.',
        {
          hint: 'With --restart, call toil.restart() instead of toil.start().',
        },
      );
    }
    const config = this.newConfig();
    await checkRunOptions(config);
    const store = await openJobStore(this.options.jobStore, { host: this.host });
    try {
      await store.create(config);
    } catch (error) {
      if (ToilError.is(error) && error.code === 'JOBSTORE_EXISTS') {
        throw new ToilError('JOBSTORE_EXISTS', `The job store ${store.locator} already exists.`, {
          hint: `Resume the workflow with --restart, or delete the store with "toil clean ${store.locator}".`,
          cause: error,
        });
      }
      throw error;
    }
    this.store = store;
    this.config = config;
    this.cleanable = true;
    return store;
  }

  /**
   * Runs a new workflow from `root` and resolves to the root job's return value. Checks the
   * whole graph first: a job class or function workers could not find
   * (`JOB_CLASS_NOT_FOUND`) or a field JSON cannot hold (`JOB_NOT_SERIALIZABLE`) is an error
   * naming the job before anything is stored.
   */
  async start(root: Job): Promise<unknown> {
    return this.track(async () => {
      if (this.started) {
        throw new ToilError('WORKFLOW_INVALID', 'This Toil context was already started.', {
          hint: 'Make a new Toil for another workflow.',
        });
      }
      this.started = true;
      if (this.options.restart) {
        throw new ToilError(
          'WORKFLOW_INVALID',
          'A Toil workflow can only be started once. Use Toil.restart() to resume it.',
          {
            hint: 'With --restart, call toil.restart() instead of toil.start().',
          },
        );
      }
      const module = this.workflowModule();
      const namespace = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
      const names = typeNamesFrom(namespace, module);
      const plan = planJobs([root], names);
      await checkScalingOptions(this.options, this.host);
      const prestart = await this.prestartWorker();
      this.prestartedBatch = prestart ? undefined : await this.prestartBatchSystem(root);
      let leader: { leader: Leader; batchSystem: BatchSystem };
      let records: JobRecord[];
      try {
        const store = await this.openNew();
        const config = this.config!;
        records = await materializePlan(plan, store, jobDefaultsOf(config), {
          rootJob: root,
        });
        report(
          this.host,
          'info',
          'WORKFLOW_GRAPH_SAVED',
          `Saving graph of ${records.length} jobs, ${records.length} new`,
          undefined,
          'toil.job',
        );
        await store.commit(records.map((record) => ({ op: 'put' as const, record })));
        const rootId = internalOf(root).id!;
        await store.setRootJobId(rootId);
        leader = await this.makeLeader(store, config, rootId, 0, undefined, prestart?.worker);
      } catch (error) {
        await prestart?.discard();
        await this.prestartedBatch?.discard();
        this.prestartedBatch = undefined;
        throw error;
      }
      leader.leader.seed(records);
      await this.runLeader(leader);
      return this.store!.getRootReturnValue();
    });
  }

  /**
   * With the single-machine batch system, starts the first pool worker before the store
   * exists, so that its start-up (Node, the engine, the workflow module)
   * overlaps the leader's creating the store and storing the first jobs; the batch system
   * adopts it. Undefined for other batch systems, or when it cannot start (the normal path
   * then reports what is wrong).
   */
  private async prestartWorker(): Promise<
    { worker: WorkerProcess; discard(): Promise<void> } | undefined
  > {
    // `toil run` may have started the worker already, before this module was even loaded.
    const offer = takePoolWorkerOffer();
    const source = this.workflowSource();
    let plugin;
    try {
      plugin = findBatchSystem(this.options.batchSystem, source);
    } catch {
      offer?.discard();
      return undefined;
    }
    const workDir = this.options.workDir ?? tmpdir();
    if (
      offer &&
      offer.codeDir === PACKAGE_CODE_DIR &&
      plugin === singleMachine &&
      this.config === undefined &&
      this.newWorkflowId === undefined &&
      offer.jobStore === this.options.jobStore &&
      offer.workDir === workDir &&
      offer.workflowModule === moduleOf(await this.workflowCode(source))
    ) {
      this.newWorkflowId = offer.workflowId;
      const worker = offer.adopt();
      return {
        worker,
        async discard() {
          await worker.stop(0);
          offer.discard();
        },
      };
    }
    offer?.discard();
    if (plugin !== singleMachine) return undefined;
    // A bad --workDir is reported by the normal path; nothing is made in it before.
    if (!statSync(workDir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
    const workflowId = this.config?.workflowId ?? (this.newWorkflowId ??= newWorkflowId());
    const base = join(workDir, `toil-${workflowId}`);
    const made = !existsSync(base);
    try {
      // Opening touches nothing: it only gives the locator as the store will write it.
      const { locator } = await openJobStore(this.options.jobStore, { host: this.host });
      const worker = prestartPoolWorker({
        jobStoreLocator: locator,
        workflowModule: moduleOf(await this.workflowCode(source)),
        runDir: singleMachineRunDir(workDir, workflowId, 0),
      });
      return {
        worker,
        async discard() {
          await worker.stop(0);
          if (made) rmSync(base, { recursive: true, force: true });
        },
      };
    } catch {
      if (made) rmSync(base, { recursive: true, force: true });
      return undefined;
    }
  }

  /**
   * Lets a batch system's plugin start workers before the store exists (its `prestart`, e.g.
   * Slurm's warm workers), for the root job's requirements, so that their start overlaps the
   * leader's creating the store; its `create` adopts them. Undefined when the plugin has no
   * prestart or the run's batch system is not known yet.
   */
  private async prestartBatchSystem(root: Job): Promise<Prestarted | undefined> {
    // `toil run` may have started them already, before this module was even loaded.
    const offer = takeBatchPrestartOffer();
    const source = this.workflowSource();
    try {
      const plugin = findBatchSystem(this.options.batchSystem, source);
      if (!plugin.prestart || this.config !== undefined) {
        await offer?.prestarted.discard();
        return undefined;
      }
      const o = internalOf(root).options;
      const { locator } = await openJobStore(this.options.jobStore, { host: this.host });
      const context = prestartContext(this.options, {
        host: this.host,
        jobStoreLocator: locator,
        workflowId: this.newWorkflowId ?? newWorkflowId(),
        workflow: await this.workflowCode(source),
        requirements: {
          cores: o.cores ?? this.options.defaultCores,
          memory: o.memory ?? this.options.defaultMemory,
          disk: o.disk ?? this.options.defaultDisk,
          preemptible: o.preemptible ?? false,
          ...(o.runtime ? { runtime: o.runtime } : {}),
        },
      });
      if (
        offer?.plugin === plugin &&
        this.newWorkflowId === undefined &&
        offer.key === prestartKey(plugin, context)
      ) {
        this.newWorkflowId = offer.workflowId;
        offer.host.attach(this.host);
        return offer.prestarted;
      }
      await offer?.prestarted.discard();
      this.newWorkflowId = context.workflowId;
      return plugin.prestart(context as Parameters<typeof plugin.prestart>[0]);
    } catch {
      await offer?.prestarted.discard().catch(() => undefined);
      return undefined;
    }
  }

  /**
   * Resumes the workflow in the store (`--restart`): options given again override the stored
   * ones; jobs whose completion was recorded do not run again. Resolves to the root job's
   * return value (at once when the workflow had already completed).
   */
  async restart(): Promise<unknown> {
    return this.track(async () => {
      if (!this.options.restart) {
        throw new ToilError(
          'WORKFLOW_INVALID',
          'A Toil workflow must be initiated with Toil.start(), not restart().',
          {
            hint: 'Pass --restart to resume a workflow.',
          },
        );
      }
      await checkScalingOptions(this.options, this.host);
      await discardBatchPrestartOffer();
      const store = await openJobStore(this.options.jobStore, { host: this.host });
      let stored: WorkflowConfig;
      try {
        stored = await store.resume();
      } catch (error) {
        if (ToilError.is(error) && error.code === 'JOBSTORE_NOT_FOUND') {
          throw new ToilError(
            'JOBSTORE_NOT_FOUND',
            `The job store ${store.locator} does not exist, so there is nothing to restart.`,
            {
              hint: 'Start the workflow without --restart.',
              cause: error,
            },
          );
        }
        throw error;
      }
      this.store = store;
      const leaderInfo = await store.getLeader();
      const outcome = await store.getOutcome();
      if (
        leaderInfo &&
        !outcome &&
        leaderInfo.pid !== process.pid &&
        leaderInfo.nodeId === localNodeId() &&
        isRecordedProcessAlive(leaderInfo.pid, leaderInfo.startedAt * 1000)
      ) {
        throw new ToilError(
          'WORKFLOW_ALREADY_RUNNING',
          `The workflow in ${store.locator} is still running (leader pid ${leaderInfo.pid}).`,
          {
            hint: `Wait for it, or stop it with "toil kill ${store.locator}".`,
          },
        );
      }
      // Saving the root job id is the last step of start(): without it the leader died
      // before the workflow started (e.g. after importFile), which is not a completion.
      const rootId = await store.getRootJobId();
      if (!rootId) {
        throw new ToilError(
          'WORKFLOW_NOT_STARTED',
          `The workflow in ${store.locator} never started (its leader stopped before toil.start() saved the root job), so there is nothing to restart.`,
          {
            hint: `Delete the store with "toil clean ${store.locator}" and run the workflow again without --restart.`,
          },
        );
      }
      const config = this.overrideConfig(stored);
      await checkRunOptions(config);
      this.cleanable = true;
      await store.writeConfig(config);
      this.config = config;
      this.options.clean = config.clean;
      await store.setKillFlag(false);
      await store.setOutcome(undefined);
      if (!(await store.jobExists(rootId))) {
        report(
          this.host,
          'warning',
          'WORKFLOW_ALREADY_COMPLETE',
          'Requested restart but the workflow has already been completed; allowing exports to rerun.',
          undefined,
          SOURCE,
        );
        await store.setOutcome({
          result: 'succeeded',
          attempt: config.attempt,
          time: epochSecondsNow(),
          failedJobs: [],
        });
        return store.getRootReturnValue();
      }
      const summary = await store.readSummary().catch(() => undefined);
      const leader = await this.makeLeader(
        store,
        config,
        rootId,
        summary?.completed ?? 0,
        stored.batchSystem,
      );
      await leader.leader.loadForRestart();
      await this.runLeader(leader);
      return store.getRootReturnValue();
    });
  }

  private overrideConfig(stored: WorkflowConfig): WorkflowConfig {
    const o = this.options;
    const given = new Set(o.given);
    const config: WorkflowConfig = { ...stored, attempt: stored.attempt + 1 };
    const overridable = [
      'retryCount',
      'disableChaining',
      'maxCores',
      'maxMemory',
      'maxDisk',
      'defaultCores',
      'defaultMemory',
      'defaultDisk',
      'clean',
      'cleanWorkDir',
      'workDir',
    ] as const;
    const record = config as Record<string, unknown>;
    for (const key of overridable) if (given.has(key)) record[key] = o[key];
    if (given.has('batchSystem') && o.batchSystem !== stored.batchSystem) {
      // Another batch system: the stored one's options mean nothing to it.
      config.batchSystem = o.batchSystem;
      record.batchSystemOptions = o.batchSystemOptions;
    } else {
      // Options given again (or from the environment) override the stored ones.
      record.batchSystemOptions = {
        ...(stored.batchSystemOptions as object | undefined),
        ...Object.fromEntries(
          Object.entries(o.batchSystemOptions).filter(([key]) => given.has(key)),
        ),
      };
    }
    if (given.has('stats') && o.stats) config.stats = true;
    if (config.stats && config.clean !== 'never') config.clean = 'never';
    if (o.workflowModule) config.workflowModule = this.workflowSource();
    return config;
  }

  private async makeLeader(
    store: JobStore,
    config: WorkflowConfig,
    rootId: string,
    completedBefore: number,
    previousBatchSystem?: string,
    prestarted?: WorkerProcess,
  ): Promise<{ leader: Leader; batchSystem: BatchSystem }> {
    const workflow = await this.workflowCode(config.workflowModule ?? this.workflowSource());
    const workDir = config.workDir ?? tmpdir();
    const plugin = findBatchSystem(config.batchSystem, workflow.source);
    const context: BatchSystemContext = {
      host: this.host,
      jobStoreLocator: store.locator,
      workflowId: config.workflowId,
      workflow,
      maxCores: config.maxCores,
      maxMemory: config.maxMemory,
      maxDisk: config.maxDisk,
      workDir,
      options: (config.batchSystemOptions as Record<string, unknown> | undefined) ?? {},
      workerCommand: workerCommand(),
      ...(this.prestartedBatch ? { prestarted: this.prestartedBatch } : {}),
    };
    // The engine's own system runs on the leader's open store; others are made by their plugin.
    // Workers of other batch systems may run where the leader's files are not.
    if (plugin !== singleMachine) await storeWorkflowCode(store, workflow);
    const batchSystem: BatchSystem =
      plugin === singleMachine
        ? new SingleMachineBatchSystem(context, {
            ...singleMachineSettings(context, config, store),
            prestarted,
          })
        : await plugin.create(context as Parameters<typeof plugin.create>[0]);
    // Adopted (a failed create leaves it for start() to discard).
    this.prestartedBatch = undefined;
    const machineCores = availableParallelism();
    const single = plugin === singleMachine;
    const limits: LeaderLimits = {
      cores: config.maxCores ?? (single ? machineCores : Infinity),
      memory: config.maxMemory ?? (single ? totalmem() : Infinity),
      disk: config.maxDisk ?? Infinity,
    };
    report(
      this.host,
      'info',
      'WORKFLOW_RUNNING',
      `Running toil-ts ${WORKFLOW_VERSION} (attempt ${config.attempt}) with the ${batchSystem.name} batch system on ${store.locator}`,
      { attempt: config.attempt },
      SOURCE,
    );
    // Loaded here: workers import this module (through the package's index) but never lead.
    const { Leader } = await import('./leader.js');
    const leader = new Leader({
      store,
      config,
      batchSystem,
      host: this.host,
      limits,
      rootId,
      invocation: (jobId) => ({ jobStore: store.locator, jobId, workflow }),
      completedBefore,
      previousBatchSystem,
    });
    return { leader, batchSystem };
  }

  private async runLeader({
    leader,
    batchSystem,
  }: {
    leader: Leader;
    batchSystem: BatchSystem;
  }): Promise<void> {
    try {
      await leader.run();
    } catch (error) {
      // A leader error other than a recorded failure or kill: stop the workers first.
      await batchSystem.shutdown().catch(() => undefined);
      if (
        ToilError.is(error) &&
        error.code !== 'WORKFLOW_FAILED' &&
        error.code !== 'WORKFLOW_KILLED' &&
        this.store &&
        this.config
      ) {
        await this.store
          .setOutcome({
            result: 'failed',
            attempt: this.config.attempt,
            time: epochSecondsNow(),
            failedJobs: [],
          })
          .catch(() => undefined);
      }
      throw error;
    }
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.failure = ToilError.is(error)
        ? error
        : new ToilError('INTERNAL', error instanceof Error ? error.message : String(error), {
            cause: error,
          });
      throw error;
    }
  }

  /**
   * Copies a local file or `file://` URL into the job store (Toil's `importFile`); returns its
   * id. Creates the store if `start()` has not yet.
   */
  async importFile(url: string): Promise<FileId> {
    const store =
      this.store ?? (this.options.restart ? await this.openExisting() : await this.openNew());
    return store.writeFile(toUrlPath(url));
  }

  /** Copies a job store file to a local path or `file://` URL (Toil's `exportFile`). */
  async exportFile(fileId: FileId, url: string): Promise<void> {
    const store = this.store ?? (await this.openExisting());
    await store.readFile(fileId, toUrlPath(url));
  }

  private async openExisting(): Promise<JobStore> {
    const store = await openJobStore(this.options.jobStore, { host: this.host });
    this.config = await store.resume();
    this.store = store;
    return store;
  }

  /**
   * Applies the clean policy and releases the store: deletes the job store when `--clean` is
   * `always`, `onSuccess` after success or `onError` after a failure. A stopped (killed) run
   * keeps its store, and so does a store this context neither created nor resumed (a
   * `--restart` whose `restart()` was never called or was refused).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const store = this.store;
    if (!store) return;
    const failed = this.failure !== undefined;
    const killed = this.failure?.code === 'WORKFLOW_KILLED';
    const policy = this.config?.clean ?? this.options.clean;
    const destroy =
      !killed &&
      this.cleanable &&
      (policy === 'always' ||
        (policy === 'onSuccess' && !failed) ||
        (policy === 'onError' && failed));
    try {
      if (destroy) {
        await store.destroy(this.host);
        report(
          this.host,
          'info',
          'WORKFLOW_STORE_DELETED',
          `Successfully deleted the job store: ${store.locator}`,
          undefined,
          SOURCE,
        );
      }
    } finally {
      await store.close();
    }
  }

  /** `await using toil = new Toil(options)` calls {@link Toil.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
