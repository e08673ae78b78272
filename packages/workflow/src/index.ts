/**
 * @toil/workflow: write and run workflows — the Job API, the Toil context and options, the
 * leader, the worker entry and the single-machine batch system.
 *
 * @packageDocumentation
 */
export type {
  BatchSystem,
  BatchSystemContext,
  BatchSystemPlugin,
  FinishedJob,
  FailureKind,
  IssuedJob,
  JobInvocation,
  WorkflowCode,
} from '@toil/batch-system';
export { registerBatchSystem } from '@toil/batch-system';
export { WORKFLOW_ERROR_CODES } from './errors.js';
export { Job, FunctionJob, PromisedValue, isJob } from './job.js';
export type { JobOptions, JobFunction, Promised, PromisedArgs, PromisePathElement } from './job.js';
export type { FileStore, ReadGlobalFileOptions, WritableGlobalFile } from './file-store.js';
export { FILE_CACHE_BYTES } from './file-cache.js';
export { RealtimeLogger, MESSAGE_RATE, MAX_MESSAGE_CHARS } from './realtime-log.js';
export { Toil, WORKFLOW_VERSION } from './toil.js';
export type { ToilContextOptions } from './toil.js';
export { Runner, WorkflowArgumentParser, isMainModule } from './runner.js';
export { renderProgramError } from './program-error.js';
export type {
  WorkflowOptionSpec,
  WorkflowOptionSpecs,
  WorkflowOptionValue,
  WorkflowOptionValues,
} from './workflow-options.js';
export {
  CLEAN_POLICIES,
  DEFAULTS,
  TOIL_OPTION_SPECS,
  defaultToilOptions,
  optionsHelp,
  parseToilOptions,
} from './options.js';
export type { ToilOptions, WorkflowCommandLine } from './options.js';
export { ConsoleHost } from './console-host.js';
export type { ConsoleHostOptions } from './console-host.js';
export type { NameProgress, WorkflowProgress } from './leader/progress.js';
export { batchSystemNames, findBatchSystem } from './batch-registry.js';
export { SingleMachineBatchSystem } from './single-machine.js';
export { singleMachine } from './single-machine-plugin.js';
export type { SingleMachineOptions } from './single-machine.js';
export { workerCommand, workerEntryPath } from './worker-command.js';
export type { AttemptResult } from './worker-runtime.js';
export type { FailedJob } from './leader.js';
export { runWorkflowFile } from './run-workflow.js';
export type { RunWorkflowFileOptions } from './run-workflow.js';
// The worker's own modules are part of the index's graph, and every worker entry imports the
// index: the bundler then puts them all in one chunk, so a worker process (which loads the
// index anyway, through the workflow module) reads a handful of files instead of ~20.
import './worker-one-shot.js';
import './worker-warm.js';
import './worker-main.js';
