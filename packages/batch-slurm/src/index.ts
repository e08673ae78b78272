/**
 * @toil/batch-slurm: run toil-ts workflows on a Slurm cluster (`--batchSystem slurm`).
 *
 * The workflow leader imports this package and calls {@link createBatchSystem}; scripts may
 * build a {@link SlurmBatchSystem} themselves.
 *
 * @packageDocumentation
 */
export { createBatchSystem, SlurmBatchSystem } from './slurm-batch-system.js';
export type { SlurmBatchSystemOptions, SlurmStateSource } from './slurm-batch-system.js';
export {
  batchScript,
  parseSlurmArgs,
  readSlurmSettings,
  sbatchArgs,
  shellQuote,
  slurmJobName,
  slurmTime,
} from './submit.js';
export type { SlurmSettings } from './submit.js';
export {
  outcomeOf,
  parseSacct,
  parseScontrolJobs,
  parseSqueue,
  SACCT_FORMAT,
  TERMINAL_STATES,
} from './states.js';
export type { SlurmJobState } from './states.js';
