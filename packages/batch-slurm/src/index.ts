/**
 * @toil/batch-slurm: run toil-ts workflows on a Slurm cluster (`--batchSystem slurm`).
 *
 * The workflow leader imports this package and calls {@link createBatchSystem}; scripts may
 * build a {@link SlurmBatchSystem} themselves. The submission helpers (`sbatchArgs`,
 * `batchScript`, …) and the state parsers (`parseSqueue`, `outcomeOf`, …) are exported for
 * tools and tests.
 *
 * @packageDocumentation
 */
export * from './slurm-batch-system.js';
export * from './submit.js';
export * from './states.js';
export * from './srun-launch.js';
