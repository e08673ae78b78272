/**
 * @toil/batch-system: the contract between the toil-ts leader and the systems that run its
 * jobs: what to run ({@link JobInvocation}, not a command line), how attempts end
 * ({@link FinishedJob} with CPU time, peak memory and a {@link FailureKind}), optional
 * capabilities (local, scaling), each batch system's own typed options, and the one way to
 * find a batch system by name. The shared test suite is `@toil/batch-system/testing`.
 *
 * @packageDocumentation
 */
export * from './contract.js';
export * from './cost.js';
export * from './demand.js';
export * from './dir-watch.js';
export * from './options.js';
export * from './invocation.js';
export * from './nodes.js';
export * from './resolve.js';
export * from './warm.js';
