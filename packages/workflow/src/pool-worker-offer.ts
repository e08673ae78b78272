import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { workerEnvironment } from './extra-ca.js';
import { PACKAGE_CODE_DIR } from './here.js';
import { poolWorkerArgv } from './worker-command.js';
import { WorkerProcess } from './worker-process.js';
import { newWorkflowId } from './workflow-id.js';

// The start of the first pool worker, apart from the batch system so that `toil run` can start
// it before it loads the rest of the engine.

const OFFER = Symbol.for('@toil/workflow/pool-worker-offer');

/**
 * A pool worker that `toil run` started before the workflow program even parsed its options
 * (see {@link offerPoolWorker}), for the `Toil` that runs in the same process to adopt.
 * @internal
 */
export interface PoolWorkerOffer {
  /** The directory of this copy of the engine: only the same copy adopts the worker. */
  codeDir: string;
  /** The id the adopting workflow takes (the worker's directory is named after it). */
  workflowId: string;
  /** The job store as given on the command line. */
  jobStore: string;
  /** The base of the worker's directory (`--workDir`, else the system temp directory). */
  workDir: string;
  /** The module the worker loads; undefined until {@link PoolWorkerOffer.load} names it. */
  workflowModule: string | undefined;
  /** Tells a worker started before its module was known to load `module` (once). */
  load(module: string): void;
  /** The worker, now the caller's (no longer killed when this process exits). */
  adopt(): WorkerProcess;
  /** Kills the worker and removes its directories (synchronous: also runs at exit). */
  discard(): void;
}

/** The directory of one leader's worker directories (`SingleMachineOptions.runDir`). @internal */
export function singleMachineRunDir(workDir: string, workflowId: string, attempt: number): string {
  return join(workDir, `toil-${workflowId}`, `leader-${process.pid}-${attempt}`);
}

/**
 * Starts a pool worker before the job store exists (while the leader creates it and stores the
 * first jobs): it loads the workflow module, then waits until the batch
 * system that adopts it ({@link SingleMachineOptions.prestarted}) says the store exists. Its
 * directory is the first worker directory of `runDir`. @internal
 */
export function prestartPoolWorker(options: {
  /** Absent: the store's locator goes to the worker when it is adopted. */
  jobStoreLocator?: string;
  /** Absent: the module goes to the worker in a `load` message. */
  workflowModule?: string;
  runDir: string;
}): WorkerProcess {
  const workerDir = join(options.runDir, `worker-${process.pid}-0`);
  return new WorkerProcess(
    poolWorkerArgv({
      jobStoreLocator: options.jobStoreLocator,
      workflowModule: options.workflowModule,
      workerDir,
      prestarted: true,
    }),
    workerDir,
    undefined,
    workerEnvironment(),
  );
}

type OfferHolder = Record<symbol, PoolWorkerOffer | undefined>;

/**
 * Starts the first pool worker of a workflow this process is about to run (`toil run`, in
 * process), before the workflow module is even loaded, so that the worker's start-up overlaps
 * all of the leader's. Without `workflowModule` (`toil run` before it knows the compiled
 * module), the worker loads the engine and waits for {@link PoolWorkerOffer.load}. The `Toil`
 * of the run adopts it when its options match (single machine, the same job store, work
 * directory and module; see {@link takePoolWorkerOffer}); otherwise, or if no workflow starts,
 * it is killed and its directory removed, at the latest when this process exits. The worker
 * keeps nothing alive meanwhile. @internal
 */
export function offerPoolWorker(options: {
  jobStore: string;
  workDir: string;
  workflowModule?: string;
}): void {
  takePoolWorkerOffer()?.discard();
  const workflowId = newWorkflowId();
  const worker = prestartPoolWorker({
    workflowModule: options.workflowModule,
    runDir: singleMachineRunDir(options.workDir, workflowId, 0),
  });
  worker.unref();
  const base = join(options.workDir, `toil-${workflowId}`);
  const discard = (): void => {
    process.off('exit', discard);
    worker.kill();
    rmSync(base, { recursive: true, force: true });
  };
  process.on('exit', discard);
  const offer: PoolWorkerOffer = {
    codeDir: PACKAGE_CODE_DIR,
    workflowId,
    jobStore: options.jobStore,
    workDir: options.workDir,
    workflowModule: options.workflowModule,
    load: (module) => {
      if (offer.workflowModule !== undefined) return;
      offer.workflowModule = module;
      worker.load(module);
    },
    adopt: () => {
      process.off('exit', discard);
      worker.ref();
      return worker;
    },
    discard,
  };
  (globalThis as OfferHolder)[OFFER] = offer;
}

/** The worker {@link offerPoolWorker} started, if any, left in place. @internal */
export function peekPoolWorkerOffer(): PoolWorkerOffer | undefined {
  return (globalThis as OfferHolder)[OFFER];
}

/**
 * Takes the worker {@link offerPoolWorker} started, if any (once): the caller adopts it or
 * calls its `discard()`. @internal
 */
export function takePoolWorkerOffer(): PoolWorkerOffer | undefined {
  const holder = globalThis as OfferHolder;
  const offer = holder[OFFER];
  holder[OFFER] = undefined;
  return offer;
}
